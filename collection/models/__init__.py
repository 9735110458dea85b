"""Models of the collections app (催收), one module per concern: the configuration edited in admin
(buckets, strategies and their published versions, classification thresholds, compliance
policy, agencies) and the cases the daily close opens and moves."""

from .cases import *  # noqa: F401,F403
from .config import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403
from .fieldwork import *  # noqa: F401,F403
