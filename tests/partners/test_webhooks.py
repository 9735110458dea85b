"""Webhooks: the outbox, signed delivery to a real local HTTP server, retries, give-up,
redelivery, and the partner endpoints that manage subscriptions."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from creditfactory.partners.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from creditfactory.partners.services.delivery import backoff_seconds, webhook_delivery_attempt
from creditfactory.partners.services.webhooks import (
    webhook_emit,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_redeliver,
)
from creditfactory.partners.tasks import webhook_deliver_due
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.partners.hook_server import HookServer

pytestmark = pytest.mark.django_db
LOCAL = override_settings(WEBHOOK_REQUIRE_HTTPS=False, WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True)
PAYLOAD = {"application": {"number": "CF202601010001", "status": "approved"}, "limit": "50000.00"}


@pytest.fixture
def local_targets():
    with LOCAL:
        yield


@pytest.fixture
def server(local_targets):
    with HookServer() as hook_server:
        yield hook_server


@pytest.fixture
def partner():
    return make_partner("ACME")


def subscribe(partner, url, events=("line.granted",)):
    endpoint, secret = webhook_endpoint_create(partner=partner, url=url, events=list(events))
    return endpoint, secret


# --- the outbox ----------------------------------------------------------------------------------
def test_emit_writes_the_event_and_one_delivery_per_subscribed_endpoint(partner, local_targets,
                                                                        django_capture_on_commit_callbacks):
    subscribed, _ = subscribe(partner, "https://a.example.cn/h", ["line.granted", "application.decided"])
    subscribe(partner, "https://b.example.cn/h", ["application.decided"])
    also, _ = subscribe(partner, "https://f.example.cn/h", ["contract.ready", "line.granted"])
    deleted, _ = subscribe(partner, "https://c.example.cn/h", ["line.granted"])
    webhook_endpoint_delete(endpoint=deleted)
    paused, _ = subscribe(partner, "https://d.example.cn/h", ["line.granted"])
    WebhookEndpoint.objects.filter(pk=paused.pk).update(is_active=False)
    other_partner = make_partner("OTHER")
    subscribe(other_partner, "https://e.example.cn/h", ["line.granted"])

    with django_capture_on_commit_callbacks() as callbacks:
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            event = webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)

    assert len(queries) == 1  # the event and its deliveries in one statement (PostgreSQL)
    assert list(WebhookEvent.objects.values_list("event", "partner__code")) == [("line.granted", "ACME")]
    stored = WebhookEvent.objects.get()
    assert (stored.pk, stored.uuid, stored.payload, stored.created_at) == (event.pk, event.uuid, PAYLOAD,
                                                                          event.created_at)
    deliveries = WebhookDelivery.objects.filter(event=event).order_by("id")
    assert [(d.endpoint_id, d.status, d.attempts, d.next_attempt_at) for d in deliveries] == [
        (subscribed.pk, "pending", 0, event.created_at), (also.pk, "pending", 0, event.created_at)]
    assert len({d.uuid for d in deliveries}) == 2
    assert len(callbacks) == 2


def test_a_rolled_back_transaction_emits_nothing(partner, local_targets, django_capture_on_commit_callbacks):
    subscribe(partner, "https://a.example.cn/h")
    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
                raise RuntimeError("the change failed")
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    assert callbacks == []


def test_an_event_missing_from_the_catalogue_is_refused(partner):
    with pytest.raises(ValueError):
        webhook_emit(partner=partner, event="application.teleported", payload={})
    assert WebhookEvent.objects.count() == 0


# --- delivery --------------------------------------------------------------------------------------
def test_a_committed_event_is_delivered_signed(partner, server, django_capture_on_commit_callbacks):
    endpoint, secret = subscribe(partner, server.url)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)

    assert len(server.requests) == 1
    path, headers, body = server.requests[0]
    delivery = WebhookDelivery.objects.get()
    assert path == "/hooks"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-CF-Event"] == "line.granted"
    assert headers["X-CF-Delivery"] == str(delivery.uuid)
    # The receiver's check, written out independently of the server code.
    expected = hmac.new(secret.encode(), headers["X-CF-Timestamp"].encode() + b"\n" + body, hashlib.sha256).hexdigest()
    assert headers["X-CF-Signature"] == expected
    document = json.loads(body)
    assert document == {"id": str(event.uuid), "event": "line.granted", "partner": "ACME", "data": PAYLOAD,
                        "created_at": document["created_at"]}
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.SUCCEEDED, 1, 200)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempt.number, attempt.status_code, attempt.response_excerpt, attempt.error) == (1, 200, "ok", "")


def test_an_endpoint_without_its_own_secret_signs_with_the_partner_secret(partner, server,
                                                                          django_capture_on_commit_callbacks):
    WebhookEndpoint.objects.create(partner=partner, url=server.url, events=["line.granted"])
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    _path, headers, body = server.requests[0]
    expected = hmac.new(partner.webhook_secret.encode(), headers["X-CF-Timestamp"].encode() + b"\n" + body,
                        hashlib.sha256).hexdigest()
    assert headers["X-CF-Signature"] == expected


def test_failures_are_retried_with_exponential_backoff(partner, server):
    server.responses = [500, 503]
    subscribe(partner, server.url)
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get()
    t0 = delivery.next_attempt_at

    first = webhook_delivery_attempt(delivery_id=delivery.pk, now=t0)
    assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, t0 + timedelta(seconds=30))
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=t0 + timedelta(seconds=29)) is None
    assert len(server.requests) == 1

    second = webhook_delivery_attempt(delivery_id=delivery.pk, now=t0 + timedelta(seconds=30))
    assert (second.status, second.attempts, second.next_attempt_at) == ("pending", 2, t0 + timedelta(seconds=90))
    third = webhook_delivery_attempt(delivery_id=delivery.pk, now=t0 + timedelta(seconds=90))
    assert (third.status, third.attempts, third.next_attempt_at) == ("succeeded", 3, None)

    log = WebhookDeliveryAttempt.objects.filter(delivery=delivery).order_by("number")
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, 503), (3, 200)]
    # The receiver's answer is logged with identifiers masked.
    assert log[0].response_excerpt == "nope: call 138****8000"
    assert len(server.requests) == 3
    # Every attempt carries the same event body; the delivery id stays the same too.
    assert len({body for _p, _h, body in server.requests}) == 1
    assert len({h["X-CF-Delivery"] for _p, h, _b in server.requests}) == 1


@override_settings(WEBHOOK_MAX_ATTEMPTS=3)
def test_delivery_gives_up_after_the_maximum_attempts(partner, server):
    server.default_status = 500
    subscribe(partner, server.url)
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get()
    when = delivery.next_attempt_at
    for _ in range(3):
        webhook_delivery_attempt(delivery_id=delivery.pk, now=when)
        when += timedelta(hours=1)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 3, None)
    assert delivery.last_error == "HTTP 500"
    assert webhook_delivery_attempt(delivery_id=delivery.pk, now=when + timedelta(days=1)) is None
    assert len(server.requests) == 3


@override_settings(WEBHOOK_RETRY_BASE_SECONDS=30, WEBHOOK_RETRY_MAX_SECONDS=6 * 3600)
def test_the_backoff_schedule_doubles_and_is_capped():
    assert [backoff_seconds(n) for n in range(1, 12)] == [
        30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600]


def test_redirects_are_not_followed(partner, server):
    server.responses = [302]
    subscribe(partner, server.url)
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get()
    attempted = webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert (attempted.status, attempted.last_status_code) == ("pending", 302)
    assert len(server.requests) == 1


def test_a_refused_connection_is_logged_and_retried(partner, local_targets):
    with HookServer() as closed:
        url = closed.url
    subscribe(partner, url)
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get()
    attempted = webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    attempt = WebhookDeliveryAttempt.objects.get()
    assert (attempted.status, attempted.attempts, attempted.last_status_code) == ("pending", 1, None)
    assert attempt.status_code is None
    assert attempt.error.startswith("URLError: ")


def test_private_addresses_are_refused_by_default(partner, server):
    endpoint = WebhookEndpoint.objects.create(partner=partner, url=server.url, events=["line.granted"])
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False):
        attempted = webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert attempted.last_error == "PermissionError: 127.0.0.1 resolves to a non-public address"
    assert server.requests == []


def test_a_name_that_rebinds_to_a_private_address_after_the_check_reaches_nothing(partner, server, monkeypatch):
    """DNS rebinding: the partner's name resolves to a public address when it is checked and to
    the lender's loopback a moment later. The connection goes to the address that was checked."""
    import socket

    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    answers, connects = [], []

    def rebinding(host, port, *args, **kwargs):  # the Internet's DNS
        if host != "hooks.partner.example":
            return real_getaddrinfo(host, port, *args, **kwargs)
        address = "1.1.1.1" if not answers else "127.0.0.1"
        answers.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def internet(address, *args, **kwargs):  # nothing on the Internet answers
        if address[0] == "1.1.1.1":
            connects.append(address)
            raise ConnectionRefusedError("refused")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    monkeypatch.setattr(socket, "create_connection", internet)
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    WebhookEndpoint.objects.create(partner=partner, url=f"http://hooks.partner.example:{port}/hooks",
                                   events=["line.granted"])
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    delivery = WebhookDelivery.objects.get()
    with override_settings(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=False):
        attempted = webhook_delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at)
    assert answers == ["1.1.1.1"]  # resolved once, for the check and the connection alike
    assert connects == [("1.1.1.1", port)]
    assert server.requests == []
    assert (attempted.status, attempted.attempts, attempted.last_status_code) == ("pending", 1, None)
    assert attempted.last_error == "URLError: refused"


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.100.100.200", "203.0.113.7", "0.0.0.0", "224.0.0.1", "::1", "fd00::1",
                                     "::ffff:10.0.0.1"])
