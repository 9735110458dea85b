"""The data dashboard's collections panels on the constructed portfolio of instrument_factories:
the five-category classification (五级分类) and the collection recovery by bucket, both read from
the aggregates the close writes (collection.services.snapshot), with exact figures; the close
writing them; the page.

Open on 12-04 (build_portfolio): L1 15,000 (education, own), L2 10,000 at 35 DPD (education,
bank 7,000 lead / own 3,000), L3 5,000 (education, own), L4 8,000 at 95 DPD (cash, own); L5
(cash, own) paid off. Here: L2 special mention, L4 substandard, L5 classified loss before it was
paid off (not open: not counted).

Cases and repayments (the range is 11-15 … 12-04):
* L2's case opened 11-21 in M1 owing 10,500.00, entered M2 on 12-01 owing 10,800.00; repaid
  100 on 11-20 (before the case: not counted), 1,000 on 11-25 (M1), 500 on 12-02 of which 100 to
  the credit balance (M2: 400), 300 on 12-03 awaiting verification (not posted: not counted);
* L4's case opened 09-01 in M1 (before the range), entered M3+ on 11-30 owing 8,900.00; repaid
  200 on 12-03 (M3+);
* L5's case opened 11-17 in M1 owing 3,050.00, closed 11-20; repaid 3,050 on 11-19 (M1) and 50 on
  11-20 (the case closed that day: not counted);
* L1 repaid 700 on 12-01 without a case: not counted.
"""

import datetime
from decimal import Decimal
from itertools import count

import pytest

from collection.models import CaseStageChange, ClassificationDay, CollectionCase, LoanClass, RecoveryDay
from collection.services.snapshot import collection_snapshot, recovery_days_write
from servicing.models import Repayment
from tests.collection.factories import ensure_defaults
from workflows.selectors.instruments import DashboardFilters, dashboard_figures

from .instrument_factories import DAY, build_portfolio

pytestmark = pytest.mark.django_db

D = Decimal
START = datetime.date(2026, 11, 15)
_numbers = count(1)


def _d(month: int, day: int) -> datetime.date:
    return datetime.date(2026, month, day)


def _case(loan, *, entries, closed_on=None):
    """A case with its bucket entries ``[(date, bucket, owed)]`` (the first one opens it)."""
    opened_on, bucket, _owed = entries[0]
    case = CollectionCase.objects.create(loan=loan, bucket=entries[-1][1], opened_on=opened_on, dpd_at_open=1,
                                         status="closed" if closed_on else "open", closed_on=closed_on,
                                         close_reason="paid_off" if closed_on else "")
    previous = ""
    for day, to_bucket, owed in entries:
        CaseStageChange.objects.create(case=case, business_date=day, from_bucket=previous, to_bucket=to_bucket,
                                       to_step=0, dpd=1, owed=D(owed))
        previous = to_bucket
    return case


def _repaid(loan, day, amount, *, credit_balance="0.00", status="posted"):
    n = next(_numbers)
    Repayment.objects.create(loan=loan, number=f"DR{n:06d}", source="api", amount=D(amount), value_date=day,
                             reference=f"dash-{n}", status=status, credit_balance=D(credit_balance))


@pytest.fixture
def portfolio():
    ensure_defaults()
    portfolio = build_portfolio()
    loans = portfolio.loans
    LoanClass.objects.create(loan=loans["L2"], classification="special_mention", since=_d(11, 21))
    LoanClass.objects.create(loan=loans["L4"], classification="substandard", since=_d(11, 30))
    LoanClass.objects.create(loan=loans["L5"], classification="loss", since=_d(11, 18))
    _case(loans["L2"], entries=[(_d(11, 21), "M1", "10500.00"), (_d(12, 1), "M2", "10800.00")])
    _case(loans["L4"], entries=[(_d(9, 1), "M1", "8200.00"), (_d(10, 1), "M2", "8400.00"),
                                (_d(10, 31), "M3", "8600.00"), (_d(11, 30), "M3+", "8900.00")])
    _case(loans["L5"], entries=[(_d(11, 17), "M1", "3050.00")], closed_on=_d(11, 20))
    _repaid(loans["L2"], _d(11, 20), "100.00")
    _repaid(loans["L2"], _d(11, 25), "1000.00")
    _repaid(loans["L2"], _d(12, 2), "500.00", credit_balance="100.00")
    _repaid(loans["L2"], _d(12, 3), "300.00", status="pending_verification")
    _repaid(loans["L4"], _d(12, 3), "200.00")
    _repaid(loans["L5"], _d(11, 19), "3050.00")
    _repaid(loans["L5"], _d(11, 20), "50.00")
    _repaid(loans["L1"], _d(12, 1), "700.00")
    collection_snapshot(business_date=_d(11, 30))
    collection_snapshot(business_date=DAY)
    recovery_days_write(first=_d(9, 1), last=DAY)  # the past dates in one pass
    return portfolio


