"""Writes of servicing, one module per concern; the public names are re-exported here."""

from .calendar import *  # noqa: F401,F403
from .lines import *  # noqa: F401,F403
from .drawdowns import *  # noqa: F401,F403
from .funding import *  # noqa: F401,F403
