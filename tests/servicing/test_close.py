"""The daily close (日终), synchronous: interest accrual landing exactly on the due date, overdue
marking and DPD, penalty with grace (and compound), revolving daily interest, co-lent splits,
the aggregated journal entries, re-runs writing nothing, and the books reconciling after each close."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from creditfactory.core.state import transitions_for
from servicing.models import Installment, JournalEntry, JournalLine, Loan
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import CloseRefused, close_date, close_day
from servicing.services.ledger import Posting, account_balance, funder_account, funder_chart, ledger_post, reconcile
from servicing.services.loans import loan_book
from tests.factories import make_product
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def _loan(**fields):
    line = make_line(rate_percent=fields.pop("rate_percent", D("7")), product=fields.pop("product", None))
    return loan_book(drawdown=make_drawdown(line=line, **fields))


def _close_through(date):
    results = close_day(until=date)
    assert reconcile() == []
    return results


def _first(loan):
    return Installment.objects.get(loan=loan, number=1)


def test_interest_accrues_daily_and_lands_exactly_on_the_due_date():
    loan = _loan(amount=D("20000.00"), term=12)
    # Installment 1: 2026-12-04 → 2027-01-04 (31 days), interest 116.67.
    [result] = close_day()
    assert (result["date"], result["status"], result["loans"], result["interest"], result["advanced"]) == (
        DAY, "succeeded", 1, 1, True)
    assert business_date() == DAY + days(1)
    loan.refresh_from_db()
    assert (loan.interest_receivable, loan.accrued_through, loan.penalty_through, loan.closed_through) == (
        D("3.76"), DAY, DAY, DAY)  # round(116.67 × 1/31)
    assert reconcile() == []
    _close_through(datetime.date(2027, 1, 2))
    assert _first(loan).interest_accrued == D("112.91")  # round(116.67 × 30/31)
    _close_through(datetime.date(2027, 1, 3))  # the close of due date − 1 lands the scheduled interest
    loan.refresh_from_db()
    first = _first(loan)
    # ... and the start of day 2027-01-04 marks it due
    assert (first.interest_accrued, first.status, loan.interest_receivable) == (D("116.67"), "due", D("116.67"))
    assert business_date() == datetime.date(2027, 1, 4)
    assert account_balance(account=funder_account(funder=make_funder(), kind="interest_receivable")) == D("116.67")
    assert account_balance(account=funder_account(funder=make_funder(), kind="interest_income")) == D("116.67")
    # one aggregated entry per day (one funder, one product)
    assert JournalEntry.objects.filter(kind="accrual").count() == 31
    entry = JournalEntry.objects.filter(kind="accrual").order_by("business_date").first()
    assert (entry.business_date, entry.loan, entry.funder.code, entry.product.code) == (DAY, None, "own", "EDUCATION")
    assert entry.reference.startswith("accrual/2026-12-04/own/EDUCATION/")


def test_an_unpaid_installment_is_overdue_at_the_close_of_its_due_date_with_dpd_and_status():
    loan = _loan(amount=D("20000.00"), term=12)
    _close_through(datetime.date(2027, 1, 4))
    loan.refresh_from_db()
    first = _first(loan)
    assert (first.status, loan.status, loan.days_past_due, loan.next_due_date) == (
        "overdue", "overdue", 1, datetime.date(2027, 2, 4))
    assert [(t.from_state, t.to_state) for t in transitions_for(loan)] == [("active", "overdue"), ("", "active")]
    _close_through(datetime.date(2027, 1, 10))
    loan.refresh_from_db()
    assert loan.days_past_due == 7  # on 2027-01-11: 11 − 4
    # The second installment's first days accrue beside the overdue one.
    second = Installment.objects.get(loan=loan, number=2)
    assert second.period_start == datetime.date(2027, 1, 4)
    assert loan.interest_receivable == D("116.67") + second.interest_accrued



def test_penalty_waits_for_the_grace_days_then_catches_up_then_runs_daily():
    loan = _loan(amount=D("20000.00"), term=12)  # grace 3 days; penalty rate 7 % × 1.5 = 10.5 % a year
    assert (loan.penalty_rate_percent, loan.product_version.grace_days) == (D("10.500000"), 3)
    due = datetime.date(2027, 1, 4)
    _close_through(due + days(2))  # D − due = 0, 1, 2: within grace, nothing
    loan.refresh_from_db()
    assert (_first(loan).penalty_accrued, loan.penalty_receivable, loan.penalty_through) == (
        D("0"), D("0"), due + days(2))
    _close_through(due + days(3))  # D − due = grace: the 4 days from the due date at once
    # one day = round(1613.86 × 10.5 % ÷ 360) = round(0.47071) = 0.47
    loan.refresh_from_db()
    assert (_first(loan).penalty_accrued, loan.penalty_receivable) == (D("1.88"), D("1.88"))
    _close_through(due + days(5))  # then one day per close
    loan.refresh_from_db()
    assert (_first(loan).penalty_accrued, loan.penalty_receivable) == (D("2.82"), D("2.82"))
    assert account_balance(account=funder_account(funder=make_funder(), kind="penalty_income")) == D("2.82")
    assert JournalEntry.objects.filter(kind="penalty").count() == 3


def test_compound_penalty_adds_the_same_rate_on_unpaid_interest_as_its_own_rounded_figure():
    product = make_product("COMPOUND", penalty_compound=True, grace_days=0)
    loan = _loan(amount=D("20000.00"), term=12, product=product)
    due = datetime.date(2027, 1, 4)
    _close_through(due)  # grace 0: the due date's own close accrues its first day
    loan.refresh_from_db()
    # round(1613.86 × 10.5/36000) = 0.47 + round(116.67 × 10.5/36000) = round(0.03403) = 0.03
    assert (_first(loan).penalty_accrued, loan.penalty_receivable) == (D("0.50"), D("0.50"))
    _close_through(due + days(1))
    loan.refresh_from_db()
    assert loan.penalty_receivable == D("1.00")


def test_revolving_interest_is_the_principal_outstanding_times_the_daily_rate_each_close():
    product = make_product("EMG", product_type="revolving_line", amount_min=D("1000.00"), amount_max=D("50000.00"),
                           term_min=1, term_max=3, rate_basis="daily", rate_min_percent=D("0.03"),
                           rate_default_percent=D("0.04"), rate_max_percent=D("0.05"), day_count="ACT/365",
                           repayment_methods=["revolving"], purposes=["education"])
    line = make_line(product=product, rate_percent=D("0.05"), rate_basis="daily")
    loan = loan_book(drawdown=make_drawdown(line=line, amount=D("3333.33"), term=1, repayment_method="revolving"))
    assert (loan.rate_basis, loan.installments.count()) == ("daily", 1)
    _close_through(DAY + days(9))  # 10 closes × round(3333.33 × 0.05 %) = 10 × round(1.666665) = 16.70
    loan.refresh_from_db()
    assert (loan.interest_receivable, loan.installments.get().interest_accrued) == (D("16.70"), D("16.70"))
    # a repayment of principal (written here as the repayment service leaves it) lowers the next day's interest
    chart = funder_chart(funder=make_funder())
    ledger_post(kind="repayment", reference=f"{loan.number}/repayment/1/own", business_date=business_date(),
                loan=loan, postings=[Posting(chart["settlement"], debit=D("2333.33")),
                                     Posting(chart["principal_receivable"], credit=D("2333.33"))])
    Loan.objects.filter(pk=loan.pk).update(principal_outstanding=D("1000.00"))
    loan.parts.update(principal_outstanding=D("1000.00"))
    Installment.objects.filter(loan=loan).update(principal_paid=D("2333.33"))
    _close_through(DAY + days(10))  # + round(1000 × 0.05 %) = 0.50
    loan.refresh_from_db()
    assert loan.interest_receivable == D("17.20")


def test_an_annual_rate_revolving_loan_uses_the_rate_over_360():
    product = make_product("REV", product_type="revolving_line", repayment_methods=["revolving"], term_min=1)
    line = make_line(product=product, rate_percent=D("7.3"))
    loan = loan_book(drawdown=make_drawdown(line=line, amount=D("10000.00"), term=1, repayment_method="revolving"))
    _close_through(DAY + days(2))  # 3 × round(10000 × 7.3 % ÷ 360) = 3 × round(2.02777) = 6.09
    loan.refresh_from_db()
    assert loan.interest_receivable == D("6.09")


def test_a_co_lent_loans_accrual_is_split_by_share_with_the_rest_on_the_lead():
    bank = make_funder("bank-a", kind="co_lender")
    partner_bank = make_funder("bank-b", kind="co_lender")
    loan = _loan(amount=D("20000.00"), term=12, funders=[(bank, D(30)), (partner_bank, D(70))])
    _close_through(DAY)  # 3.76: bank-a round(1.128) = 1.13, bank-b (lead) the rest 2.63
    parts = {part.funder.code: part.interest_receivable for part in loan.parts.select_related("funder")}
    assert parts == {"bank-a": D("1.13"), "bank-b": D("2.63")}
    assert {(e.funder.code, e.lines.get(debit__gt=0).debit) for e in JournalEntry.objects.filter(kind="accrual")} == {
        ("bank-a", D("1.13")), ("bank-b", D("2.63"))}
    _close_through(datetime.date(2027, 1, 3))
    loan.refresh_from_db()
    parts = {part.funder.code: part.interest_receivable for part in loan.parts.select_related("funder")}
    assert sum(parts.values()) == loan.interest_receivable == D("116.67")


def test_a_re_run_of_a_closed_date_writes_nothing():
    _loan(amount=D("20000.00"), term=12)
    line = make_line(sequence="456")
    loan_book(drawdown=make_drawdown(line=line, amount=D("15000.00"), term=6, repayment_method="equal_principal"))
    _close_through(datetime.date(2027, 1, 8))
    counts = (JournalEntry.objects.count(), JournalLine.objects.count())
    snapshot = list(Loan.objects.values_list("interest_receivable", "penalty_receivable", "days_past_due", "status"))
    result = close_date(business_date=datetime.date(2027, 1, 8))
    assert (result["rows_written"], result.get("loans", 0), result["advanced"]) == (0, 0, False)
    assert business_date() == datetime.date(2027, 1, 9)
    assert (JournalEntry.objects.count(), JournalLine.objects.count()) == counts
    assert list(Loan.objects.values_list("interest_receivable", "penalty_receivable", "days_past_due",
                                         "status")) == snapshot
    assert reconcile() == []


def test_a_date_after_the_business_date_is_refused():
    with pytest.raises(CloseRefused):
        close_date(business_date=DAY + days(1))
    with pytest.raises(CloseRefused):
        close_day(until=DAY - days(1))


def test_the_command_closes_up_to_until_and_re_runs_a_date(capsys):
    _loan(amount=D("20000.00"), term=12)
    call_command("close_day", "--until", "2026-12-06")
    assert business_date() == datetime.date(2026, 12, 7)
    assert capsys.readouterr().out.count("closed:") == 3
    call_command("close_day", "--date", "2026-12-05")
    out = capsys.readouterr().out
    assert "2026-12-05 closed:" in out and "rows_written=0" in out
    assert business_date() == datetime.date(2026, 12, 7)
    assert reconcile() == []


def test_the_tables_the_close_updates_keep_room_for_hot_updates():
    """The migration leaves free space in every page of the tables each close updates (fillfactor),
    so an update that changes no indexed column stays on its page and writes no index entry."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname IN "
                       "('servicing_loan', 'servicing_installment', 'servicing_loanpart') ORDER BY relname")
        assert cursor.fetchall() == [("servicing_installment", ["fillfactor=90"]),
                                     ("servicing_loan", ["fillfactor=70"]),
                                     ("servicing_loanpart", ["fillfactor=80"])]


def test_a_chunk_runs_without_jit_compilation():
    from django.db import connection

    from servicing.services.close.fastpath import chunk_session_sql

    def jit():
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            return cursor.fetchone()[0]

    assert jit() == "on"  # PostgreSQL's default
    chunk_session_sql()  # SET LOCAL: for the rest of the (test's) transaction only
    assert jit() == "off"
