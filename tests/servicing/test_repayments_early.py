"""Early repayment to the fen (docs/servicing.md §5): full payoff and partial prepayment with a
1 % fee, the schedule recomputed both ways (reduce the installment / reduce the term), the
interest true-up; the revolving loan's daily interest; reconcile() after each.

Until the daily close (close16) is on main, ``close_like`` leaves each loan as the close of a date
would (docs/servicing.md §1–3) and advances the business date."""

import datetime
from decimal import Decimal

import pytest

from servicing.models import CreditLine, JournalEntry
from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from servicing.services.repayments import RepaymentRefused, loan_quote, repayment_post
from tests.factories import make_product
from tests.servicing.repayment_factories import close_through, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
VALUE = datetime.date(2026, 12, 4)
DUE1 = datetime.date(2027, 1, 4)
DAY = datetime.date(2027, 1, 14)


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=VALUE, reason="test")


def _lines(loan, reference):
    entry = JournalEntry.objects.get(reference=f"{loan.number}/{reference}")
    return [(line.account.number, line.debit, line.credit) for line in entry.lines.select_related("account")]


def _loan_paid_first_installment(recompute="reduce_installment"):
    product = make_product("EARLY", prepayment_fee_percent=D("1"), prepayment_recompute=recompute)
    loan = make_loan(product=product)
    close_through(DUE1 - datetime.timedelta(days=1))
    repayment_post(loan=loan, amount="1730.53", reference="INST-1", actor=None)
    close_through(DAY - datetime.timedelta(days=1))  # business date 2027-01-14, 10 days into period 2
    return loan


def test_full_payoff_quote_and_posting_close_the_loan():
    loan = _loan_paid_first_installment()
    assert loan.installments.get(number=2).interest_accrued == D("34.60")  # round(107.25 × 10 ÷ 31)
    quote = loan_quote(loan=loan, kind="payoff")
    assert quote.as_dict() == {"date": DAY, "payable": D("0.00"), "principal": D("18386.14"), "interest": D("35.75"),
                               "penalty": D("0.00"), "fee": D("0.00"), "prepayment_fee": D("183.86"),
                               "total": D("18605.75")}
    with pytest.raises(RepaymentRefused) as refused:
        repayment_post(loan=loan, amount="18605.74", kind="payoff", reference="PAYOFF", actor=None)
    assert (refused.value.field, refused.value.figures) == ("amount", {"quote": D("18605.75")})
    repayment = repayment_post(loan=loan, amount="18605.75", kind="payoff", reference="PAYOFF", actor=None)
    assert (repayment.principal, repayment.interest, repayment.prepayment_fee, repayment.credit_balance) == (
        D("18386.14"), D("35.75"), D("183.86"), D("0"))
    assert _lines(loan, f"interest-true-up/{repayment.pk}/own") == [
        ("own-1302", D("1.15"), D("0")), ("own-6011", D("0"), D("1.15"))]
    assert _lines(loan, f"repayment/{repayment.pk}/own") == [
        ("own-1002", D("18605.75"), D("0")), ("own-1302", D("0"), D("35.75")), ("own-1301", D("0"), D("18386.14")),
        ("own-6021", D("0"), D("183.86"))]
    loan.refresh_from_db()
    assert (loan.status, loan.closed_on, loan.principal_outstanding, loan.interest_receivable, loan.next_due_date) == (
        "closed", DAY, D("0.00"), D("0.00"), None)
    rows = list(loan.installments.values_list("number", "interest", "status", "settled_on"))
    assert rows[1] == (2, D("35.75"), "paid", DAY) and rows[2] == (3, D("0.00"), "paid", DAY)
    assert all(status == "paid" for _n, _i, status, _s in rows)
    assert CreditLine.objects.get(pk=loan.credit_line_id).used == D("0.00")
    with pytest.raises(RepaymentRefused) as closed:
        repayment_post(loan=loan, amount="1.00", reference="AFTER", actor=None)
    assert closed.value.status == 409
    assert reconcile() == []


