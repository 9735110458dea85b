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


def _tasks_run(names: list[str]):
    from celery.signals import task_prerun

    def record(sender=None, args=None, **kwargs):
        names.append((sender.name, args))

    task_prerun.connect(record, weak=False)
    return lambda: task_prerun.disconnect(record)


@pytest.mark.parametrize("size, batches", [(2, 2), (100, 1)])
def test_the_scheduled_debits_go_out_in_batches_of_loans(size, batches, settings,
                                                         django_capture_on_commit_callbacks):
    settings.CLOSE_DEBIT_BATCH_SIZE = size
    business_date_set(date=START, reason="test")
    make_channel()
    loans = [make_loan(), make_loan(amount=D("10000.00")), make_loan(amount=D("30000.00"))]
    _close_until(DUE1 - datetime.timedelta(days=2))
    ran: list = []
    stop = _tasks_run(ran)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            close_date(business_date=DUE1 - datetime.timedelta(days=1))
    finally:
        stop()
    sent = [args for name, args in ran if name == "servicing.collection_request_batch"]
    assert len(sent) == batches
    assert sorted(loan for loan_ids, _date in sent for loan in loan_ids) == sorted(loan.pk for loan in loans)
    assert not [name for name, _args in ran if name == "servicing.collection_request"]  # none alone
    assert sorted(CollectionDebit.objects.values_list("loan_id", "status")) == sorted(
        (loan.pk, "paid") for loan in loans)


def test_a_loan_whose_debit_request_raises_is_retried_alone_and_the_batch_goes_on(monkeypatch):
    from servicing.services.repayments import collection as collection_module
    from servicing.tasks import collection_request_batch_task

    business_date_set(date=START, reason="test")
    make_channel()
    first, second = make_loan(), make_loan(amount=D("10000.00"))
    _close_until(DUE1 - datetime.timedelta(days=2))
    business_date_set(date=DUE1, reason="test")
    real = collection_module.collection_request
    calls = []

    def flaky(*, loan, business_date, force=False):
        calls.append(loan.pk)
        if loan.pk == first.pk and calls.count(first.pk) == 1:
            raise RuntimeError("the channel adapter crashed")  # a fault, once
        return real(loan=loan, business_date=business_date, force=force)

    monkeypatch.setattr(collection_module, "collection_request", flaky)
    outcome = collection_request_batch_task.apply(args=[[first.pk, second.pk], DUE1.isoformat()]).get()
    assert outcome == {"requeued": 1, "sent": 1}  # asked of the bank; its callback comes after commit
    assert calls == [first.pk, first.pk, second.pk]  # eager: the first, requeued alone, ran again at once
    assert sorted(CollectionDebit.objects.values_list("loan_id", flat=True)) == sorted([first.pk, second.pk])
