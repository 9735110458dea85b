"""The full ledger check (``manage.py ledger_check``, the nightly task): besides ``reconcile()``,
each loan's receivables against its schedule's unpaid amounts and each line's used against what
its loans drew less what was repaid. A consistent book passes; each kind of break fails naming the
loan or line, the first (lowest id) first."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from servicing.models import CreditLine, Installment, LedgerCheckRun, Loan, LoanPart
from servicing.services.calendar import business_date_set
from servicing.services.ledger import ledger_accrue_aggregate
from servicing.services.ledger_checks import ledger_check
from servicing.services.loans import loan_book
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def _drawn(loan):
    """What the drawdown flow does at disbursement (``line_draw``): the line's used += the amount."""
    CreditLine.objects.filter(pk=loan.credit_line_id).update(used=F("used") + loan.principal)
    return loan


def _accrue(loan, amount):
    """What the close does for the first installment: interest accrued on the installment, the loan
    and its (single) part, and the aggregated entry — a consistent book."""
    Installment.objects.filter(loan=loan, number=1).update(interest_accrued=F("interest_accrued") + amount)
    Loan.objects.filter(pk=loan.pk).update(interest_receivable=F("interest_receivable") + amount)
    part = loan.parts.get()
    LoanPart.objects.filter(pk=part.pk).update(interest_receivable=F("interest_receivable") + amount)
    ledger_accrue_aggregate(business_date=DAY, kind="accrual", chunk=f"l{loan.pk}",
                            totals={(part.funder, loan.product_version.product): amount})


@pytest.fixture
def book():
    first = _drawn(loan_book(drawdown=make_drawdown(line=make_line(sequence="201"), amount=D("20000.00"))))
    second = _drawn(loan_book(drawdown=make_drawdown(line=make_line(sequence="202", revolving=False),
                                                     amount=D("12000.00"), term=6)))
    _accrue(first, D("3.89"))
    _accrue(second, D("1.17"))
    return first, second


def _found(differences):
    return [(d.check, d.subject, d.detail.get("balance", ""), d.expected, d.actual) for d in differences]


def test_a_consistent_book_passes(book):
    assert ledger_check() == []


def test_a_tampered_loan_balance_fails_naming_the_loan(book):
    first, second = book
    with connection.cursor() as cursor:  # a raw UPDATE on the sub-ledger, loan and part alike
        cursor.execute("UPDATE servicing_loan SET interest_receivable = interest_receivable + 0.01 WHERE id = %s",
                       [second.pk])
        cursor.execute("UPDATE servicing_loanpart SET interest_receivable = interest_receivable + 0.01 "
                       "WHERE loan_id = %s", [second.pk])
    found = _found(ledger_check())
    assert ("loan_schedule", second.number, "interest_receivable", D("1.17"), D("1.18")) in found
    assert [row[:2] for row in found if row[0] == "loan_schedule"] == [("loan_schedule", second.number)]


def test_an_installment_paid_part_out_of_line_fails_naming_the_loan_and_the_line(book):
    first, _second = book
    Installment.objects.filter(loan=first, number=2).update(principal_paid=D("100.00"))
    assert _found(ledger_check()) == [
        ("loan_schedule", first.number, "principal_outstanding", D("19900.00"), D("20000.00")),
        ("line_used", f"CL{first.credit_line_id:08d}", "", D("19900.00"), D("20000.00")),
    ]


def test_a_line_used_out_of_line_fails_naming_the_line(book):
    first, second = book
    CreditLine.objects.filter(pk=second.credit_line_id).update(used=D("11000.00"))
    assert _found(ledger_check()) == [("line_used", f"CL{second.credit_line_id:08d}", "", D("12000.00"),
                                       D("11000.00"))]