def test_partial_prepayment_reduces_the_installment():
    loan = _loan_paid_first_installment("reduce_installment")
    quote = loan_quote(loan=loan, kind="prepayment", principal=D("5000.00"))
    assert (quote.payable, quote.principal, quote.interest, quote.prepayment_fee, quote.total) == (
        D("0.00"), D("5000.00"), D("9.72"), D("50.00"), D("5059.72"))
    with pytest.raises(RepaymentRefused) as refused:
        repayment_post(loan=loan, amount="5060.00", kind="prepayment", principal="5000.00", reference="PRE",
                       actor=None)
    assert (refused.value.field, refused.value.figures) == ("amount", {"quote": D("5059.72")})
    repayment = repayment_post(loan=loan, amount="5059.72", kind="prepayment", principal="5000.00", reference="PRE",
                               actor=None)
    assert (repayment.principal, repayment.interest, repayment.prepayment_fee) == (D("5000.00"), D("9.72"),
                                                                                   D("50.00"))
    rows = list(loan.installments.values_list("number", "due_date", "principal", "interest", "payment",
                                              "remaining_principal", "interest_accrued"))
    assert len(rows) == 12
    # The engine on 13,386.14 over the 11 installments left, due dates kept.
    assert rows[1] == (2, datetime.date(2027, 2, 4), D("1181.84"), D("78.09"), D("1259.93"), D("12204.30"),
                       D("25.19"))  # accrued = round(78.09 × 10 ÷ 31)
    assert rows[11] == (12, datetime.date(2027, 12, 4), D("1252.58"), D("7.31"), D("1259.89"), D("0.00"), D("0"))
    # True-up: −9.41 on the current installment (34.60 → 25.19) + 9.72 interest to date on P.
    assert _lines(loan, f"interest-true-up/{repayment.pk}/own") == [
        ("own-1302", D("0.31"), D("0")), ("own-6011", D("0"), D("0.31"))]
    assert _lines(loan, f"repayment/{repayment.pk}/own") == [
        ("own-1002", D("5059.72"), D("0")), ("own-1302", D("0"), D("9.72")), ("own-1301", D("0"), D("5000.00")),
        ("own-6021", D("0"), D("50.00"))]
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding, loan.interest_receivable) == (
        "active", D("13386.14"), D("25.19"))
    assert reconcile() == []


def test_partial_prepayment_reduces_the_term():
    loan = _loan_paid_first_installment("reduce_term")
    repayment = repayment_post(loan=loan, amount="5059.72", kind="prepayment", principal="5000.00", reference="PRE",
                               actor=None)
    assert repayment.principal == D("5000.00")
    rows = list(loan.installments.values_list("number", "due_date", "principal", "interest", "payment"))
    # Eight installments of at most the old 1,730.53 repay 13,386.14: 1,717.49, the last 1,717.48.
    assert len(rows) == 9
    assert rows[1] == (2, datetime.date(2027, 2, 4), D("1639.40"), D("78.09"), D("1717.49"))
    assert rows[-1] == (9, datetime.date(2027, 9, 4), D("1707.52"), D("9.96"), D("1717.48"))
    loan.refresh_from_db()
    assert (loan.maturity_date, loan.principal_outstanding) == (datetime.date(2027, 9, 4), D("13386.14"))
    assert sum(row[2] for row in rows[1:]) == D("13386.14")
    assert reconcile() == []


def test_prepayment_quote_refuses_all_of_the_principal():
    loan = _loan_paid_first_installment()
    with pytest.raises(RepaymentRefused) as refused:
        loan_quote(loan=loan, kind="prepayment", principal=D("18386.14"))
    assert refused.value.field == "principal"


def _revolving_product():
    return make_product("FLEX", product_type="revolving_line", amount_min=D("1000.00"), amount_max=D("5000.00"),
                        term_unit="days", term_min=30, term_max=90, rate_basis="daily", rate_min_percent=D("0.03"),
                        rate_default_percent=D("0.05"), rate_max_percent=D("0.05"), repayment_methods=["revolving"],
                        purposes=["education"], apr_cap_percent=D("36"))


def test_revolving_daily_interest_interest_first_then_principal_and_the_line_at_once():
    loan = make_loan(product=_revolving_product(), amount=D("3000.00"), term=30, method="revolving",
                     rate_percent=D("0.05"))
    close_through(datetime.date(2026, 12, 13))  # 10 days × round(3000.00 × 0.05 %) = 15.00
    repayment = repayment_post(loan=loan, amount="1000.00", reference="FLEX-1", actor=None)
    assert (repayment.value_date, repayment.interest, repayment.principal) == (
        datetime.date(2026, 12, 14), D("15.00"), D("985.00"))
    assert CreditLine.objects.get(pk=loan.credit_line_id).used == D("2015.00")
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding, loan.interest_receivable) == ("active", D("2015.00"), D("0.00"))
    assert reconcile() == []
    close_through(datetime.date(2026, 12, 23))  # 10 days × round(2015.00 × 0.05 %) = 10 × 1.01
    quote = loan_quote(loan=loan, kind="payoff")
    assert (quote.payable, quote.interest, quote.prepayment_fee, quote.total) == (
        D("2025.10"), D("0.00"), D("0.00"), D("2025.10"))
    payoff = repayment_post(loan=loan, amount="2025.10", kind="payoff", reference="FLEX-2", actor=None)
    assert (payoff.interest, payoff.principal) == (D("10.10"), D("2015.00"))
    loan.refresh_from_db()
    assert (loan.status, loan.closed_on) == ("closed", datetime.date(2026, 12, 24))
    installment = loan.installments.get()
    assert (installment.interest, installment.interest_paid, installment.status) == (D("25.10"), D("25.10"), "paid")
    assert CreditLine.objects.get(pk=loan.credit_line_id).used == D("0.00")
    assert reconcile() == []


def test_a_revolving_loan_has_no_prepayment_kind():
    loan = make_loan(product=_revolving_product(), amount=D("3000.00"), term=30, method="revolving",
                     rate_percent=D("0.05"))
    with pytest.raises(RepaymentRefused) as refused:
        loan_quote(loan=loan, kind="prepayment", principal=D("100.00"))
    assert refused.value.field == "kind"
