"""Workflow models, one module per concern."""

from .applications import *  # noqa: F401,F403
from .signing import *  # noqa: F401,F403
from .configuration import *  # noqa: F401,F403
from .batch import *  # noqa: F401,F403
from .quality import *  # noqa: F401,F403
from .tasks import *  # noqa: F401,F403
from .economics import *  # noqa: F401,F403