def test_non_public_addresses_are_not_webhook_targets(address):
    from creditfactory.partners.services.delivery import address_allowed as _address_allowed

    assert _address_allowed(address) is False
    assert _address_allowed("1.1.1.1") is True


def test_the_sweep_enqueues_due_deliveries(partner, server):
    subscribe(partner, server.url)
    # Emitted outside on-commit capture: as if the enqueued task had been lost.
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    assert server.requests == []
    assert webhook_deliver_due.delay().get() == 1
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
    assert len(server.requests) == 1
    assert webhook_deliver_due.delay().get() == 0


def test_redelivery_sends_the_same_event_as_a_new_delivery(partner, server, django_capture_on_commit_callbacks):
    subscribe(partner, server.url)
    with django_capture_on_commit_callbacks(execute=True):
        webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    first = WebhookDelivery.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        again = webhook_redeliver(delivery=first)

    again.refresh_from_db()
    assert (again.redelivery_of_id, again.status, again.attempts) == (first.pk, "succeeded", 1)
    assert len(server.requests) == 2
    (_p1, h1, b1), (_p2, h2, b2) = server.requests
    assert b1 == b2
    assert (h1["X-CF-Delivery"], h2["X-CF-Delivery"]) == (str(first.uuid), str(again.uuid))


def test_redelivery_from_admin(partner, server, admin_client, django_capture_on_commit_callbacks):
    subscribe(partner, server.url)
    server.default_status = 500
    with override_settings(WEBHOOK_MAX_ATTEMPTS=1), django_capture_on_commit_callbacks(execute=True):
        webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    failed = WebhookDelivery.objects.get()
    assert failed.status == DeliveryStatus.FAILED
    server.default_status = 200

    page = admin_client.get(f"/admin/partners/webhookdelivery/{failed.pk}/change/")
    assert page.status_code == 200
    assert b"HTTP 500" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/partners/webhookdelivery/",
                                     {"action": "redeliver", "_selected_action": [failed.pk]})
    assert response.status_code == 302
    assert list(WebhookDelivery.objects.order_by("id").values_list("status", flat=True)) == ["failed", "succeeded"]
    assert admin_client.get("/admin/partners/webhookdelivery/").status_code == 200
    assert admin_client.get("/admin/partners/webhookevent/").status_code == 200


