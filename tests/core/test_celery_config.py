from django.conf import settings

from creditfactory.celery import app
from creditfactory.core import tasks


def test_celery_is_configured_for_reliability():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.broker_transport_options["visibility_timeout"] == 43200
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
    assert settings.CELERY_TASK_ALWAYS_EAGER is True  # tests run eagerly unless they start a worker


def test_enqueue_on_commit_waits_for_the_commit(db, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.ping, "apply_async", lambda args, kwargs, **options: sent.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tasks.enqueue_on_commit(tasks.ping, "t-1")
        assert sent == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [("t-1",)]


def test_ping_runs_eagerly(db):
    assert tasks.ping.delay("x").get()["db_ok"] is True
