"""Settings for pii (see docs/configuration.md)."""
