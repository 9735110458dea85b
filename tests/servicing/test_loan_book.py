"""Booking a loan from a disbursed drawdown: the loan, its schedule from the engine at the line's
rate, its funding parts, its journal entries and sub-ledger balances; idempotent; reconciled."""

import datetime
from decimal import Decimal

import pytest

from creditfactory.core.state import transitions_for
from servicing.models import CreditLine, Installment, JournalEntry, JournalLine, Loan, LoanPart
from servicing.services.calendar import business_date_set
from servicing.services.ledger import account_balance, funder_account, reconcile
from servicing.services.loans import LoanBookingError, loan_book
from tests.factories import make_product
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def test_a_20000_twelve_month_equal_installment_loan_at_the_lines_rate():
    line = make_line(rate_percent=D("7"))
    drawdown = make_drawdown(line=line, amount=D("20000.00"), term=12)
    loan = loan_book(drawdown=drawdown)
    assert loan.number == f"LN20261204{loan.pk:08d}"
    assert (loan.status, loan.principal, loan.value_date, loan.maturity_date, loan.rate_percent, loan.rate_basis,
            loan.day_count, loan.repayment_method, loan.term, loan.term_unit, loan.upfront_fee, loan.apr_percent) == (
        "active", D("20000.00"), DAY, datetime.date(2027, 12, 4), D("7.000000"), "annual", "ACT/360",
        "equal_installment", 12, "months", D("0.00"), D("6.999900"))
    assert (loan.credit_line, loan.applicant, loan.branch, loan.product_version) == (
        line, line.applicant, line.branch, line.product_version)
    assert (loan.principal_outstanding, loan.interest_receivable, loan.penalty_receivable, loan.fee_receivable,
            loan.next_due_date) == (D("20000.00"), D("0"), D("0"), D("0"), datetime.date(2027, 1, 4))
    rows = [(i.number, i.due_date, i.principal, i.interest, i.payment, i.remaining_principal, i.status)
            for i in loan.installments.all()]
    assert len(rows) == 12
    assert rows[0] == (1, datetime.date(2027, 1, 4), D("1613.86"), D("116.67"), D("1730.53"), D("18386.14"),
                       "pending")
    assert rows[11] == (12, datetime.date(2027, 12, 4), D("1720.54"), D("10.04"), D("1730.58"), D("0.00"),
                        "pending")
    assert sum(row[2] for row in rows) == D("20000.00") and sum(row[3] for row in rows) == D("766.41")
    [part] = loan.parts.all()
    assert (part.funder.code, part.share_percent, part.lead, part.principal, part.principal_outstanding) == (
        "own", D("100"), True, D("20000.00"), D("20000.00"))
    [entry] = loan.journal_entries.all()
    assert (entry.reference, entry.kind, entry.business_date, entry.funder.code, entry.product) == (
        f"{loan.number}/disbursement/own", "disbursement", DAY, "own", line.product_version.product)
    assert [(li.account.number, li.debit, li.credit) for li in entry.lines.all()] == [
        ("own-1301", D("20000.00"), D("0.00")), ("own-1002", D("0.00"), D("20000.00"))]
    assert [(t.from_state, t.to_state) for t in transitions_for(loan)] == [("", "active")]
    assert reconcile() == []


def test_booking_twice_returns_the_same_loan_and_writes_nothing_more():
    drawdown = make_drawdown(line=make_line())
    loan = loan_book(drawdown=drawdown)
    counts = (Loan.objects.count(), LoanPart.objects.count(), Installment.objects.count(),
              JournalEntry.objects.count(), JournalLine.objects.count())
    assert loan_book(drawdown=drawdown) == loan
    assert (Loan.objects.count(), LoanPart.objects.count(), Installment.objects.count(),
            JournalEntry.objects.count(), JournalLine.objects.count()) == counts == (1, 1, 12, 1, 2)


