"""Servicing models, one module per concern (see each module's docstring)."""

from .calendar import *  # noqa: F401,F403
from .drawdowns import *  # noqa: F401,F403
from .funding import *  # noqa: F401,F403
from .growth import *  # noqa: F401,F403
from .ledger import *  # noqa: F401,F403
from .lines import *  # noqa: F401,F403
from .loans import *  # noqa: F401,F403
from .payments import *  # noqa: F401,F403
from .repayments import *  # noqa: F401,F403
from .warnings import *  # noqa: F401,F403
from .close import *  # noqa: F401,F403
from .portfolio import *  # noqa: F401,F403
