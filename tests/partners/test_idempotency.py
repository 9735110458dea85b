"""Idempotency-Key on create-POSTs, through POST /api/v1/webhooks (a partner create endpoint)."""

import hashlib
import json
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from creditfactory.partners.models import IdempotencyKey, IdempotencyStatus, WebhookEndpoint
from creditfactory.partners.services import webhooks
from creditfactory.partners.tasks import idempotency_purge
from tests.partners.factories import CONCURRENT_DB, issue_key, make_partner, partner_client

URL = "/api/v1/webhooks"
BODY = {"url": "https://hooks.example.cn/cf", "events": ["application.decided", "line.granted"]}


@pytest.fixture
def acme(db):
    partner = make_partner("ACME")
    return partner, partner_client(issue_key(partner))


def post(client, body=BODY, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, body, format="json", **headers)


def test_a_replay_returns_the_same_status_and_body(acme):
    partner, client = acme
    first = post(client)
    again = post(client)

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Location"] == first["Location"] == f"/api/v1/webhooks/{first.json()['id']}"
    assert again["Idempotent-Replayed"] == "true"
    assert not first.has_header("Idempotent-Replayed")
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1
    record = IdempotencyKey.objects.get()
    assert (record.key, record.endpoint, record.status, record.response_status) == (
        "key-1", "api:webhook-list", IdempotencyStatus.COMPLETED, 201)


def test_the_same_key_with_another_body_answers_422(acme):
    partner, client = acme
    post(client)
    response = post(client, {**BODY, "events": ["line.granted"]})
    assert response.status_code == 422
    assert response.json() == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used for a different request.",
        "errors": {},
    }
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1


def test_key_order_and_whitespace_do_not_change_the_fingerprint(acme):
    partner, client = acme
    post(client)
    reordered = client.generic(
        "POST", URL, '{ "events": ["application.decided", "line.granted"],  "url": "https://hooks.example.cn/cf" }',
        content_type="application/json", HTTP_IDEMPOTENCY_KEY="key-1",
    )
    assert reordered.status_code == 201
    assert reordered["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1


def test_keys_are_scoped_to_the_partner(acme):
    _partner, client = acme
    other = make_partner("OTHER")
    assert post(client).status_code == 201
    theirs = post(partner_client(issue_key(other)))
    assert theirs.status_code == 201
    assert not theirs.has_header("Idempotent-Replayed")
    assert WebhookEndpoint.objects.filter(partner=other).count() == 1
    assert IdempotencyKey.objects.count() == 2


def test_without_a_key_each_post_creates(acme):
    partner, client = acme
    assert [post(client, key=None).status_code for _ in range(2)] == [201, 201]
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 2
    assert IdempotencyKey.objects.count() == 0


@override_settings(IDEMPOTENCY_KEY_REQUIRED=True)
def test_the_key_can_be_made_mandatory(acme):
    partner, client = acme
    response = post(client, key=None)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["Idempotency-Key"]
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 0


@pytest.mark.parametrize("key", ["with space", "x" * 256, "ключ"])
def test_a_malformed_key_answers_400_naming_the_header(acme, key):
    partner, client = acme
    response = client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY=key.encode().decode("latin-1"))
    assert response.status_code == 400
    assert response.json()["errors"] == {"Idempotency-Key": ["Use 1 to 255 printable ASCII characters without spaces."]}
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 0
    assert IdempotencyKey.objects.count() == 0


def test_an_exception_releases_the_key_so_a_retry_runs(acme, monkeypatch):
    partner, client = acme
    original = webhooks.webhook_endpoint_create

    def broken(**kwargs):
        original(**kwargs)  # the row it writes must roll back with the failure
        raise RuntimeError("database went away")

    monkeypatch.setattr(webhooks, "webhook_endpoint_create", broken)
    with pytest.raises(RuntimeError):
        post(client)
    assert IdempotencyKey.objects.count() == 0
    assert WebhookEndpoint.objects.count() == 0

    monkeypatch.setattr(webhooks, "webhook_endpoint_create", original)
    retry = post(client)
    assert retry.status_code == 201
    assert not retry.has_header("Idempotent-Replayed")
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1


def test_a_validation_error_is_not_stored_and_the_corrected_request_may_reuse_the_key(acme):
    partner, client = acme
    invalid = post(client, {**BODY, "events": []})
    assert invalid.status_code == 400
    assert IdempotencyKey.objects.count() == 0
    corrected = post(client)
    assert corrected.status_code == 201
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1


def test_a_key_in_progress_answers_409(acme):
    partner, client = acme
    first = post(client)
    # As if the first request were still running: in progress, locked just now.
    IdempotencyKey.objects.update(status=IdempotencyStatus.IN_PROGRESS, locked_at=timezone.now())
    response = post(client)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"
    assert first.status_code == 201
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 1


