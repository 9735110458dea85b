"""Disbursement exactly once through the sandbox bank: send, signed callback, status query, the
trigger accounts, replays and resends that change nothing, forged callbacks refused, and the
settled task dispatched once by name after commit."""

import json
import time
from decimal import Decimal

import pytest
from celery import shared_task

from creditfactory.core.state import transitions_for
from servicing.channels import PaymentOrder, provider_for
from servicing.channels.signing import callback_signature
from servicing.models import Disbursement, DisbursementEvent, SandboxBankTransfer
from servicing.services.payments import _prepare, disbursement_confirm, disbursement_query, disbursement_send

from .funding_factories import english, make_channel, make_drawdown

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SETTLED = []
PROBE = "tests.servicing.disbursement_settled_probe"


@shared_task(name=PROBE)
def settled_probe(*, drawdown_id):
    SETTLED.append(drawdown_id)


@pytest.fixture(autouse=True)
def _probe(settings):
    settings.SERVICING_DISBURSEMENT_SETTLED_TASK = PROBE
    SETTLED.clear()


@pytest.fixture
def channel():
    return make_channel(cost_per_transaction=Decimal("1.50"))


def _events(disbursement):
    return [(e.kind, e.result, e.duplicate) for e in DisbursementEvent.objects.filter(disbursement=disbursement)]


def _send(drawdown, capture):
    with capture(execute=True):
        return disbursement_send(drawdown=drawdown)


def _signed(body: dict, *, secret="test-secret-123", timestamp=None, channel="sandbox"):
    raw = json.dumps(body).encode()
    timestamp = timestamp or str(int(time.time()))
    return raw, {"HTTP_X_CF_CHANNEL": channel, "HTTP_X_CF_TIMESTAMP": timestamp,
                 "HTTP_X_CF_SIGNATURE": callback_signature(secret=secret, timestamp=timestamp, body=raw)}


