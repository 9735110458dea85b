"""The nightly portfolio aggregates (servicing.services.portfolio) written by the daily close:
a co-lent loan split by share and counted once, on its lead funder's row; a re-run of the date
rewrites the same rows."""

import datetime
from decimal import Decimal

import pytest

from servicing.models import PortfolioDay, VintageCell
from servicing.services.calendar import business_date_set
from servicing.services.close import close_date
from servicing.services.loans import loan_book
from servicing.services.portfolio import months_between
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal


def test_the_close_writes_the_portfolio_of_the_date_and_a_re_run_rewrites_it():
    business_date_set(date=DAY, reason="test")
    bank = make_funder("bank", kind="co_lender", name="Bank")
    own = make_funder("own", name="Own")
    loan_book(drawdown=make_drawdown(line=make_line(), amount=D("10000.00"), funders=[(bank, D(70)), (own, D(30))]))
    summary = close_date(business_date=DAY)
    assert (summary["portfolio_days"], summary["vintage_cells"]) == (2, 2)
    rows = {row.funder.code: row for row in PortfolioDay.objects.filter(business_date=DAY)}
    assert (rows["bank"].loans, rows["bank"].outstanding, rows["own"].loans, rows["own"].outstanding) == (
        1, D("7000.00"), 0, D("3000.00"))
    assert (rows["bank"].m1_outstanding, rows["bank"].m3_outstanding, rows["bank"].dpd30_outstanding) == (
        D("0.00"), D("0.00"), D("0.00"))
    cells = {cell.funder.code: cell for cell in VintageCell.objects.all()}
    assert (cells["bank"].cohort, cells["bank"].month, cells["bank"].months_on_book, cells["bank"].disbursed,
            cells["bank"].loans) == (datetime.date(2026, 12, 1), datetime.date(2026, 12, 1), 0, D("7000.00"), 1)

    close_date(business_date=DAY)  # a re-run of the closed date
    assert PortfolioDay.objects.filter(business_date=DAY).count() == 2
    assert VintageCell.objects.count() == 2


def test_months_between():
    assert months_between(datetime.date(2025, 11, 1), later=datetime.date(2026, 2, 1)) == 3
    assert months_between(datetime.date(2026, 2, 1), later=datetime.date(2026, 2, 1)) == 0
