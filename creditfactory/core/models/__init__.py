"""Core models, one module per concern."""

from .base import StateTransition, TimeStampedModel  # noqa: F401
from .messaging import *  # noqa: F401,F403