def test_a_30_70_co_lent_loan_splits_principal_and_fee_with_the_rounding_rest_on_the_lead():
    product = make_product("COLEND", upfront_fee_percent=D("1.5"))
    bank = make_funder("bank-a", kind="co_lender", cost_of_funds_percent=D("4.2"))
    partner_bank = make_funder("bank-b", kind="co_lender", cost_of_funds_percent=D("3.8"))
    line = make_line(product=product, rate_percent=D("7.2"))
    drawdown = make_drawdown(line=line, amount=D("20000.05"), term=6, repayment_method="equal_principal",
                             funders=[(bank, D(30)), (partner_bank, D(70))], value_date=datetime.date(2026, 12, 5))
    loan = loan_book(drawdown=drawdown)
    assert (loan.value_date, loan.upfront_fee, loan.principal_outstanding) == (
        datetime.date(2026, 12, 5), D("300.00"), D("20000.05"))
    assert [(p.funder.code, p.share_percent, p.lead, p.principal, p.principal_outstanding, p.rate_percent)
            for p in loan.parts.all()] == [
        ("bank-b", D("70.000000"), True, D("14000.03"), D("14000.03"), D("3.800000")),
        ("bank-a", D("30.000000"), False, D("6000.02"), D("6000.02"), D("4.200000"))]
    journal = [(e.reference.split("/", 1)[1], e.kind, [(li.account.number, li.debit, li.credit) for li in e.lines.all()])
               for e in loan.journal_entries.order_by("id")]
    assert journal == [
        ("disbursement/bank-b", "disbursement", [("bank-b-1301", D("14000.03"), D("0")), ("bank-b-1002", D("0"), D("14000.03"))]),
        ("upfront-fee/bank-b", "upfront_fee", [("bank-b-1002", D("210.00"), D("0")), ("bank-b-6021", D("0"), D("210.00"))]),
        ("disbursement/bank-a", "disbursement", [("bank-a-1301", D("6000.02"), D("0")), ("bank-a-1002", D("0"), D("6000.02"))]),
        ("upfront-fee/bank-a", "upfront_fee", [("bank-a-1002", D("90.00"), D("0")), ("bank-a-6021", D("0"), D("90.00"))]),
    ]
    # Per funder the books balance; net cash out = principal − fee.
    assert account_balance(account=funder_account(funder=partner_bank, kind="settlement")) == D("-13790.03")
    assert account_balance(account=funder_account(funder=bank, kind="settlement")) == D("-5910.02")
    assert account_balance(account=funder_account(funder=bank, kind="fee_income")) == D("90.00")
    assert reconcile() == []


def test_reconcile_names_a_loan_whose_sub_ledger_drifted():
    loan = loan_book(drawdown=make_drawdown(line=make_line()))
    Loan.objects.filter(pk=loan.pk).update(principal_outstanding=D("19999.99"))
    LoanPart.objects.filter(loan=loan).update(principal_outstanding=D("19999.99"))
    [difference] = reconcile()
    assert (difference.check, difference.subject, difference.expected, difference.actual) == (
        "control_account", "own-1301", D("19999.99"), D("20000.00"))
    Loan.objects.filter(pk=loan.pk).update(principal_outstanding=D("20000.00"))
    assert [(d.check, d.subject, d.expected, d.actual) for d in reconcile()] == [
        ("loan_parts", loan.number, D("20000.00"), D("19999.99")),
        ("control_account", "own-1301", D("19999.99"), D("20000.00"))]


def test_a_drawdown_without_funding_is_not_booked():
    drawdown = make_drawdown(line=make_line())
    drawdown.funding.all().delete()
    with pytest.raises(LoanBookingError, match="no funding"):
        loan_book(drawdown=drawdown)
    assert not Loan.objects.exists() and not JournalEntry.objects.exists()


def test_funding_parts_that_do_not_add_up_are_not_booked():
    drawdown = make_drawdown(line=make_line())
    drawdown.funding.update(principal=D("19999.99"))
    with pytest.raises(LoanBookingError, match="add up to 19999.99, not 20000.00"):
        loan_book(drawdown=drawdown)
    assert not Loan.objects.exists() and not JournalEntry.objects.exists()


