"""The daily close (日终) on a real Celery worker process against Redis and PostgreSQL.

Six loans booked in the past (two current, three overdue, one of them co-lent 30/70), caught up
to the close of 2027-03-09 in process; then the close of 2027-03-10 runs on the worker:

1. the books and the loans are as the conventions say (docs/servicing.md), and the command
   ``close_day --date 2027-03-10`` afterwards changes nothing (entry count and a checksum of
   every loan, installment and part balance);
2. the worker is killed (SIGKILL) with the close half done — the first chunk committed, the next
   one taken and waiting — and a new worker resumes the run: the books are identical to a clean
   close of the same loans;
3. a repayment racing the close: it holds its loan while the chunk with that loan starts; the
   chunk waits for it (``servicing.locks.loans_lock_range`` locks the range in id order), then
   closes the loan as repaid — no update lost, the books check.

The worker fixture is the drawdown end-to-end test's (``tests/test_e2e_drawdown.py``): a private
queue, this process sends there too; ``CLOSE_CHUNK_SIZE`` reaches the worker through its
environment.
"""

import datetime
import hashlib
import signal
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from servicing.models import CloseChunk, CloseRun, Installment, JournalEntry, JournalLine, Loan, LoanPart
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_date, close_day
from servicing.services.ledger_checks import ledger_check
from servicing.services.repayments.posting import repayment_post
from servicing.services.repayments.quotes import loan_quote
from servicing.tasks import close_day_task
from tests.servicing.repayment_factories import make_funders, make_loan
from tests import test_e2e_drawdown, test_e2e_origination
from tests.test_e2e_origination import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# the fixtures that start workers (a private queue on TEST_REDIS_URL)
redis_url = test_e2e_origination.redis_url
workers = test_e2e_drawdown.workers

D = Decimal
DAY = datetime.date(2027, 3, 10)
CHUNK = 2  # loans per chunk: six loans, three chunks


def _portfolio() -> list[Loan]:
    """Six loans in id order, booked in the past and closed through DAY − 1 in process."""
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    bank_a, bank_b = make_funders()
    loans = [
        make_loan(amount=D("20000.00"), term=12, value_date=datetime.date(2026, 12, 4)),  # overdue since 01-04
        make_loan(amount=D("10000.00"), term=6, value_date=datetime.date(2027, 2, 20)),  # current
        make_loan(amount=D("40000.00"), term=12, value_date=datetime.date(2027, 1, 15),  # co-lent, overdue
                  funders=[(bank_a, D(30)), (bank_b, D(70))]),
        make_loan(amount=D("15000.00"), term=6, method="equal_principal",  # current
                  value_date=datetime.date(2027, 3, 1)),
        make_loan(amount=D("12000.00"), term=12, value_date=datetime.date(2027, 2, 10)),  # due on DAY itself
        make_loan(amount=D("30000.00"), term=24, value_date=datetime.date(2027, 1, 20)),  # overdue since 02-20
    ]
    business_date_set(date=DAY - datetime.timedelta(days=1), reason="test")
    close_day()  # the first close catches each loan up from its value date
    assert business_date() == DAY
    return loans


def books() -> tuple:
    """The ledger (entries by reference with their lines) and every balance the close writes,
    without ids or timestamps: equal for two closes that did the same."""
    entries = sorted(JournalEntry.objects.values_list("reference", "kind", "business_date", "loan_id",
                                                      "funder_id", "product_id"))
    lines = sorted(JournalLine.objects.values_list("entry__reference", "account__number", "debit", "credit"))
    loans = list(Loan.objects.order_by("id").values_list(
        "id", "status", "days_past_due", "next_due_date", "principal_outstanding", "interest_receivable",
        "penalty_receivable", "fee_receivable", "credit_balance", "accrued_through", "penalty_through",
        "closed_through"))
    installments = list(Installment.objects.order_by("id").values_list(
        "id", "status", "interest_accrued", "penalty_accrued", "principal_paid", "interest_paid", "penalty_paid"))
    parts = list(LoanPart.objects.order_by("id").values_list(
        "id", "principal_outstanding", "interest_receivable", "penalty_receivable"))
    return entries, lines, loans, installments, parts