def test_a_revolving_lines_used_is_drawn_less_repaid_a_one_off_lines_everything_drawn(book):
    first, second = book
    # A repayment of 500.00 principal on each loan, as the repayment service leaves it (ledger aside).
    for loan in book:
        Installment.objects.filter(loan=loan, number=1).update(principal_paid=D("500.00"))
        Loan.objects.filter(pk=loan.pk).update(principal_outstanding=F("principal_outstanding") - D("500.00"))
        LoanPart.objects.filter(loan=loan).update(principal_outstanding=F("principal_outstanding") - D("500.00"))
    found = [d for d in ledger_check() if d.check in ("line_used", "loan_schedule")]
    # The revolving line still counts the repaid principal as used: it should have been given back.
    assert _found(found) == [("line_used", f"CL{first.credit_line_id:08d}", "", D("19500.00"), D("20000.00"))]
    CreditLine.objects.filter(pk=first.credit_line_id).update(used=D("19500.00"))
    assert [d for d in ledger_check() if d.check in ("line_used", "loan_schedule")] == []


def test_fees_count_from_their_due_date(book):
    first, _second = book
    Installment.objects.filter(loan=first, number=1).update(fee=D("15.00"))
    assert ledger_check() == []  # not yet due: nothing receivable
    due = Installment.objects.get(loan=first, number=1).due_date
    assert _found(ledger_check(business_date=due)) == [
        ("loan_schedule", first.number, "fee_receivable", D("15.00"), D("0.00"))]


def test_the_command_exits_1_naming_the_first_offending_loan(book, capsys, monkeypatch):
    from django.core.management import base, execute_from_command_line

    monkeypatch.setattr(base.connections, "close_all", lambda: None)  # the test's transaction stays open
    first, second = book
    execute_from_command_line(["manage.py", "ledger_check"])
    assert "Ledger check passed" in capsys.readouterr().out
    for loan in (second, first):
        Installment.objects.filter(loan=loan, number=1).update(interest_paid=D("1.00"))
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "ledger_check"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"loan_schedule {first.number}: expected 2.89, found 3.89",
                                f"loan_schedule {second.number}: expected 0.17, found 1.17"]
    assert f"Ledger check failed: 2 difference(s); first: loan_schedule {first.number}" in err


def test_the_nightly_task_records_the_run_and_logs_each_difference(book, caplog):
    from servicing.tasks import ledger_check as task

    first, _second = book
    result = task.apply().get()
    assert result["passed"] is True and result["differences"] == []
    Loan.objects.filter(pk=first.pk).update(penalty_receivable=D("2.00"))
    result = task.apply().get()
    assert result["passed"] is False
    assert result["differences"][:2] == [f"loan_parts {first.number}: expected 2.00, found 0.00",
                                         f"loan_schedule {first.number}: expected 0.00, found 2.00"]
    run = LedgerCheckRun.objects.get(pk=result["run"])
    assert (run.passed, run.difference_count, run.business_date) == (False, 2, DAY)
    assert run.first_difference == f"loan_parts {first.number}: expected 2.00, found 0.00"
    # The alert: one error per difference (the log masks the loan number).
    assert [r.levelname for r in caplog.records if r.name == "servicing.ledger"] == ["ERROR", "ERROR"]
    assert "loan_schedule" in [r for r in caplog.records if r.name == "servicing.ledger"][1].getMessage()
    assert LedgerCheckRun.objects.filter(passed=True).count() == 1


def test_the_books_agree_after_the_daily_close_through_a_due_date_and_overdue_days():
    """The real close (interest landing exactly on the due date, overdue, penalty after grace, the
    fee falling due) leaves each loan's receivables equal to its schedule's unpaid amounts."""
    from servicing.services.close import close_day

    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    colent = _drawn(loan_book(drawdown=make_drawdown(line=make_line(sequence="401"), amount=D("20000.00"),
                                                     funders=[(a, D(30)), (b, D(70))])))
    Installment.objects.filter(loan=colent, number=1).update(fee=D("5.00"))
    single = _drawn(loan_book(drawdown=make_drawdown(line=make_line(sequence="402"), amount=D("9000.00"), term=6)))
    due = Installment.objects.get(loan=colent, number=1).due_date
    close_day(until=due + datetime.timedelta(days=10))
    colent.refresh_from_db()
    assert colent.days_past_due == 11 and colent.penalty_receivable > 0 and colent.interest_receivable > D("116")
    # The installment's fee fell due at the start of its due date (Dr fee receivable / Cr fee income).
    assert colent.fee_receivable == D("5.00")
    assert ledger_check() == []
    single.refresh_from_db()
    assert single.interest_receivable > 0 and single.accrued_through == colent.accrued_through
