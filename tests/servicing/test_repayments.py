"""Regular repayments to the fen: on time, within grace, late past grace with penalty, overpayment
and its later application, a co-lent loan's split — each followed by ``reconcile()``.

Until the daily close (close16) is on main, ``close_like`` leaves each loan as the close of a date
would (docs/servicing.md §1–3: accrual landing on the due date, overdue and DPD, penalty with
grace) and advances the business date."""

import datetime
from decimal import Decimal

import pytest

from creditfactory.core.state import transitions_for
from servicing.models import CreditLine, JournalEntry, Repayment
from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from servicing.services.repayments import RepaymentRefused, credit_balance_apply, repayment_post
from tests.servicing.repayment_factories import close_through, make_funders, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
VALUE = datetime.date(2026, 12, 4)
DUE1 = datetime.date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=VALUE, reason="test")


def _lines(loan, reference):
    entry = JournalEntry.objects.get(reference=f"{loan.number}/{reference}")
    return [(line.account.number, line.debit, line.credit) for line in entry.lines.select_related("account")]


def _inst(loan, number):
    return loan.installments.get(number=number)


def test_the_accrual_lands_exactly_on_the_due_date():
    loan = make_loan()
    close_through(VALUE)
    assert _inst(loan, 1).interest_accrued == D("3.76")  # round(116.67 × 1 ÷ 31)
    close_through(DUE1 - datetime.timedelta(days=1))
    loan.refresh_from_db()
    assert (_inst(loan, 1).interest_accrued, loan.interest_receivable) == (D("116.67"), D("116.67"))
    assert reconcile() == []


def test_on_time_repayment_pays_interest_and_principal_of_the_installment():
    loan = make_loan()
    close_through(DUE1 - datetime.timedelta(days=1))
    repayment = repayment_post(loan=loan, amount="1730.53", reference="BANK-1", actor=None)
    assert (repayment.kind, repayment.source, repayment.status, repayment.value_date) == (
        "regular", "api", "posted", DUE1)
    assert (repayment.principal, repayment.interest, repayment.penalty, repayment.fee, repayment.prepayment_fee,
            repayment.credit_balance) == (D("1613.86"), D("116.67"), D("0"), D("0"), D("0"), D("0"))
    first = _inst(loan, 1)
    assert (first.status, first.settled_on, first.principal_paid, first.interest_paid) == (
        "paid", DUE1, D("1613.86"), D("116.67"))
    loan.refresh_from_db()
    assert (loan.status, loan.principal_outstanding, loan.interest_receivable, loan.next_due_date) == (
        "active", D("18386.14"), D("0.00"), datetime.date(2027, 2, 4))
    assert _lines(loan, f"repayment/{repayment.pk}/own") == [
        ("own-1002", D("1730.53"), D("0")), ("own-1302", D("0"), D("116.67")), ("own-1301", D("0"), D("1613.86"))]
    # The revolving line has the repaid principal available again at once.
    assert CreditLine.objects.get(pk=loan.credit_line_id).used == D("18386.14")
    assert [(t.from_state, t.to_state) for t in transitions_for(repayment)] == [("", "posted")]
    assert reconcile() == []


def test_the_same_reference_posts_once():
    loan = make_loan()
    close_through(DUE1 - datetime.timedelta(days=1))
    first = repayment_post(loan=loan, amount="1730.53", reference="BANK-1", actor=None)
    again = repayment_post(loan=loan, amount="1730.53", reference="BANK-1", actor=None)
    assert again.pk == first.pk
    assert Repayment.objects.count() == 1
    assert JournalEntry.objects.filter(kind="repayment").count() == 1
    loan.refresh_from_db()
    assert loan.principal_outstanding == D("18386.14")


def test_within_grace_no_penalty():
    loan = make_loan()
    close_through(datetime.date(2027, 1, 6))  # business date 2027-01-07: R − due = 3 = grace
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.penalty_receivable) == ("overdue", 3, D("0.00"))
    repayment = repayment_post(loan=loan, amount="1730.53", reference="BANK-1", actor=None)
    assert (repayment.penalty, repayment.interest, repayment.principal) == (D("0"), D("116.67"), D("1613.86"))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.penalty_receivable) == ("active", 0, D("0.00"))
    assert _inst(loan, 1).status == "paid"
    assert ("overdue", "active") in [(t.from_state, t.to_state) for t in transitions_for(loan)]
    assert reconcile() == []


