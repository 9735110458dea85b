"""Base settings, read from the environment (twelve-factor).

With no environment at all this is the embedded default used by ``make run``: SQLite under
``var/``, Celery tasks executed eagerly in process, DEBUG on. Every variable is documented in
docs/configuration.md.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("CREDITFACTORY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
# The fallback key is only good for a laptop; production.py refuses to start without SECRET_KEY.
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-key-do-not-use-in-production-creditfactory")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "viewflow",
    "viewflow.workflow",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "treebeard",
    "django_celery_beat",
    "creditfactory.core.apps.AxesConfig",  # django-axes, named in our catalogue
    "pgtrigger",
    "creditfactory.core",
    "creditfactory.organisations",
    "creditfactory.partners",
    "products",
    "risk",
    "workflows",
    "servicing",
    "collection",
    # The composition root: its management commands (demo) span every app.
    "creditfactory",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "creditfactory.partners.middleware.PartnerUsageMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "creditfactory.urls"
WSGI_APPLICATION = "creditfactory.wsgi.application"
ASGI_APPLICATION = "creditfactory.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'creditfactory.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The hot paths' prebuilt statements are prepared once per connection on PostgreSQL
# (creditfactory.core.prepared.execute): "on"; "off" behind a pooler that does not keep a session's
# prepared statements (PgBouncer in transaction mode); "strict" raises where one cannot be prepared.
DATABASE_PREPARED_STATEMENTS = env_str("DATABASE_PREPARED_STATEMENTS", "on")
if DATABASE_PREPARED_STATEMENTS not in ("on", "off", "strict"):
    raise ImproperlyConfigured(
        f"DATABASE_PREPARED_STATEMENTS must be on, off or strict, not {DATABASE_PREPARED_STATEMENTS!r}")

_cache_url = env_str("CACHE_URL")
# A Redis that stops answering fails a cache call after CACHE_TIMEOUT_SECONDS instead of hanging it.
_cache_timeout = env_int("CACHE_TIMEOUT_SECONDS", 2)
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url,
         "OPTIONS": {"socket_connect_timeout": _cache_timeout, "socket_timeout": _cache_timeout}}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out user/address before any password is checked (settings in
    # components/security.py). It needs the request; Django's login views pass it.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Internationalisation: the users speak Chinese; English is the second language.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["creditfactory.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Celery -------------------------------------------------------------------------------
# No broker configured → tasks run eagerly in the web process (make run, most tests).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = CELERY_BROKER_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A task is acknowledged only after it ran; a worker killed mid-task leaves it for another.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis redelivers an unacknowledged task after the visibility timeout; it must exceed the
# longest countdown/ETA used (SLA escalation and retry back-off stay under 6 hours).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 43200)}
CELERY_RESULT_EXPIRES = 86400
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 540)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fix-up closes the database connections before and after every task unless
# this is set (then: every DB_REUSE_MAX tasks): a new PostgreSQL backend per task, with cold
# caches. Between tasks the worker applies Django's own rules instead, as after a request
# (CONN_MAX_AGE, health checks: creditfactory/celery.py).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- API ----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Partner key first: its "Bearer" challenge makes unauthenticated API calls answer 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "creditfactory.partners.auth.PartnerKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser plus a depth limit, objects only, no control characters (core/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["creditfactory.core.api.parsers.JSONParser"],
    # ?limit=&offset= with bounds: a malformed value answers 400, a huge limit is reduced.
    "DEFAULT_PAGINATION_CLASS": "creditfactory.core.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "creditfactory.core.api.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
# Deepest nesting of a JSON request body; largest page a list answers (?limit= above it is reduced).
API_JSON_MAX_DEPTH = env_int("API_JSON_MAX_DEPTH", 32)
API_MAX_PAGE_SIZE = env_int("API_MAX_PAGE_SIZE", 200)
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "CreditFactory API",
    "DESCRIPTION": "Partner and staff API of the CreditFactory credit factory. Errors share one "
    "format: {\"code\", \"message\", \"errors\": {field: [messages]}}.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # One schema component per choice set that several fields share.
    "ENUM_NAME_OVERRIDES": {
        "RepaymentMethodEnum": "products.models.RepaymentMethod",
        "DocumentKindEnum": "workflows.models.DocumentKind",
        "CreditLineStatusEnum": "servicing.models.CreditLineStatus",
        "LineChangeKindEnum": "servicing.models.CreditLineChangeKind",
        "LineChangeStatusEnum": "servicing.models.CreditLineChangeStatus",
        "LineChangeSourceEnum": "servicing.models.CreditLineChangeSource",
    },
}

# --- Third-party apps -----------------------------------------------------------------------
GUARDIAN_ANONYMOUS_USER_NAME = None
ANONYMOUS_USER_NAME = None
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # ID numbers, mobiles and card numbers are masked in every record (creditfactory.core.pii).
    "filters": {"mask_pii": {"()": "creditfactory.core.pii.PIIMaskingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_pii"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Capability settings -------------------------------------------------------------------
from .components.pii import *  # noqa: E402,F401,F403
from .components.security import *  # noqa: E402,F401,F403
from .components.risk import *  # noqa: E402,F401,F403
from .components.decisioning import *  # noqa: E402,F401,F403
from .components.partners import *  # noqa: E402,F401,F403
from .components.messaging import *  # noqa: E402,F401,F403
from .components.workflows import *  # noqa: E402,F401,F403
from .components.lines import *  # noqa: E402,F401,F403
from .components.ledger import *  # noqa: E402,F401,F403
from .components.close import *  # noqa: E402,F401,F403
from .components.instruments import *  # noqa: E402,F401,F403

# Periodic tasks: each capability contributes a <NAME>_BEAT_SCHEDULE dict in its component.
CELERY_BEAT_SCHEDULE = {
    entry: spec
    for setting, schedule in list(globals().items())
    if setting.endswith("_BEAT_SCHEDULE") and setting != "CELERY_BEAT_SCHEDULE"
    for entry, spec in schedule.items()
}