def checksum(state: tuple) -> str:
    return hashlib.sha256(repr(state[2:]).encode()).hexdigest()


def _closed(day: datetime.date):
    return CloseRun.objects.filter(business_date=day, status="succeeded").exists()


def _snapshot_loans(loans) -> list:
    return [(loan.status, loan.days_past_due, loan.interest_receivable, loan.penalty_receivable)
            for loan in Loan.objects.filter(pk__in=[loan.pk for loan in loans]).order_by("id")]


@pytest.fixture
def portfolio(monkeypatch, settings):
    monkeypatch.setenv("CLOSE_CHUNK_SIZE", str(CHUNK))  # read by the worker's settings
    settings.CLOSE_CHUNK_SIZE = CHUNK
    return _portfolio()


def _clean_close() -> tuple:
    """The books after a clean in-process close of DAY, rolled back: the reference a worker's
    close must reproduce exactly."""
    state = None
    try:
        with transaction.atomic():
            close_date(business_date=DAY)
            state = books()
            raise _RollBack
    except _RollBack:
        pass
    assert business_date() == DAY and not CloseRun.objects.filter(business_date=DAY).exists()
    return state


class _RollBack(Exception):
    pass


def test_a_close_on_the_worker_books_what_the_conventions_say_and_a_re_run_changes_nothing(
        workers, portfolio, capsys):
    loans = portfolio
    before = {loan.pk: loan.interest_receivable for loan in Loan.objects.all()}
    worker = workers()
    close_day_task.delay(until=DAY.isoformat())
    wait_for(lambda: _closed(DAY), "the close of 2027-03-10", worker)
    run = CloseRun.objects.get(business_date=DAY)
    assert (run.chunks_total, run.chunks_done, run.chunks_failed, run.advanced) == (3, 3, 0, True)
    assert business_date() == DAY + datetime.timedelta(days=1)
    # (status, DPD, interest receivable, penalty receivable) after the close of 2027-03-10
    assert _snapshot_loans(loans) == [
        ("overdue", 66, D("341.63"), D("2.84")),  # due 01-04, 02-04, 03-04 unpaid: DPD = 03-11 − 01-04
        ("active", 0, D("39.58"), D("0.00")),
        ("overdue", 24, D("417.19"), D("1.88")),  # co-lent, due 02-15 unpaid
        ("active", 0, D("28.23"), D("0.00")),
        ("overdue", 1, D("72.08"), D("0.00")),  # due on 03-10 itself, unpaid at its close; within grace
        ("overdue", 19, D("289.13"), D("0.68")),  # due 02-20 unpaid
    ]
    co_lent = dict(LoanPart.objects.filter(loan=loans[2]).values_list("funder__code", "interest_receivable"))
    assert co_lent == {"bank-a": D("125.16"), "bank-b": D("292.03")}  # 30 % rounded, the lead the rest
    # one accrual entry per funder × product and chunk; its amount is what the loans accrued
    accrued = sum(loan.interest_receivable - before[loan.pk] for loan in Loan.objects.all())
    entries = JournalEntry.objects.filter(business_date=DAY, kind="accrual")
    assert entries.count() == 5  # own × 3 chunks, bank-a and bank-b in the co-lent loan's chunk
    assert sum(JournalLine.objects.filter(entry__in=entries).values_list("debit", flat=True)) == accrued
    assert JournalEntry.objects.filter(business_date=DAY, kind="penalty").count() == 4
    assert ledger_check() == []

    state = books()
    counted = (JournalEntry.objects.count(), JournalLine.objects.count())
    call_command("close_day", "--date", DAY.isoformat())
    assert "rows_written=0" in capsys.readouterr().out
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == counted
    assert checksum(books()) == checksum(state)
    assert books() == state
    assert business_date() == DAY + datetime.timedelta(days=1)