def test_deleting_an_endpoint_cancels_its_pending_deliveries(partner, local_targets):
    endpoint, _ = subscribe(partner, "https://a.example.cn/h")
    webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    webhook_endpoint_delete(endpoint=endpoint)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.next_attempt_at) == ("cancelled", None)
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None


# --- the partner API -------------------------------------------------------------------------------
@pytest.fixture
def acme_client(partner):
    return partner_client(issue_key(partner))


def test_partners_register_list_read_and_delete_endpoints(partner, acme_client):
    created = acme_client.post("/api/v1/webhooks", {"url": "https://hooks.acme.cn/cf",
                                                    "events": ["line.granted", "application.decided"],
                                                    "description": "prod"}, format="json")
    assert created.status_code == 201
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {"id": endpoint.pk, "url": "https://hooks.acme.cn/cf",
                    "events": ["application.decided", "line.granted"], "description": "prod", "is_active": True,
                    "created_at": body["created_at"], "secret": endpoint.secret}
    assert body["secret"].startswith("whsec_")

    listed = acme_client.get("/api/v1/webhooks")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["results"] == [{k: v for k, v in body.items() if k != "secret"}]
    detail = acme_client.get(f"/api/v1/webhooks/{endpoint.pk}")
    assert detail.json() == listed.json()["results"][0]

    assert acme_client.delete(f"/api/v1/webhooks/{endpoint.pk}").status_code == 204
    assert acme_client.get("/api/v1/webhooks").json()["count"] == 0
    assert acme_client.get(f"/api/v1/webhooks/{endpoint.pk}").status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None and endpoint.is_active is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"url": "http://hooks.acme.cn/cf", "events": ["line.granted"]}, "url"),
        ({"url": "https://127.0.0.1/cf", "events": ["line.granted"]}, "url"),
        ({"url": "https://localhost/cf", "events": ["line.granted"]}, "url"),
        ({"url": "not a url", "events": ["line.granted"]}, "url"),
        ({"url": "https://hooks.acme.cn/cf", "events": []}, "events"),
        ({"url": "https://hooks.acme.cn/cf", "events": ["line.teleported"]}, "events.0"),
        ({"url": "https://hooks.acme.cn/cf"}, "events"),
    ],
)
def test_invalid_endpoints_answer_400_naming_the_field(acme_client, payload, field):
    response = acme_client.post("/api/v1/webhooks", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == [field]
    assert WebhookEndpoint.objects.count() == 0


def test_the_event_catalogue_is_published(acme_client):
    response = acme_client.get("/api/v1/webhooks/events")
    assert response.status_code == 200
    names = [row["event"] for row in response.json()]
    assert names[:3] == ["application.created", "application.decided", "application.approved"]
    assert {"line.granted", "signing.booked", "signing.completed", "contract.ready", "application.returned",
            "application.rejected"} <= set(names)


def test_listing_endpoints_takes_a_constant_number_of_queries(partner, acme_client, local_targets,
                                                              django_assert_max_num_queries):
    for n in range(5):
        subscribe(partner, f"https://a{n}.example.cn/h")
    # key lookup, last_used touch, count, page, usage upsert (+ savepoint pair)
    with django_assert_max_num_queries(8):
        response = acme_client.get("/api/v1/webhooks")
    assert response.json()["count"] == 5


def test_the_sweep_and_the_purge_are_scheduled():
    from django.conf import settings

    from creditfactory.celery import app

    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["partners-webhook-deliver-due"] == {"task": "core.webhook_deliver_due", "schedule": 30.0}
    assert schedule["partners-idempotency-purge"] == {"task": "core.idempotency_purge", "schedule": 3600.0}
    app.loader.import_default_modules()
    assert {"core.webhook_deliver", "core.webhook_deliver_due", "core.idempotency_purge"} <= set(app.tasks)


def test_a_partner_pings_its_endpoint(partner, acme_client, server, django_capture_on_commit_callbacks):
    endpoint, secret = subscribe(partner, server.url, ["application.decided"])
    with django_capture_on_commit_callbacks(execute=True):
        response = acme_client.post(f"/api/v1/webhooks/{endpoint.pk}/ping")
    assert response.status_code == 202
    delivery = WebhookDelivery.objects.get()
    assert response.json() == {"event": str(delivery.event.uuid), "delivery": str(delivery.uuid)}
    _path, headers, body = server.requests[0]
    assert headers["X-CF-Event"] == "webhook.test"
    assert json.loads(body)["data"] == {"endpoint": endpoint.pk, "message": "ping"}
    assert headers["X-CF-Signature"] == hmac.new(
        secret.encode(), headers["X-CF-Timestamp"].encode() + b"\n" + body, hashlib.sha256).hexdigest()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)
