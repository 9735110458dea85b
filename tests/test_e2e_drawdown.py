"""Drawdowns end to end on PostgreSQL with a real Celery worker process against Redis.

1. A partner draws 40,000.00 on an active line through the API (Idempotency-Key); the worker runs
   the in-loan check, the flow routes it to a 30/70 co-lending pair, sends the payment to the
   sandbox bank, whose signed callback settles it; the loan is booked, co-lent, and its journal
   balances; the line's used is the amount.
2. The worker is killed (SIGKILL) after the payment was sent and before any confirmation (a
   sandbox account ending 0002 never calls back); a new worker comes up, the disbursement sweep
   asks the bank for the status (paid) and the flow books: the bank received the payment once,
   one loan, one set of journal entries — also after a second sweep and a resend of the task.

Fixtures and helpers as the origination end-to-end test (``tests/test_e2e_origination.py``).
"""

import os
import signal
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from django.db.models import Sum

from creditfactory.celery import app as celery_app
from servicing.models import (
    CreditLine,
    Disbursement,
    Drawdown,
    DrawdownFunding,
    JournalEntry,
    JournalLine,
    Loan,
    PaymentChannel,
    SandboxBankTransfer,
)
from tests.servicing.funding_factories import make_channel, make_funder, make_pair, make_rule
from tests.test_e2e_origination import ROOT, _database_url, _reset_broker_connections, redis_url, wait_for  # noqa: F401
from tests.workflows.api_factories import ensure_permissions
from tests.workflows.drawdown_factories import drawdown_body, line_api
from workflows.services.drawdowns import drawdown_disbursements_sweep


def _start_worker(queue: str, url: str) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base", "DATABASE_URL": _database_url(),
           "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url, "DEBUG": "false"}
    code = ("from creditfactory.celery import app; app.conf.task_default_queue = {queue!r}; "
            "app.worker_main(['worker', '--pool', 'solo', '-Q', {queue!r}, '--loglevel', 'INFO', "
            "'--without-gossip', '--without-mingle', '--without-heartbeat'])").format(queue=queue)
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def workers(redis_url):  # noqa: F811 - the fixture imported above
    """Start workers on a private queue (``start()``); this process sends there too."""
    queue = f"cf-dd-{uuid.uuid4().hex[:10]}"
    started: list[subprocess.Popen] = []
    saved = {name: celery_app.conf[name] for name in ("broker_url", "task_always_eager", "task_default_queue")}
    celery_app.conf.update(broker_url=redis_url, task_always_eager=False, task_default_queue=queue)
    _reset_broker_connections()
    celery_app.set_current()

    def start():
        started.append(_start_worker(queue, redis_url))
        return started[-1]

    try:
        yield start
    finally:
        celery_app.conf.update(saved)
        _reset_broker_connections()
        for process in started:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:  # pragma: no cover
                    process.kill()


def _money():
    bank = make_funder("bank", kind="co_lender", priority=20, cost="4.0")
    coop = make_funder("coop", kind="co_lender", priority=30, cost="4.5")
    own = make_funder("own", kind="own", priority=10, cost="3.5")
    pair = make_pair("pair3070", [(coop, "30"), (bank, "70")])
    make_rule("Large to the pair", pair=pair, priority=1, amount_min=Decimal("30000.01"))
    make_rule("Own funds", funder=own, fallback=True, priority=100)
    return make_channel()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_line_to_a_booked_co_lent_loan_with_a_real_worker(workers):
    ensure_permissions()
    _money()
    api = line_api(limit=Decimal("100000.00"))
    worker = workers()
    response = api.client.post(f"/api/v1/credit-lines/{api.line.pk}/drawdowns",
                               drawdown_body(amount="40000.00", external_reference="E2E-1"), format="json",
                               HTTP_IDEMPOTENCY_KEY="e2e-1")
    assert response.status_code == 201, response.content
    drawdown_id = response.json()["id"]
    wait_for(lambda: Drawdown.objects.filter(pk=drawdown_id, status__in=["disbursed", "failed", "rejected"]).exists(),
             "the drawdown to be booked", worker)
    drawdown = Drawdown.objects.get(pk=drawdown_id)
    assert (drawdown.status, drawdown.line_hold) == ("disbursed", "posted")
    loan = Loan.objects.get(drawdown=drawdown)
    assert loan.principal == Decimal("40000.00")
    assert dict(DrawdownFunding.objects.filter(drawdown=drawdown).values_list("funder__code", "principal")) == {
        "bank": Decimal("28000.00"), "coop": Decimal("12000.00")}
    totals = JournalLine.objects.filter(entry__loan=loan).aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"]
    line = CreditLine.objects.get(pk=api.line.pk)
    assert (line.used, line.held) == (Decimal("40000.00"), Decimal("0.00"))
    assert api.client.get(f"/api/v1/drawdowns/{drawdown_id}").json()["loan"] == loan.pk


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_between_send_and_confirm_pays_once_and_books_once(workers):
    ensure_permissions()
    _money()
    PaymentChannel.objects.update(confirm_timeout_seconds=0)
    api = line_api()
    first = workers()
    response = api.client.post(f"/api/v1/credit-lines/{api.line.pk}/drawdowns",
                               drawdown_body(bank_account="6222021234560002"), format="json",
                               HTTP_IDEMPOTENCY_KEY="kill-1")
    assert response.status_code == 201, response.content
    drawdown_id = response.json()["id"]
    wait_for(lambda: Disbursement.objects.filter(drawdown_id=drawdown_id, status="sent").exists(),
             "the payment to be sent", first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=15)
    assert Drawdown.objects.get(pk=drawdown_id).status == "disbursing"

    second = workers()
    assert drawdown_disbursements_sweep()["queried"] == 1  # the bank says paid: settled, booking queued
    wait_for(lambda: Drawdown.objects.filter(pk=drawdown_id, status="disbursed").exists(), "the booking", second)
    entries = JournalEntry.objects.count()
    assert drawdown_disbursements_sweep() == {"sent": 0, "queried": 0, "settled": 0}
    from workflows.drawdown_jobs import drawdown_disbursement_send

    drawdown_disbursement_send.apply(args=[drawdown_id])  # a redelivered send after the fact
    transfer = SandboxBankTransfer.objects.get(reference=Disbursement.objects.get(drawdown_id=drawdown_id).reference)
    assert (transfer.received, transfer.amount) == (1, Decimal("20000.00"))
    assert Loan.objects.filter(drawdown_id=drawdown_id).count() == 1
    assert JournalEntry.objects.count() == entries
    line = CreditLine.objects.get(pk=api.line.pk)
    assert (line.used, line.held) == (Decimal("20000.00"), Decimal("0.00"))
