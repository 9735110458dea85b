"""Settings for risk (see docs/configuration.md)."""
