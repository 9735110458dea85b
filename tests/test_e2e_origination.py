"""Origination end to end on PostgreSQL with a real Celery worker process against Redis.

A partner creates an application through the API (a sandbox applicant that refers: thin file);
the worker decides it; a reviewer and an approver act through the workbench's action forms; the
partner books a signing slot through the API and the signing officer completes it in the back
office; the partner accepts the contract; the credit line is active with the decision's limit,
rate and grade. Every webhook reaches a local HTTP server, signed, in the order of the events.

The worker consumes a private queue (several worker tests may share a Redis database): both this
process and the worker send the app's tasks there (``task_default_queue``).
"""

import json
import os
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from creditfactory.celery import app as celery_app
from creditfactory.partners.models import DeliveryStatus, WebhookDelivery
from creditfactory.partners.services.delivery import webhook_signature
from risk.models import Decision
from servicing.models import CreditLine
from tests.factories import make_staff
from tests.partners.hook_server import HookServer
from tests.workflows.api_factories import URL, api_setup, body, ensure_permissions, signing_schedule
from workflows.models import CreditApplication, SigningAppointment

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ["application.created", "application.decided", "application.approved", "signing.booked",
          "signing.completed", "contract.ready", "contract.accepted", "line.granted"]
TIMEOUT = 90


@pytest.fixture
def redis_url():
    import redis

    url = settings.TEST_REDIS_URL
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:  # pragma: no cover - CI starts Redis
        pytest.fail(f"Redis is not answering at {url}: {exc}")
    return url


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _reset_broker_connections():
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def worker(redis_url):
    """``celery worker`` on a private queue, pointed at the test database; this process sends the
    app's tasks (flow jobs, webhook deliveries) to that queue through Redis instead of eagerly."""
    queue = f"cf-e2e-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base",
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "DEBUG": "false",
        "WEBHOOK_REQUIRE_HTTPS": "false",
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    # The worker's own sends (a decided application's webhooks, retries) must stay on the queue too.
    code = ("from creditfactory.celery import app; app.conf.task_default_queue = {queue!r}; "
            "app.worker_main(['worker', '--pool', 'solo', '-Q', {queue!r}, '--loglevel', 'INFO', "
            "'--without-gossip', '--without-mingle', '--without-heartbeat'])").format(queue=queue)
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    saved = {name: celery_app.conf[name] for name in ("broker_url", "task_always_eager", "task_default_queue")}
    celery_app.conf.update(broker_url=redis_url, task_always_eager=False, task_default_queue=queue)
    _reset_broker_connections()
    # Shared tasks resolve through Celery's *current* app: another test's throwaway app may still
    # be current (tests/core/test_worker.py creates one), and would send our jobs elsewhere.
    celery_app.set_current()
    try:
        yield process
    finally:
        celery_app.conf.update(saved)
        _reset_broker_connections()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()


def wait_for(condition, what: str, process, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    process.terminate()  # pragma: no cover - show the worker's log on failure
    log = process.stdout.read() if process.stdout else ""
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log[-8000:]}")


def staff_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_form(client, url: str, data: dict):
    response = client.post(url, data)
    assert response.status_code == 303, (url, response.status_code, response.content.decode()[:2000])
    return response


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_origination_end_to_end_with_a_real_worker(worker, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    ensure_permissions()
    # Review, then approval (every amount above 10,000.00 goes to an approver), then signing.
    api = api_setup(signing=True, approval_threshold=Decimal("10000.00"))
    officer = make_staff("officer", api.o.branch)
    signing_schedule(api, officer)

    with HookServer() as server:
        registered = api.client.post("/api/v1/webhooks", {"url": server.url, "events": EVENTS}, format="json",
                                     HTTP_IDEMPOTENCY_KEY="hooks-1")
        assert registered.status_code == 201, registered.json()
        secret = registered.json()["secret"]

        # 1. The partner applies; the worker decides (thin file → refer to review).
        created = api.client.post(URL, body("991", external_reference="E2E-1"), format="json",
                                  HTTP_IDEMPOTENCY_KEY="create-1")
        assert created.status_code == 201, created.json()
        application_id = created.json()["id"]
        assert (created.json()["status"], created.json()["decision"]) == ("submitted", None)
        decided = wait_for(lambda: (lambda d: d if d["status"] == "in_review" else None)(
            api.client.get(f"{URL}/{application_id}").json()), "the worker's decision", worker)
        assert (decided["current_node"], decided["decision"]["outcome"], decided["decision"]["reasons"]) == (
            "review", "refer", ["Manual review needed", "Your application will be reviewed by our staff."])

        # 2. The reviewer and then the approver act in the back office.
        page = f"/origination/applications/{application_id}/"
        reviewer, approver = staff_client(api.o.reviewer), staff_client(api.o.approver)
        post_form(reviewer, page + "claim/", {})
        post_form(reviewer, page + "approve/", {"approve-note": "Income verified by phone."})
        assert CreditApplication.objects.get(pk=application_id).status == "in_approval"
        post_form(approver, page + "claim/", {})
        post_form(approver, page + "approve/", {"approve-note": "Approved within the policy."})
        assert api.client.get(f"{URL}/{application_id}").json()["status"] == "signing"

        # 3. The partner books a slot; the officer completes the signing in the back office.
        slots = api.client.get(f"{URL}/{application_id}/signing/slots").json()
        assert slots, "no free signing slot in the coming week"
        booked = api.client.post(f"{URL}/{application_id}/signing", {"slot_start": slots[0]["start"]},
                                 format="json", HTTP_IDEMPOTENCY_KEY="book-1")
        assert booked.status_code == 201, booked.json()
        appointment = SigningAppointment.objects.get(application_id=application_id)
        post_form(staff_client(officer), f"/signing/appointments/{appointment.pk}/complete/", {
            "complete-result": "passed", "complete-notes": "Identity confirmed on video.",
            "complete-recording_ref": "rec://e2e/1"})
        assert api.client.get(f"{URL}/{application_id}").json()["status"] == "contract"

        # 4. The partner accepts the contract: the line is granted with the decision's terms.
        accepted = api.client.post(f"{URL}/{application_id}/contract/accept", format="json",
                                   HTTP_IDEMPOTENCY_KEY="accept-1")
        assert accepted.status_code == 200, accepted.json()
        decision = Decision.objects.get(application_id=application_id, status="current")
        line = CreditLine.objects.get(application_id=application_id)
        assert (line.status, line.limit, line.rate_percent, line.grade, line.decision) == (
            "active", decision.limit, decision.rate_percent, decision.grade, decision)
        assert (line.limit, line.rate_percent, line.grade) == (Decimal("20000.00"), Decimal("8.000000"), "D")
        assert accepted.json()["status"] == "approved"
        assert accepted.json()["credit_line"]["id"] == line.pk
        assert api.client.get(f"/api/v1/credit-lines/{line.pk}").json()["status"] == "active"

        # 5. Every webhook arrives, signed, in order.
        wait_for(lambda: len(server.requests) >= len(EVENTS), "the webhooks", worker)
        wait_for(lambda: not WebhookDelivery.objects.exclude(status=DeliveryStatus.SUCCEEDED).exists(),
                 "the delivery log", worker)
    received = []
    for _path, headers, raw in server.requests:
        expected = webhook_signature(secret, timestamp=headers["X-CF-Timestamp"], body=raw)
        assert headers["X-CF-Signature"] == expected
        document = json.loads(raw)
        assert headers["X-CF-Event"] == document["event"]
        assert document["data"]["application"]["id"] == application_id
        received.append(document["event"])
    assert received == EVENTS
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == len(EVENTS)