def _hold_loan(loan_id: int, *, post=None):
    """A thread holding the loan's row lock (as a repayment does) until ``release`` is set;
    ``post`` runs inside that transaction first (a repayment being posted)."""
    held, release, errors = threading.Event(), threading.Event(), []

    def hold():
        try:
            with transaction.atomic():
                if post is not None:
                    post()
                else:
                    list(Loan.objects.select_for_update().filter(pk=loan_id))
                held.set()
                release.wait(60)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            held.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(30) and not errors, errors
    return thread, release, errors


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_close_is_resumed_by_the_next_one_with_the_books_of_a_clean_close(
        workers, portfolio):
    loans = portfolio
    clean = _clean_close()
    # the second chunk's first loan is held: the worker commits chunk 1, takes chunk 2 and waits
    thread, release, errors = _hold_loan(loans[2].pk)
    first = workers()
    close_day_task.delay(until=DAY.isoformat())
    wait_for(lambda: CloseChunk.objects.filter(run__business_date=DAY, stage="close", status="done").count() == 1
             and CloseChunk.objects.filter(run__business_date=DAY, stage="close", seq=2, attempts=1).exists()
             and _waiting_on_a_lock(), "chunk 2 taken and waiting", first)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=15)
    release.set()
    thread.join()
    assert not errors
    run = CloseRun.objects.get(business_date=DAY)
    assert (run.status, run.chunks_done, business_date()) == ("running", 1, DAY)
    assert JournalEntry.objects.filter(business_date=DAY).count() == 2  # chunk 1's entries only

    second = workers()
    close_day_task.delay(until=DAY.isoformat())  # starting the date again resumes its run
    wait_for(lambda: _closed(DAY), "the resumed close", second)
    assert CloseRun.objects.filter(business_date=DAY).count() == 1
    assert list(CloseChunk.objects.filter(run=run, stage="close").order_by("seq").values_list(
        "seq", "status", "attempts")) == [(1, "done", 1), (2, "done", 2), (3, "done", 1)]
    assert books() == clean
    assert business_date() == DAY + datetime.timedelta(days=1)
    assert ledger_check() == []


def test_a_repayment_racing_the_close_is_not_lost(workers, portfolio):
    loans = portfolio
    loan = loans[0]  # overdue: three installments due and unpaid
    quote = loan_quote(loan=loan, kind="regular")
    assert (quote.payable, quote.penalty) == (D("5193.01"), D("1.42"))

    def pay():
        repayment_post(loan=Loan.objects.get(pk=loan.pk), amount=quote.payable, reference="race-1")

    # the repayment is being posted (its loan locked, not committed) when the close starts
    thread, release, errors = _hold_loan(loan.pk, post=pay)
    worker = workers()
    close_day_task.delay(until=DAY.isoformat())
    wait_for(_waiting_on_a_lock, "the close to wait for the repayment", worker)
    assert not CloseChunk.objects.filter(run__business_date=DAY, seq=1, stage="close", status="done").exists()
    release.set()
    thread.join()
    assert not errors, errors
    wait_for(lambda: _closed(DAY), "the close", worker)
    loan.refresh_from_db()
    # the close saw the repayment: nothing overdue at the close of 03-10, no penalty for that day,
    # the fourth installment's interest accrued on top of what the repayment left
    fourth = Installment.objects.get(loan=loan, number=4)
    assert (loan.status, loan.days_past_due, loan.penalty_receivable, fourth.interest) == (
        "active", 0, D("0.00"), D("88.26"))
    assert loan.interest_receivable == fourth.interest_accrued == D("19.93")  # round(88.26 × 7 / 31)
    assert loan.principal_outstanding == sum(i.principal - i.principal_paid for i in loan.installments.all())
    assert list(loan.installments.filter(number__lte=3).values_list("status", flat=True)) == ["paid"] * 3
    assert ledger_check() == []