def test_late_past_grace_pays_six_days_of_penalty_first():
    loan = make_loan()
    close_through(datetime.date(2027, 1, 9))  # business date 2027-01-10: R − due = 6
    loan.refresh_from_db()
    # one day = round(1613.86 × 10.5 % ÷ 360) = 0.47; 4 days at the close of 01-07, then 2 more.
    assert (loan.status, loan.days_past_due, loan.penalty_receivable, _inst(loan, 1).penalty_accrued) == (
        "overdue", 6, D("2.82"), D("2.82"))
    with pytest.raises(RepaymentRefused):
        repayment_post(loan=loan, amount="-1", reference="BAD", actor=None)
    repayment = repayment_post(loan=loan, amount="1733.35", reference="BANK-1", actor=None)
    assert (repayment.penalty, repayment.interest, repayment.principal, repayment.credit_balance) == (
        D("2.82"), D("116.67"), D("1613.86"), D("0"))
    first = _inst(loan, 1)
    assert (first.status, first.settled_on, first.penalty_paid) == ("paid", datetime.date(2027, 1, 10), D("2.82"))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.penalty_receivable) == ("active", 0, D("0.00"))
    assert _lines(loan, f"repayment/{repayment.pk}/own") == [
        ("own-1002", D("1733.35"), D("0")), ("own-1303", D("0"), D("2.82")), ("own-1302", D("0"), D("116.67")),
        ("own-1301", D("0"), D("1613.86"))]
    assert reconcile() == []


def test_a_partial_late_repayment_leaves_the_loan_overdue_with_its_dpd():
    loan = make_loan()
    close_through(datetime.date(2027, 1, 9))
    repayment = repayment_post(loan=loan, amount="100.00", reference="BANK-1", actor=None)
    # penalty → fee → interest → principal: 2.82 penalty, 97.18 interest.
    assert (repayment.penalty, repayment.interest, repayment.principal) == (D("2.82"), D("97.18"), D("0"))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due, loan.interest_receivable) == (
        "overdue", 6, _inst(loan, 2).interest_accrued + D("19.49"))
    assert _inst(loan, 1).status == "overdue"
    assert reconcile() == []


def test_overpayment_is_held_as_credit_balance_and_applied_when_the_next_installment_falls_due():
    loan = make_loan()
    close_through(DUE1 - datetime.timedelta(days=1))
    repayment = repayment_post(loan=loan, amount="1800.00", reference="BANK-1", actor=None)
    assert repayment.credit_balance == D("69.47")
    assert _lines(loan, f"repayment/{repayment.pk}/own") == [
        ("own-1002", D("1800.00"), D("0")), ("own-1302", D("0"), D("116.67")), ("own-1301", D("0"), D("1613.86")),
        ("own-2241", D("0"), D("69.47"))]
    loan.refresh_from_db()
    assert (loan.credit_balance, loan.parts.get().credit_balance) == (D("69.47"), D("69.47"))
    assert reconcile() == []
    # Nothing is payable before 2027-02-04: the start of that day applies it.
    assert credit_balance_apply(loan=loan, business_date=DUE1) is None
    close_through(datetime.date(2027, 2, 3))
    applied = credit_balance_apply(loan=loan, business_date=datetime.date(2027, 2, 4))
    assert (applied.source, applied.amount, applied.interest, applied.principal) == (
        "credit_balance", D("69.47"), D("69.47"), D("0"))
    assert _lines(loan, f"credit-applied/{applied.pk}/own") == [
        ("own-2241", D("69.47"), D("0")), ("own-1302", D("0"), D("69.47"))]
    assert credit_balance_apply(loan=loan, business_date=datetime.date(2027, 2, 4)) == applied  # idempotent
    loan.refresh_from_db()
    assert (loan.credit_balance, loan.interest_receivable) == (D("0.00"), D("37.78"))  # 107.25 − 69.47
    rest = repayment_post(loan=loan, amount="1661.06", reference="BANK-2", actor=None)
    assert (rest.interest, rest.principal) == (D("37.78"), D("1623.28"))
    assert _inst(loan, 2).status == "paid"
    assert reconcile() == []


def test_a_co_lent_loan_splits_each_component_by_share_the_lead_taking_the_rest():
    bank_a, bank_b = make_funders()
    loan = make_loan(funders=[(bank_a, D(30)), (bank_b, D(70))])
    close_through(datetime.date(2027, 1, 9))
    parts = {p.funder.code: p for p in loan.parts.all()}
    assert parts["bank-a"].penalty_receivable + parts["bank-b"].penalty_receivable == D("2.82")
    repayment = repayment_post(loan=loan, amount="1733.35", reference="BANK-1", actor=None)
    # principal 1613.86: 30 % = 484.16, the lead (70 %) the rest 1129.70; interest and penalty of
    # installment 1 are all there is, so each part's own holding is taken.
    a = _lines(loan, f"repayment/{repayment.pk}/bank-a")
    b = _lines(loan, f"repayment/{repayment.pk}/bank-b")
    assert a == [("bank-a-1002", parts["bank-a"].penalty_receivable + D("35.00") + D("484.16"), D("0")),
                 ("bank-a-1303", D("0"), parts["bank-a"].penalty_receivable), ("bank-a-1302", D("0"), D("35.00")),
                 ("bank-a-1301", D("0"), D("484.16"))]
    assert b[-1] == ("bank-b-1301", D("0"), D("1129.70"))
    assert sum(line[1] for line in a + b) == D("1733.35")
    for part in loan.parts.all():
        assert part.penalty_receivable == D("0.00")
    assert reconcile() == []
