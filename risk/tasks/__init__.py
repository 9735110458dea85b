"""Celery tasks of the risk app (autodiscovered through this package)."""

from .lists import *  # noqa: F401,F403
