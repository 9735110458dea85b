"""Exactly once under concurrency: threads on their own PostgreSQL connections booking the same
drawdown, or posting the same reference, write one loan and one set of entries."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from servicing.models import Installment, JournalEntry, JournalLine, Loan, LoanPart
from servicing.services.calendar import business_date_set
from servicing.services.ledger import Posting, funder_account, ledger_post, reconcile
from servicing.services.loans import loan_book
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 6


def _run_all(work):
    barrier = threading.Barrier(THREADS)

    def run(_i):
        try:
            barrier.wait(timeout=30)
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(run, range(THREADS)))


def test_booking_a_drawdown_or_posting_a_reference_from_many_threads_writes_once():
    """One test, not two: each transactional test reloads the serialized database (slow)."""
    business_date_set(date=datetime.date(2026, 12, 4))
    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    drawdown = make_drawdown(line=make_line(), funders=[(a, Decimal(30)), (b, Decimal(70))])
    loans = _run_all(lambda: loan_book(drawdown=drawdown).pk)
    assert len(set(loans)) == 1
    assert (Loan.objects.count(), LoanPart.objects.count(), Installment.objects.count(),
            JournalEntry.objects.count(), JournalLine.objects.count()) == (1, 2, 12, 2, 4)
    assert reconcile() == []

    funder = make_funder()
    postings = [Posting(funder_account(funder=funder, kind="principal_receivable"), debit=Decimal("5.00")),
                Posting(funder_account(funder=funder, kind="settlement"), credit=Decimal("5.00"))]
    day = datetime.date(2026, 12, 4)
    entries = _run_all(lambda: ledger_post(kind="disbursement", reference="LN1/disbursement/own", business_date=day,
                                           postings=postings).pk)
    assert len(set(entries)) == 1
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == (3, 6)
