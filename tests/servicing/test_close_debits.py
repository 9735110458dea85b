"""The start of a due date in the daily close: a credit balance (溢缴款) is applied to the
installment falling due, and the scheduled debit (代扣) of what remains is asked of the payment
channel — once per loan and date, a re-run of the close asks nothing again; a re-run of an
earlier date applies and asks nothing."""

import datetime
from decimal import Decimal

import pytest

from servicing.models import CollectionDebit, Loan, Repayment
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_date
from servicing.services.ledger_checks import ledger_check
from servicing.services.repayments import repayment_post
from tests.servicing.funding_factories import make_channel
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

D = Decimal
START, DUE1 = datetime.date(2026, 12, 4), datetime.date(2027, 1, 4)


def _close_until(last: datetime.date) -> None:
    while business_date() <= last:
        close_date(business_date=business_date())


def test_a_credit_balance_pays_the_installment_falling_due():
    business_date_set(date=START, reason="test")
    loan = make_loan()  # 20,000.00, 12 months at 7 %: installment 1 = 1,730.53 due 2027-01-04
    repayment_post(loan=loan, amount=D("2000.00"), reference="EARLY-1")  # nothing payable yet: all held
    loan.refresh_from_db()
    assert loan.credit_balance == D("2000.00")
    _close_until(DUE1 - datetime.timedelta(days=1))  # its start of day is 2027-01-04's
    loan.refresh_from_db()
    applied = Repayment.objects.get(loan=loan, reference="credit-2027-01-04")
    assert (applied.source, applied.amount, applied.value_date) == ("credit_balance", D("1730.53"), DUE1)
    assert (applied.interest, applied.principal) == (D("116.67"), D("1613.86"))
    assert loan.credit_balance == D("269.47")
    assert loan.installments.get(number=1).status == "paid"
    assert ledger_check() == []
    close_date(business_date=DUE1 - datetime.timedelta(days=1))  # a re-run of the date: nothing again
    assert Repayment.objects.filter(loan=loan, source="credit_balance").count() == 1


def test_the_close_asks_the_scheduled_debit_on_the_due_date_once(django_capture_on_commit_callbacks):
    business_date_set(date=START, reason="test")
    make_channel()
    loan = make_loan()
    other = make_loan(amount=D("10000.00"))  # paid before its due date: no debit
    _close_until(DUE1 - datetime.timedelta(days=2))
    repayment_post(loan=other, amount=D("900.00"), reference="EARLY-2")  # more than its 865.27 falls due
    with django_capture_on_commit_callbacks(execute=True):
        close_date(business_date=DUE1 - datetime.timedelta(days=1))
    debit = CollectionDebit.objects.get(loan=loan)
    debit.refresh_from_db()
    assert (debit.business_date, debit.amount, debit.status, debit.collected) == (
        DUE1, D("1730.53"), "paid", D("1730.53"))  # the sandbox bank pays it; its callback posts it
    assert Loan.objects.get(pk=loan.pk).installments.get(number=1).status == "paid"
    assert not CollectionDebit.objects.filter(loan=other).exists()
    with django_capture_on_commit_callbacks(execute=True):
        close_date(business_date=DUE1 - datetime.timedelta(days=1))  # re-run: no second debit
    assert CollectionDebit.objects.count() == 1
    assert ledger_check() == []
