"""Exactly once under concurrency, on real PostgreSQL connections: two sends of one drawdown at
once pay once; a callback and a status query confirming at once settle once and tell the flow
once."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery import shared_task
from django.db import connection

from creditfactory.core.state import transitions_for
from servicing.models import Disbursement, DisbursementEvent, SandboxBankTransfer
from servicing.services.payments import disbursement_confirm, disbursement_send

from .funding_factories import english, make_channel, make_drawdown

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("english")]
SETTLED = []
PROBE = "tests.servicing.disbursement_settled_probe_concurrent"


@shared_task(name=PROBE)
def settled_probe(*, drawdown_id):
    SETTLED.append(drawdown_id)


@pytest.fixture(autouse=True)
def _probe(settings):
    settings.SERVICING_DISBURSEMENT_SETTLED_TASK = PROBE
    SETTLED.clear()


def _together(*calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_two_sends_at_once_pay_once():
    make_channel()
    drawdown = make_drawdown(status="disbursing")
    _together(lambda: disbursement_send(drawdown=drawdown), lambda: disbursement_send(drawdown=drawdown))
    disbursement = Disbursement.objects.get()
    assert disbursement.status == "paid"
    transfer = SandboxBankTransfer.objects.get()
    assert transfer.reference == disbursement.reference and transfer.received in (1, 2)
    assert DisbursementEvent.objects.filter(disbursement=disbursement, kind="callback", duplicate=False).count() == 1
    assert SETTLED == [drawdown.pk]


def test_a_callback_and_a_query_at_once_settle_once():
    make_channel()
    drawdown = make_drawdown(status="disbursing", bank_account="6222020000000002")
    disbursement = disbursement_send(drawdown=drawdown)
    assert disbursement.status == "sent"
    reference = disbursement.reference
    _together(lambda: disbursement_confirm(reference=reference, paid=True, source="callback"),
              lambda: disbursement_confirm(reference=reference, paid=True, source="query"))
    events = list(DisbursementEvent.objects.filter(disbursement=disbursement, kind__in=["callback", "query"])
                  .values_list("duplicate", flat=True))
    assert sorted(events) == [False, True]
    assert [t.to_state for t in transitions_for(disbursement)][::-1] == ["prepared", "sent", "paid"]
    assert SETTLED == [drawdown.pk]
