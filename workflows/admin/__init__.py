"""Django admin of the workflows app, one module per concern."""

from . import signing  # noqa: F401
from . import applications, configuration  # noqa: F401,E402
from . import batch  # noqa: F401,E402
from . import economics  # noqa: F401,E402
