"""Webhook delivery on a real Celery worker: a failed attempt schedules its own retry (a
countdown on the same queue) and the retry delivers."""

import time

import pytest

from creditfactory.partners.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.core.test_worker import redis_url, worker  # noqa: F401 - fixtures
from tests.partners.factories import CONCURRENT_DB, make_partner
from tests.partners.hook_server import HookServer


@pytest.fixture
def webhook_worker(monkeypatch, request, transactional_db):
    # The worker reads its settings from the environment the fixture passes on.
    monkeypatch.setenv("WEBHOOK_REQUIRE_HTTPS", "false")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "1")
    return request.getfixturevalue("worker")


@pytest.mark.worker
@CONCURRENT_DB
def test_a_real_worker_retries_and_delivers(webhook_worker):
    sender, queue, process = webhook_worker
    with HookServer(responses=[500]) as server:
        partner = make_partner("ACME")
        endpoint = WebhookEndpoint.objects.create(partner=partner, url=server.url, events=["line.granted"],
                                                  secret="whsec_worker")
        event = WebhookEvent.objects.create(partner=partner, event="line.granted", payload={"n": 1})
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=event.created_at)

        sender.send_task("core.webhook_deliver", args=[delivery.pk], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status != DeliveryStatus.PENDING:
                break
            time.sleep(0.2)
        else:  # pragma: no cover - show the worker's log on failure
            process.terminate()
            pytest.fail("no delivery:\n" + (process.stdout.read() if process.stdout else ""))

    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 2)
    assert [a.status_code for a in delivery.attempt_log.order_by("number")] == [500, 200]
    assert len(server.requests) == 2
