"""The partner platform's models, one module per concern (tables keep the names they had in
``organisations`` and ``core``)."""

from .idempotency import *  # noqa: F401,F403
from .partners import *  # noqa: F401,F403
from .usage import *  # noqa: F401,F403
from .webhooks import *  # noqa: F401,F403