def test_a_payment_is_sent_once_and_confirmed_by_the_signed_callback(channel, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    disbursement.refresh_from_db()
    assert (disbursement.reference, disbursement.amount, disbursement.status, disbursement.cost) == (
        f"PAY-{drawdown.number}", Decimal("20000.00"), "paid", Decimal("1.50"))
    assert disbursement.channel_reference == f"SBX-PAY-{drawdown.number}"
    assert _events(disbursement) == [("sent", "accepted", False), ("callback", "paid", False)]
    assert [e.result_display for e in DisbursementEvent.objects.filter(disbursement=disbursement)] == ["accepted", "paid"]
    assert [t.to_state for t in transitions_for(disbursement)][::-1] == ["prepared", "sent", "paid"]
    [transfer] = SandboxBankTransfer.objects.all()
    assert (transfer.received, transfer.outcome, transfer.callback_sent_at is not None) == (1, "paid", True)
    assert SETTLED == [drawdown.pk]


def test_sending_again_or_after_a_crash_pays_once_per_reference(channel, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", status="disbursing")
    first = _send(drawdown, django_capture_on_commit_callbacks)
    again = _send(drawdown, django_capture_on_commit_callbacks)
    assert again.pk == first.pk and Disbursement.objects.count() == 1
    assert SandboxBankTransfer.objects.get().received == 1  # the channel was not called again

    # A worker died after the bank took the payment, before the answer was recorded: the retry
    # sends the same reference, the bank recognises it and pays nothing more.
    crashed = make_drawdown(amount="5000.00", bank_account="6222020000000002", status="disbursing")
    prepared = _prepare(crashed)
    provider_for(channel).send(PaymentOrder(reference=prepared.reference, amount=Decimal("5000.00"),
                                            account=crashed.bank_account, account_name="x"))
    retried = _send(crashed, django_capture_on_commit_callbacks)
    assert _events(retried)[0] == ("sent", "duplicate", False)
    assert SandboxBankTransfer.objects.get(reference=retried.reference).received == 2
    assert SETTLED == [drawdown.pk]


def test_a_replayed_callback_answers_200_and_changes_nothing(channel, client, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000002", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    assert disbursement.status == "sent"  # 0002: the bank does not call back by itself
    raw, headers = _signed({"reference": disbursement.reference, "status": "paid", "channel_reference": "B-1"})
    for _attempt in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/payments/callback", raw, content_type="application/json", **headers)
        assert (response.status_code, response.json()) == (200, {"reference": disbursement.reference, "status": "paid"})
    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.channel_reference) == ("paid", "B-1")
    assert _events(disbursement) == [("sent", "accepted", False), ("callback", "paid", False),
                                     ("callback", "paid", True)]
    assert transitions_for(disbursement).count() == 3
    assert SETTLED == [drawdown.pk]
    # A late contradicting "failed" changes nothing either.
    raw, headers = _signed({"reference": disbursement.reference, "status": "failed"})
    assert client.post("/api/v1/payments/callback", raw, content_type="application/json", **headers).status_code == 200
    disbursement.refresh_from_db()
    assert disbursement.status == "paid" and SETTLED == [drawdown.pk]


@pytest.mark.parametrize("tamper", ["unsigned", "forged", "wrong_secret", "unknown_channel", "stale"])
def test_unsigned_or_forged_callbacks_are_refused_and_change_nothing(channel, client, tamper,
                                                                      django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000002", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    body = {"reference": disbursement.reference, "status": "paid"}
    raw, headers = _signed(body, secret="other" if tamper == "wrong_secret" else "test-secret-123",
                           timestamp=str(int(time.time()) - 3600) if tamper == "stale" else None,
                           channel="nope" if tamper == "unknown_channel" else "sandbox")
    if tamper == "unsigned":
        del headers["HTTP_X_CF_SIGNATURE"]
    if tamper == "forged":
        raw = json.dumps({**body, "status": "failed"}).encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/v1/payments/callback", raw, content_type="application/json", **headers)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    disbursement.refresh_from_db()
    assert disbursement.status == "sent" and SETTLED == []
    assert _events(disbursement) == [("sent", "accepted", False), ("callback_refused", "timestamp" if tamper == "stale"
                                                                   else "signature", False)]


def test_a_signed_callback_with_bad_fields_is_400_naming_them(channel, client, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000002", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    raw, headers = _signed({"reference": disbursement.reference, "status": "done", "failure_code": 5})
    response = client.post("/api/v1/payments/callback", raw, content_type="application/json", **headers)
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"status", "failure_code"}
    raw, headers = _signed({"reference": "PAY-NOPE", "status": "paid"})
    response = client.post("/api/v1/payments/callback", raw, content_type="application/json", **headers)
    assert response.status_code == 400 and set(response.json()["errors"]) == {"reference"}
    disbursement.refresh_from_db()
    assert disbursement.status == "sent"


def test_account_0001_is_refused_by_the_bank(channel, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000001", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    disbursement.refresh_from_db()
    assert (disbursement.status, disbursement.failure_code) == ("failed", "ACCOUNT_REFUSED")
    assert disbursement.failure_message == "The beneficiary bank refused the transfer (sandbox)."
    assert _events(disbursement) == [("sent", "accepted", False), ("callback", "failed", False)]
    assert SETTLED == [drawdown.pk]


def test_account_0002_never_calls_back_and_the_query_says_paid(channel, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000002", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    assert disbursement.status == "sent" and SETTLED == []
    with django_capture_on_commit_callbacks(execute=True):
        disbursement = disbursement_query(disbursement=disbursement)
        disbursement_query(disbursement=disbursement)  # settled: the channel is not asked again
    assert disbursement.status == "paid"
    assert _events(disbursement) == [("sent", "accepted", False), ("query", "paid", False)]
    assert SETTLED == [drawdown.pk]


def test_account_0003_times_out_then_the_query_says_failed(channel, django_capture_on_commit_callbacks):
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000003", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    assert disbursement.status == "sent"
    again = _send(drawdown, django_capture_on_commit_callbacks)  # a retry after the timeout: same reference
    assert SandboxBankTransfer.objects.get().received == 2
    with django_capture_on_commit_callbacks(execute=True):
        again = disbursement_query(disbursement=again)
    assert (again.status, again.failure_code) == ("failed", "TIMEOUT")
    assert _events(again) == [("send_failed", "timeout", False), ("send_failed", "timeout", False),
                              ("query", "failed", False)]
    assert [t.to_state for t in transitions_for(again)][::-1] == ["prepared", "sent", "failed"]
    assert SETTLED == [drawdown.pk]


def test_an_unavailable_channel_takes_nothing_and_a_later_send_pays(channel, django_capture_on_commit_callbacks):
    channel.failure_rate_percent = Decimal("100")
    channel.save()
    drawdown = make_drawdown(amount="20000.00", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    assert disbursement.status == "prepared" and SandboxBankTransfer.objects.count() == 0
    channel.failure_rate_percent = Decimal("0")
    channel.save()
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    disbursement.refresh_from_db()
    assert disbursement.status == "paid"
    assert _events(disbursement) == [("send_failed", "unavailable", False), ("sent", "accepted", False),
                                     ("callback", "paid", False)]


def test_without_the_settled_task_registered_confirming_still_works(channel, settings,
                                                                    django_capture_on_commit_callbacks):
    settings.SERVICING_DISBURSEMENT_SETTLED_TASK = "workflows.not_there"
    drawdown = make_drawdown(amount="20000.00", bank_account="6222020000000002", status="disbursing")
    disbursement = _send(drawdown, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = disbursement_confirm(reference=disbursement.reference, paid=True, source="query")
    assert confirmed.status == "paid" and SETTLED == []

