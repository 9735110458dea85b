"""Idempotency-Key on POST /api/v1/applications: a replay answers the same status and body and
creates nothing; the same key with another body answers 422; a concurrent duplicate answers 409
(threads on PostgreSQL); a stampede of duplicates creates one application."""

import threading

import pytest
from django.db import connection

from creditfactory.partners.models import IdempotencyKey, IdempotencyStatus, WebhookEvent
from risk.models import Applicant
from tests.partners.factories import partner_client
from workflows.models import CreditApplication
from workflows.services import applications as services

from .api_factories import URL, api_setup, body, ensure_permissions


def post(client, payload=None, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(URL, payload or body(), format="json", **headers)


@pytest.mark.django_db
def test_a_replay_returns_the_same_status_and_body_and_creates_nothing():
    api = api_setup()
    first = post(api.client)
    again = post(api.client)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Location"] == first["Location"] == f"{URL}/{first.json()['id']}"
    assert (again["Idempotent-Replayed"], first.has_header("Idempotent-Replayed")) == ("true", False)
    assert (CreditApplication.objects.count(), Applicant.objects.count()) == (1, 1)
    assert WebhookEvent.objects.filter(event="application.created").count() == 1
    record = IdempotencyKey.objects.get()
    assert (record.endpoint, record.status, record.response_status) == (
        "api:application-list", IdempotencyStatus.COMPLETED, 201)


@pytest.mark.django_db
def test_the_same_key_with_another_body_answers_422_and_creates_nothing():
    api = api_setup()
    post(api.client)
    response = post(api.client, body(amount="30000.00"))
    assert response.status_code == 422
    assert response.json() == {"code": "idempotency_key_reused", "errors": {},
                               "message": "This Idempotency-Key was already used for a different request."}
    assert CreditApplication.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_request_frees_its_key_for_the_corrected_one():
    api = api_setup()
    refused = post(api.client, body(amount="1.00"))
    assert (refused.status_code, IdempotencyKey.objects.count()) == (400, 0)
    corrected = post(api.client)
    assert corrected.status_code == 201
    assert CreditApplication.objects.count() == 1


def _in_thread(target, results, index):
    try:
        results[index] = target()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_duplicate_gets_409_then_the_replay(monkeypatch):
    ensure_permissions()
    api = api_setup()
    started, release = threading.Event(), threading.Event()
    original = services.application_create

    def slow(**kwargs):
        started.set()
        assert release.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(services, "application_create", slow)
    results = [None]
    worker = threading.Thread(target=_in_thread, args=(lambda: post(partner_client(api.key)), results, 0))
    worker.start()
    assert started.wait(20)
    duplicate = post(partner_client(api.key))
    release.set()
    worker.join(30)
    replay = post(partner_client(api.key))

    assert duplicate.status_code == 409
    assert duplicate.json() == {"code": "idempotency_in_progress", "errors": {},
                                "message": "A request with this Idempotency-Key is still being processed; retry later."}
    assert results[0].status_code == 201
    assert (replay.status_code, replay.content, replay["Idempotent-Replayed"]) == (201, results[0].content, "true")
    assert CreditApplication.objects.count() == 1
    assert WebhookEvent.objects.filter(event="application.created").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_stampede_of_duplicates_creates_exactly_one_application():
    ensure_permissions()
    api = api_setup()
    threads, barrier = 6, threading.Barrier(6)
    results = [None] * threads

    def call():
        client = partner_client(api.key)
        barrier.wait(20)
        return post(client, key="stampede")

    workers = [threading.Thread(target=_in_thread, args=(call, results, i)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert {r.status_code for r in results} <= {201, 409}
    created = [r for r in results if r.status_code == 201]
    assert sum(1 for r in created if not r.has_header("Idempotent-Replayed")) == 1
    assert len({r.content for r in created}) == 1
    assert CreditApplication.objects.count() == 1
    assert IdempotencyKey.objects.get().status == IdempotencyStatus.COMPLETED