def test_ledger_check_passes_on_booked_loans_and_exits_1_naming_the_difference(capsys, monkeypatch):
    from django.core.management import base, execute_from_command_line

    monkeypatch.setattr(base.connections, "close_all", lambda: None)  # the test's transaction stays open

    loan = loan_book(drawdown=make_drawdown(line=make_line()))
    CreditLine.objects.filter(pk=loan.credit_line_id).update(used=loan.principal)  # the flow's line_draw
    execute_from_command_line(["manage.py", "ledger_check"])
    assert "Ledger check passed" in capsys.readouterr().out
    LoanPart.objects.filter(loan=loan).update(interest_receivable=D("3.50"))
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "ledger_check"])
    assert exit_info.value.code == 1
    out, err = capsys.readouterr()
    assert f"loan_parts {loan.number}: expected 0.00, found 3.50" in out
    assert "control_account own-1302: expected 3.50, found 0" in out
    assert "Ledger check failed: 2 difference(s)" in err


def _accrue_one_day(day):
    """What the close does, set-based: add a day's interest to every part and its loan, then
    post one aggregated entry per funder × product (here the figures are read back from the parts)."""
    from django.db.models import F, Sum

    from creditfactory.core.money import quantize_fen
    from servicing.models import Funder
    from products.models import LoanProduct

    for part in LoanPart.objects.select_related("loan"):
        daily = quantize_fen(part.principal_outstanding * part.loan.rate_percent / 100 / 360)
        LoanPart.objects.filter(pk=part.pk).update(interest_receivable=F("interest_receivable") + daily)
        Loan.objects.filter(pk=part.loan_id).update(interest_receivable=F("interest_receivable") + daily)
    rows = (LoanPart.objects.values("funder", "loan__product_version__product")
            .annotate(total=Sum("interest_receivable")))
    return {(Funder.objects.get(pk=row["funder"]), LoanProduct.objects.get(pk=row["loan__product_version__product"])):
            row["total"] for row in rows}


def test_daily_accruals_post_one_entry_per_funder_and_product_and_reconcile():
    from servicing.services.ledger import ledger_accrue_aggregate

    other_product = make_product("COLEND")
    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    for _ in range(3):  # three own-funds loans of one product
        loan_book(drawdown=make_drawdown(line=make_line()))
    loan_book(drawdown=make_drawdown(line=make_line(product=other_product), funders=[(a, D(30)), (b, D(70))]))
    loan_book(drawdown=make_drawdown(line=make_line(product=other_product), funders=[(a, D(30)), (b, D(70))]))
    before = JournalEntry.objects.count()
    totals = _accrue_one_day(DAY)
    assert sorted((funder.code, product.code, amount) for (funder, product), amount in totals.items()) == [
        ("bank-a", "COLEND", D("2.34")), ("bank-b", "COLEND", D("5.44")), ("own", "EDUCATION", D("11.67"))]
    entries = ledger_accrue_aggregate(business_date=DAY, kind="accrual", totals=totals)
    assert JournalEntry.objects.count() - before == 3  # not one per loan
    assert [(e.reference, e.loan, e.product.code) for e in entries] == [
        ("accrual/2026-12-04/bank-a/COLEND", None, "COLEND"),
        ("accrual/2026-12-04/bank-b/COLEND", None, "COLEND"),
        ("accrual/2026-12-04/own/EDUCATION", None, "EDUCATION")]
    assert [(li.account.number, li.debit, li.credit) for li in entries[2].lines.all()] == [
        ("own-1302", D("11.67"), D("0")), ("own-6011", D("0"), D("11.67"))]
    assert reconcile() == []
    # A re-run of the same date posts nothing more.
    assert ledger_accrue_aggregate(business_date=DAY, kind="accrual", totals=totals) == entries
    assert JournalEntry.objects.count() - before == 3


def test_the_ledger_check_task_returns_the_differences():
    from servicing.tasks import ledger_check

    loan = loan_book(drawdown=make_drawdown(line=make_line()))
    CreditLine.objects.filter(pk=loan.credit_line_id).update(used=loan.principal)  # the flow's line_draw
    assert ledger_check.apply().get()["differences"] == []
    Loan.objects.filter(pk=loan.pk).update(fee_receivable=D("1.00"))
    assert ledger_check.apply().get()["differences"] == [
        f"loan_parts {loan.number}: expected 1.00, found 0.00",
        f"loan_schedule {loan.number}: expected 0.00, found 1.00"]


def test_the_ledger_check_runs_nightly(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["servicing.ledger-check"]
    assert entry["task"] == "servicing.ledger_check"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({5}, {0})
