"""Settings for the test suite: real PostgreSQL, Celery eager unless a test starts a worker."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/creditfactory")
os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: E402,F401,F403
from .env import env_str  # noqa: E402

DEBUG = False
# A prebuilt statement PostgreSQL cannot prepare fails its test (production sends it unprepared).
DATABASE_PREPARED_STATEMENTS = "strict"
LANGUAGE_CODE = "en"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests run tasks eagerly; the worker tests configure a real broker themselves.
CELERY_BROKER_URL = None
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = True
TEST_REDIS_URL = env_str("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The sign-in lockout stays on; Client.login() (no request) gets a blank one (tests/axes_backend.py).
AUTHENTICATION_BACKENDS = ["tests.axes_backend.TestClientAxesBackend",
                           *(b for b in AUTHENTICATION_BACKENDS if b != "axes.backends.AxesStandaloneBackend")]