@override_settings(IDEMPOTENCY_LOCK_TIMEOUT_SECONDS=120)
def test_a_key_abandoned_by_a_crashed_request_is_taken_over(acme):
    partner, client = acme
    IdempotencyKey.objects.create(
        partner=partner, key="key-1", endpoint="api:webhook-list", request_hash="0" * 64,
        locked_at=timezone.now() - timedelta(seconds=121),
    )
    # Another fingerprint is still another request: 422 even when abandoned.
    assert post(client).status_code == 422
    canonical = json.dumps(BODY, sort_keys=True, separators=(",", ":")).encode()
    IdempotencyKey.objects.update(request_hash=hashlib.sha256(b"POST\n/api/v1/webhooks\n" + canonical).hexdigest())
    response = post(client)
    assert response.status_code == 201
    assert IdempotencyKey.objects.get().status == IdempotencyStatus.COMPLETED


@override_settings(IDEMPOTENCY_RETENTION_HOURS=48)
def test_keys_older_than_the_retention_are_purged(acme):
    partner, client = acme
    for key in ("old", "young"):
        post(client, key=key)
    now = timezone.now()
    IdempotencyKey.objects.filter(key="old").update(created_at=now - timedelta(hours=48, minutes=1))
    IdempotencyKey.objects.filter(key="young").update(created_at=now - timedelta(hours=47))

    assert idempotency_purge.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]
    # After the purge the old key is free again: a new request under it creates.
    assert post(client, key="old").status_code == 201
    assert WebhookEndpoint.objects.filter(partner=partner).count() == 3


# --- real concurrency on PostgreSQL ----------------------------------------------------------------
def _in_thread(target, results, index, *args):
    try:
        results[index] = target(*args)
    finally:
        connection.close()


@CONCURRENT_DB
def test_a_concurrent_duplicate_gets_409_then_the_replay(monkeypatch):
    partner = make_partner("ACME")
    key = issue_key(partner)
    started, release = threading.Event(), threading.Event()
    original = webhooks.webhook_endpoint_create

    def slow(**kwargs):
        started.set()
        assert release.wait(10)
        return original(**kwargs)

    monkeypatch.setattr(webhooks, "webhook_endpoint_create", slow)
    results = [None]
    worker = threading.Thread(target=_in_thread, args=(lambda: post(partner_client(key)), results, 0))
    worker.start()
    assert started.wait(10)

    duplicate = post(partner_client(key))
    release.set()
    worker.join(10)
    replay = post(partner_client(key))

    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "idempotency_in_progress"
    assert results[0].status_code == 201
    assert (replay.status_code, replay.content, replay["Idempotent-Replayed"]) == (201, results[0].content, "true")
    assert WebhookEndpoint.objects.count() == 1


@CONCURRENT_DB
def test_a_stampede_of_duplicates_creates_exactly_one_row():
    partner = make_partner("ACME")
    key = issue_key(partner)
    threads, barrier = 8, threading.Barrier(8)
    results = [None] * threads

    def call():
        client = partner_client(key)
        barrier.wait(10)
        return post(client, key="stampede")

    workers = [threading.Thread(target=_in_thread, args=(call, results, i)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)

    statuses = sorted(r.status_code for r in results)
    created = [r for r in results if r.status_code == 201]
    assert set(statuses) <= {201, 409}
    assert len(created) >= 1
    assert len({r.content for r in created}) == 1
    assert sum(1 for r in created if not r.has_header("Idempotent-Replayed")) == 1
    assert WebhookEndpoint.objects.count() == 1
    assert IdempotencyKey.objects.get().status == IdempotencyStatus.COMPLETED


def test_a_malformed_body_answers_400_and_takes_no_key(acme):
    _partner, client = acme
    response = client.generic("POST", URL, "{not json", content_type="application/json",
                              HTTP_IDEMPOTENCY_KEY="key-1")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert IdempotencyKey.objects.count() == 0


def test_stored_responses_are_encrypted_at_rest(acme):
    _partner, client = acme
    secret = post(client).json()["secret"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT response_body FROM {IdempotencyKey._meta.db_table}")
        (stored,) = cursor.fetchone()
    assert stored.startswith("gAAAAA") and secret not in stored


def test_admin_lists_keys_without_their_responses(acme, admin_client):
    _partner, client = acme
    secret = post(client).json()["secret"]
    record = IdempotencyKey.objects.get()
    listing = admin_client.get("/admin/partners/idempotencykey/")
    page = admin_client.get(f"/admin/partners/idempotencykey/{record.pk}/change/")
    assert listing.status_code == page.status_code == 200
    assert "key-1" in listing.content.decode()
    assert secret not in page.content.decode()
    endpoints = admin_client.get("/admin/partners/webhookendpoint/")
    assert endpoints.status_code == 200 and secret not in endpoints.content.decode()
