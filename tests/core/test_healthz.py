"""/healthz for load balancers: the database, the cache and the Celery broker, each "ok" (or the
broker "not configured" when tasks run eagerly); 503 naming the part that failed, without URLs,
passwords or exception text; quick even when a part is down."""

import socket
import time

import pytest
from django.db import connection
from django.test import override_settings

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(client):
    started = time.monotonic()
    response = client.get("/healthz")
    return response, time.monotonic() - started


def test_all_parts_ok_without_a_broker(client):
    response, _elapsed = _get(client)  # no login: load balancers call it
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok", "broker": "not configured"}
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_reachable_broker_is_ok(client, settings):
    with override_settings(CELERY_BROKER_URL=settings.TEST_REDIS_URL):
        response, _elapsed = _get(client)
    assert (response.status_code, response.json()["broker"]) == (200, "ok")


def test_an_unreachable_broker_answers_503_naming_it_without_secrets(client):
    url = f"redis://:s3cret-pass@127.0.0.1:{_closed_port()}/0"
    with override_settings(CELERY_BROKER_URL=url):
        response, elapsed = _get(client)
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "ok", "broker": "unavailable"}
    assert b"s3cret" not in response.content and b"127.0.0.1" not in response.content
    assert elapsed < 3


def test_an_unreachable_cache_answers_503_naming_it(client):
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": f"redis://:s3cret-pass@127.0.0.1:{_closed_port()}/0"}}
    with override_settings(CACHES=caches):
        response, elapsed = _get(client)
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "unavailable",
                               "broker": "not configured"}
    assert b"s3cret" not in response.content
    assert elapsed < 3


def test_an_unreachable_database_answers_503_naming_it(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise RuntimeError("could not connect to server at 10.1.2.3 password=hunter2")

    monkeypatch.setattr(connection, "ensure_connection", refuse)
    response, _elapsed = _get(client)
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable" and response.json()["status"] == "degraded"
    assert b"hunter2" not in response.content and b"10.1.2.3" not in response.content