def _classes(figures):
    return [(row["classification"], row["loans"], row["outstanding"], row["share"])
            for row in figures["classification"]]


def _recovery(figures):
    return [(row["bucket"], row["entered"], row["entered_owed"], row["recovered"], row["rate"])
            for row in figures["recovery"]]


def test_classification(portfolio):
    """Normal L1 + L3 20,000 of 38,000 = 52.63 %; special mention L2 10,000 = 26.32 %; substandard
    L4 8,000 = 21.05 %, which is all the non-performing."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert f["classification_as_of"] == DAY
    assert _classes(f) == [("normal", 2, D("20000.00"), D("52.63")),
                           ("special_mention", 1, D("10000.00"), D("26.32")),
                           ("substandard", 1, D("8000.00"), D("21.05")),
                           ("doubtful", 0, D("0.00"), D("0.00")), ("loss", 0, D("0.00"), D("0.00"))]
    assert (f["npl_outstanding"], f["npl_rate"]) == (D("8000.00"), D("21.05"))


def test_classification_filters(portfolio):
    """Product cash: L4 only. Funder bank: its 7,000 of L2, which it leads. A partner's channel:
    nothing. An end before any close: no figures."""
    cash = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, product_id=portfolio.cash.pk))
    assert [row for row in _classes(cash) if row[1]] == [("substandard", 1, D("8000.00"), D("100.00"))]
    assert cash["npl_rate"] == D("100.00")
    bank = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, funder_id=portfolio.bank.pk))
    assert [row for row in _classes(bank) if row[1]] == [("special_mention", 1, D("7000.00"), D("100.00"))]
    assert bank["npl_rate"] == D("0.00")
    own = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, funder_id=portfolio.own.pk))
    assert _classes(own)[:3] == [("normal", 2, D("20000.00"), D("64.52")),
                                 ("special_mention", 0, D("3000.00"), D("9.68")),
                                 ("substandard", 1, D("8000.00"), D("25.81"))]
    before = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=_d(11, 1), end=_d(11, 29)))
    assert before["classification_as_of"] is None and before["npl_rate"] is None
    assert {row["loans"] for row in before["classification"]} == {0}


def test_recovery_by_bucket(portfolio):
    """M1: entered by L2 (10,500) and L5 (3,050) = 13,550; recovered 1,000 + 3,050 = 4,050 →
    29.89 %. M2: L2 entered owing 10,800, repaid 400 → 3.70 %. M3: nothing in the range. M3+: L4
    entered owing 8,900, repaid 200 → 2.25 %."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert _recovery(f) == [("M1", 2, D("13550.00"), D("4050.00"), D("29.89")),
                            ("M2", 1, D("10800.00"), D("400.00"), D("3.70")),
                            ("M3", 0, D("0.00"), D("0.00"), None),
                            ("M3+", 1, D("8900.00"), D("200.00"), D("2.25"))]


def test_recovery_filters_and_range(portfolio):
    """Cash: L5 in M1 (3,050 of 3,050 → 100 %), L4 in M3+. Bank (leads L2 with 70 %): its share
    of L2's amounts, the case counted on its row; own funds: L5, L4 and 30 % of L2's. December
    only: L2 entered M2 and repaid 400 there; L4's 200 in M3+ was recovered from a case that
    entered the bucket before the range (no rate: nothing entered)."""
    cash = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, product_id=portfolio.cash.pk))
    assert _recovery(cash) == [("M1", 1, D("3050.00"), D("3050.00"), D("100.00")),
                               ("M2", 0, D("0.00"), D("0.00"), None), ("M3", 0, D("0.00"), D("0.00"), None),
                               ("M3+", 1, D("8900.00"), D("200.00"), D("2.25"))]
    bank = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, funder_id=portfolio.bank.pk))
    assert _recovery(bank)[:2] == [("M1", 1, D("7350.00"), D("700.00"), D("9.52")),
                                   ("M2", 1, D("7560.00"), D("280.00"), D("3.70"))]
    own = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, funder_id=portfolio.own.pk))
    assert _recovery(own) == [("M1", 1, D("6200.00"), D("3350.00"), D("54.03")),
                              ("M2", 0, D("3240.00"), D("120.00"), D("3.70")),
                              ("M3", 0, D("0.00"), D("0.00"), None),
                              ("M3+", 1, D("8900.00"), D("200.00"), D("2.25"))]
    december = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=_d(12, 1), end=DAY))
    assert _recovery(december) == [("M1", 0, D("0.00"), D("0.00"), None),
                                   ("M2", 1, D("10800.00"), D("400.00"), D("3.70")),
                                   ("M3", 0, D("0.00"), D("0.00"), None),
                                   ("M3+", 0, D("0.00"), D("200.00"), None)]


