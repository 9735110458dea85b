"""Operational endpoints: readiness for load balancers."""

import logging
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger(__name__)

OK, UNAVAILABLE, NOT_CONFIGURED = "ok", "unavailable", "not configured"
# Seconds a broker check may take to connect or answer.
HEALTH_TIMEOUT_SECONDS = 1


def _database() -> str:
    connection.ensure_connection()
    return OK if connection.is_usable() else UNAVAILABLE


def _cache() -> str:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    found = cache.get(key) == "1"
    cache.delete(key)
    return OK if found else UNAVAILABLE


def _broker() -> str:
    """The Celery broker answers, or "not configured" when tasks run in the web process."""
    url = getattr(settings, "CELERY_BROKER_URL", None)
    if not url:
        return NOT_CONFIGURED
    from kombu import Connection

    timeout = HEALTH_TIMEOUT_SECONDS
    options = {"socket_timeout": timeout, "socket_connect_timeout": timeout, "max_retries": 0}
    with Connection(url, connect_timeout=timeout, transport_options=options) as broker:
        broker.ensure_connection(max_retries=0)  # one attempt, no back-off
    return OK


CHECKS = (("database", _database), ("cache", _cache), ("broker", _broker))


@never_cache
def healthz(request):
    """``{"status": "ok"|"degraded", "database": …, "cache": …, "broker": …}``: 200 when every
    part is ok (the broker may be "not configured"), else 503. Each part is "ok" or "unavailable";
    what failed is logged, never shown (no URLs, passwords or exception text)."""
    body = {}
    for name, check in CHECKS:
        try:
            body[name] = check()
        except Exception:  # noqa: BLE001 - any failure means the part is not ready
            logger.warning("healthz: the %s is unavailable", name, exc_info=True)
            body[name] = UNAVAILABLE
    healthy = all(value in (OK, NOT_CONFIGURED) for value in body.values())
    return JsonResponse({"status": "ok" if healthy else "degraded", **body}, status=200 if healthy else 503)

