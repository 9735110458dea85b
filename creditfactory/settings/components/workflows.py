"""Settings for workflows (see docs/configuration.md)."""
