"""Settings for partners (see docs/configuration.md)."""
