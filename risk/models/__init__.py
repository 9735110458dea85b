"""Risk models, one module per concern."""

from .applicants import *  # noqa: F401,F403
from .datasources import *  # noqa: F401,F403
from .lists import *  # noqa: F401,F403
from .rules import *  # noqa: F401,F403
from .scoring import *  # noqa: F401,F403
from .decisions import *  # noqa: F401,F403
from .inloan import *  # noqa: F401,F403
