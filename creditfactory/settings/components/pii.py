"""Settings for the protection of personal identifiers (see docs/security.md and
docs/configuration.md).

PII_ENCRYPTION_KEYS: comma-separated Fernet keys; the first encrypts, all decrypt (rotation).
PII_HMAC_KEY: the secret of the blind indexes (HMAC-SHA256) used for exact lookups.
Left empty, both derive from SECRET_KEY (development only; production.py requires them).
"""

from ..env import env_list, env_str

PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", [])
PII_HMAC_KEY = env_str("PII_HMAC_KEY", "")

# A Celery worker replaces the root logger's handlers with its own unless told not to; keeping
# LOGGING in charge keeps the PII masking filter on worker logs too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
