"""Workflow models, one module per concern."""

from .applications import *  # noqa: F401,F403
from .signing import *  # noqa: F401,F403
