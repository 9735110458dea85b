"""Allocation (还款顺序) to the fen: each setting of the product — installment by installment or
component by component, and a custom component order — as a pure function and posted on a loan
with two overdue installments (close_like stands in for the daily close until it is on main)."""

import datetime
from decimal import Decimal

import pytest

from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from servicing.services.repayments import Owed, allocate, repayment_post
from tests.factories import make_product
from tests.servicing.repayment_factories import close_through, make_loan

D = Decimal
OWED = [Owed(key=1, penalty=D("17.39"), interest=D("116.67"), principal=D("1613.86")),
        Owed(key=2, penalty=D("2.82"), interest=D("107.25"), principal=D("1623.28"))]


def test_installment_mode_pays_the_oldest_installment_whole_first():
    result = allocate(amount=D("200.00"), owed=OWED, order=["penalty", "fee", "interest", "principal"],
                      mode="installment")
    assert result.paid == {1: {"penalty": D("17.39"), "interest": D("116.67"), "principal": D("65.94")}}
    assert result.rest == D("0.00")


def test_component_mode_pays_each_component_across_installments_first():
    result = allocate(amount=D("200.00"), owed=OWED, order=["penalty", "fee", "interest", "principal"],
                      mode="component")
    assert result.paid == {1: {"penalty": D("17.39"), "interest": D("116.67")},
                           2: {"penalty": D("2.82"), "interest": D("63.12")}}
    assert result.totals == {"penalty": D("20.21"), "fee": D("0"), "interest": D("179.79"), "principal": D("0")}


def test_a_custom_order_interest_before_penalty():
    result = allocate(amount=D("200.00"), owed=OWED, order=["interest", "principal", "penalty", "fee"],
                      mode="installment")
    assert result.paid == {1: {"interest": D("116.67"), "principal": D("83.33")}}


def test_more_than_owed_leaves_the_rest():
    result = allocate(amount=D("4000.00"), owed=OWED, mode="installment")
    assert result.rest == D("4000.00") - sum(o.total for o in OWED) == D("518.73")


def test_an_order_missing_a_component_is_refused():
    with pytest.raises(ValueError):
        allocate(amount=D("1.00"), owed=OWED, order=["interest", "principal"])


@pytest.mark.django_db
@pytest.mark.parametrize(("mode", "order", "expected"), [
    ("installment", ["penalty", "fee", "interest", "principal"],
     {1: (D("17.39"), D("116.67"), D("65.94")), 2: (D("0"), D("0"), D("0"))}),
    ("component", ["penalty", "fee", "interest", "principal"],
     {1: (D("17.39"), D("116.67"), D("0")), 2: (D("2.82"), D("63.12"), D("0"))}),
    ("installment", ["interest", "principal", "penalty", "fee"],
     {1: (D("0"), D("116.67"), D("83.33")), 2: (D("0"), D("0"), D("0"))}),
])
def test_each_setting_posted_on_two_overdue_installments(mode, order, expected):
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    loan = make_loan(product=make_product("ALLOC", allocation_mode=mode, allocation_order=order))
    # Closes through 2027-02-09: installment 1 37 days late (37 × 0.47 = 17.39 penalty), installment
    # 2 six days (4 at its grace close, then 2: 6 × 0.47 = 2.82).
    close_through(datetime.date(2027, 2, 9))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.penalty_receivable) == (37, D("20.21"))
    repayment = repayment_post(loan=loan, amount="200.00", reference=f"R-{mode}", actor=None)
    got = {i.number: (i.penalty_paid, i.interest_paid, i.principal_paid) for i in loan.installments.filter(number__lte=2)}
    assert got == expected
    assert (repayment.penalty + repayment.interest + repayment.principal) == D("200.00")
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due) == ("overdue", 37)
    assert reconcile() == []
