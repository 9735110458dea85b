"""Settings for messaging (see docs/configuration.md)."""
