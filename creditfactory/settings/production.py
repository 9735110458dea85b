"""Production settings: base plus the hardening ``manage.py check --deploy`` asks for.

Required: SECRET_KEY (≥ 50 characters), ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL,
PII_ENCRYPTION_KEYS and PII_HMAC_KEY.
Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER=1.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F401,F403
from .env import env_bool, env_int, env_list, env_str

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set in production.")

# Personal identifiers are encrypted with keys kept outside the database (docs/security.md).
PII_ENCRYPTION_KEYS = env_list("PII_ENCRYPTION_KEYS", [])
PII_HMAC_KEY = env_str("PII_HMAC_KEY")
if not PII_ENCRYPTION_KEYS or not PII_HMAC_KEY:
    raise ImproperlyConfigured("PII_ENCRYPTION_KEYS and PII_HMAC_KEY must be set in production.")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}  # noqa: F405
