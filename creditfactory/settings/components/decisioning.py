"""Settings for risk decisioning (see docs/configuration.md)."""