def test_the_nightly_write_of_one_date_matches_the_range_write(portfolio):
    """The close writes one date at a time; the backfill a range in one pass: the same rows."""
    def rows():
        return sorted(RecoveryDay.objects.values_list("business_date", "bucket", "product_id", "funder_id",
                                                      "entered", "entered_owed", "recovered"))
    ranged = rows()
    RecoveryDay.objects.all().delete()
    day = _d(9, 1)
    while day <= DAY:
        collection_snapshot(business_date=day)
        day += datetime.timedelta(days=1)
    assert rows() == ranged
    # L2 (two funders each): 11-21, 11-25, 12-01, 12-02; L4: 09-01, 10-01, 10-31, 11-30, 12-03;
    # L5: 11-17, 11-19
    assert len(ranged) == 15
    # normal (L1, L3), special mention (L2's two funders), substandard (L4)
    assert ClassificationDay.objects.filter(business_date=DAY).count() == 4


def test_the_page_shows_the_panels(client, portfolio):
    client.force_login(portfolio.manager)
    html = client.get("/dashboard/", {"start": START.isoformat(), "end": DAY.isoformat()}).content.decode()
    assert '<dd id="npl-rate">21.05 %</dd>' in html
    row = html[html.index('<tr data-class="substandard">'):]
    assert row.index('<td class="num">1</td><td class="num">8,000.00</td><td class="num">21.05 %</td></tr>') < 80
    assert ('<tr data-bucket="M1"><td>M1</td><td class="num">2</td><td class="num">13,550.00</td>'
            '<td class="num">4,050.00</td><td class="num">29.89 %</td></tr>') in html


def test_disbursement_from_the_nightly_aggregate_matches_the_loan_table(portfolio):
    """The disbursed figures (test_instruments.py: 4 loans, 26,000.00, one repeat → 25.0 %; the bank's
    part 7,000.00 of one loan) are the same once the close has aggregated the value dates
    (``DisbursementDay``) as when they are read from the loan table."""
    from servicing.services.portfolio import disbursement_days_write

    def figures(**filters):
        f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY, **filters))
        return f["disbursed_count"], f["disbursed_amount"], f["repeat_loans"], f["repeat_rate"]

    live = (figures(), figures(funder_id=portfolio.bank.pk), figures(product_id=portfolio.cash.pk))
    assert live == ((4, D("26000.00"), 1, D("25.0")), (1, D("7000.00"), 0, D("0.0")),
                    (2, D("11000.00"), 0, D("0.0")))
    assert disbursement_days_write(first=_d(10, 1), last=_d(12, 3)) == 6  # L1, L2 (two funders), L3, L4, L5
    assert (figures(), figures(funder_id=portfolio.bank.pk), figures(product_id=portfolio.cash.pk)) == live


def test_a_co_lent_loan_s_recovery_is_split_by_share_the_lead_taking_the_rest(portfolio):
    """L2 (bank 70 % lead, own 30 %) repaid 0.05 more on 11-25: 1,000.05 splits 300.02 (own, half
    up) and 700.03 (the bank takes the rest); the funders' rows add up to the loan's amounts."""
    _repaid(portfolio.loans["L2"], _d(11, 25), "0.05")
    recovery_days_write(first=_d(11, 25), last=_d(11, 25))
    assert sorted(RecoveryDay.objects.filter(business_date=_d(11, 25)).values_list(
        "funder__code", "entered", "recovered")) == [("bank", 0, D("700.03")), ("own", 0, D("300.02"))]
    assert sorted(RecoveryDay.objects.filter(business_date=_d(11, 21)).values_list(
        "funder__code", "entered", "entered_owed")) == [("bank", 1, D("7350.00")), ("own", 0, D("3150.00"))]
