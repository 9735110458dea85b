"""A real Celery worker process against Redis: the production shape of background work."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url():
    import redis

    url = settings.TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is not answering at {url}: {exc}")
    return url


@pytest.fixture
def worker(redis_url):
    """Start ``celery worker`` on a private queue, pointed at this test's database."""
    queue = f"cf-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "DEBUG": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "creditfactory", "worker", "--pool", "solo", "-Q", queue,
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    # Not the "current" app: later tests in this process must keep sending to the project's app.
    sender = Celery("cf-test-sender", broker=redis_url, backend=redis_url, set_as_current=False)
    sender.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
    try:
        yield sender, queue, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
        sender.close()


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_against_the_test_database(worker):
    sender, queue, process = worker
    token = uuid.uuid4().hex
    result = sender.send_task("core.ping", args=[token], queue=queue)
    try:
        value = result.get(timeout=60)
    except Exception:  # pragma: no cover - show the worker's log on failure
        process.terminate()
        pytest.fail("worker did not answer:\n" + (process.stdout.read() if process.stdout else ""))
    assert value == {"token": token, "database": connection.settings_dict["NAME"], "db_ok": True}
    assert result.status == "SUCCESS"
