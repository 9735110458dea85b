"""Settings of one capability each, imported at the end of base.py. Every value is read from
the environment with a development default (documented in docs/configuration.md)."""
