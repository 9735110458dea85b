"""Scheduled debit (代扣) through the sandbox bank: asked on the due date and on retry days, the
signed callback posts what was collected; account triggers 0004 (insufficient funds: every debit
fails, disbursements succeed) and 0005 (half is paid). close_like stands in for the daily close
until it is on main."""

import datetime
import json
import time
from decimal import Decimal

import pytest

from servicing.channels.signing import callback_signature
from servicing.models import CollectionDebit, PaymentChannel, Repayment, SandboxBankTransfer
from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from servicing.services.repayments import collection_request
from tests.servicing.funding_factories import make_channel
from tests.servicing.repayment_factories import close_through, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
DUE1 = datetime.date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _setup():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    make_channel()


def _loan(account="6222021234567890128"):
    loan = make_loan()
    drawdown = loan.drawdown
    drawdown.bank_account = account
    drawdown.save(update_fields=["bank_account"])
    close_through(DUE1 - datetime.timedelta(days=1))
    return loan


def test_the_due_installment_is_debited_and_the_callback_posts_it(django_capture_on_commit_callbacks):
    loan = _loan()
    assert collection_request(loan=loan, business_date=DUE1 - datetime.timedelta(days=1)) is None  # nothing due
    with django_capture_on_commit_callbacks(execute=True):
        debit = collection_request(loan=loan, business_date=DUE1)
    debit.refresh_from_db()
    assert (debit.reference, debit.amount, debit.status, debit.collected) == (
        f"DEBIT-{loan.number}-20270104-1", D("1730.53"), "paid", D("1730.53"))
    repayment = debit.repayment
    assert (repayment.source, repayment.reference, repayment.interest, repayment.principal) == (
        "collection", debit.reference, D("116.67"), D("1613.86"))
    assert loan.installments.get(number=1).status == "paid"
    # Asked again the same day: the same debit, nothing more.
    assert collection_request(loan=loan, business_date=DUE1) == debit
    assert (CollectionDebit.objects.count(), Repayment.objects.count()) == (1, 1)
    assert reconcile() == []


def test_an_account_ending_0004_has_insufficient_funds_on_the_due_date_and_each_retry(
        django_capture_on_commit_callbacks):
    loan = _loan("6222021234560004")
    with django_capture_on_commit_callbacks(execute=True):
        debit = collection_request(loan=loan, business_date=DUE1)
    debit.refresh_from_db()
    assert (debit.status, debit.failure_code, debit.collected, debit.repayment) == (
        "failed", "INSUFFICIENT_FUNDS", D("0"), None)
    close_through(DUE1)
    with django_capture_on_commit_callbacks(execute=True):  # retry day 1 of [1, 3, 7]
        retry = collection_request(loan=loan, business_date=DUE1 + datetime.timedelta(days=1))
    retry.refresh_from_db()
    assert (retry.reference, retry.status) == (f"DEBIT-{loan.number}-20270105-1", "failed")
    close_through(DUE1 + datetime.timedelta(days=1))
    assert collection_request(loan=loan, business_date=DUE1 + datetime.timedelta(days=2)) is None  # no retry day
    assert Repayment.objects.count() == 0
    assert reconcile() == []


def test_an_account_ending_0005_pays_half(django_capture_on_commit_callbacks):
    loan = _loan("6222021234560005")
    with django_capture_on_commit_callbacks(execute=True):
        debit = collection_request(loan=loan, business_date=DUE1)
    debit.refresh_from_db()
    assert (debit.status, debit.amount, debit.collected) == ("partial", D("1730.53"), D("865.26"))
    assert (debit.repayment.interest, debit.repayment.principal) == (D("116.67"), D("748.59"))
    assert SandboxBankTransfer.objects.get(reference=debit.reference).direction == "debit"
    assert reconcile() == []


def test_a_forged_debit_callback_is_refused_and_posts_nothing(client):
    loan = _loan()
    debit = CollectionDebit.objects.create(loan=loan, channel=PaymentChannel.objects.get(), reference="DEBIT-X-1", business_date=DUE1, amount=D("1730.53"), status="sent")
    body = json.dumps({"reference": debit.reference, "status": "paid", "amount": "1730.53"}).encode()
    timestamp = str(int(time.time()))
    forged = client.post("/api/v1/payments/callback", data=body, content_type="application/json",
                         headers={"X-CF-Channel": "sandbox", "X-CF-Timestamp": timestamp,
                                  "X-CF-Signature": callback_signature(secret="wrong", timestamp=timestamp, body=body)})
    assert forged.status_code == 401
    assert Repayment.objects.count() == 0
    signed = client.post("/api/v1/payments/callback", data=body, content_type="application/json",
                         headers={"X-CF-Channel": "sandbox", "X-CF-Timestamp": timestamp,
                                  "X-CF-Signature": callback_signature(secret="test-secret-123", timestamp=timestamp,
                                                                       body=body)})
    assert (signed.status_code, signed.json()) == (200, {"reference": "DEBIT-X-1", "status": "paid"})
    again = client.post("/api/v1/payments/callback", data=body, content_type="application/json",
                        headers={"X-CF-Channel": "sandbox", "X-CF-Timestamp": timestamp,
                                 "X-CF-Signature": callback_signature(secret="test-secret-123", timestamp=timestamp,
                                                                      body=body)})
    assert again.status_code == 200 and Repayment.objects.count() == 1
    assert reconcile() == []
