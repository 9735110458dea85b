"""Settings of the daily close (日终, see docs/servicing.md).

CLOSE_CHUNK_SIZE: open loans per chunk (one transaction, one Celery task each).
"""

from ..env import env_int

CLOSE_CHUNK_SIZE = env_int("CLOSE_CHUNK_SIZE", 5000)
