"""The data dashboard (数据仪表盘) on a constructed portfolio (instrument_factories.build_portfolio):
exact figures for origination, disbursement, the nightly portfolio aggregates, vintage curves and
funder quota; the filters; the page, its permission and bad filters."""

import datetime
from decimal import Decimal

import pytest

from tests.factories import make_staff
from workflows.selectors.instruments import DashboardFilters, dashboard_figures

from .instrument_factories import DAY, build_portfolio

pytestmark = pytest.mark.django_db

D = Decimal
START = datetime.date(2026, 11, 15)


@pytest.fixture
def portfolio():
    return build_portfolio()


def test_origination_figures(portfolio):
    """Created 11-15..12-04 in the manager's branch: A1 (12-04, approved straight through in 30
    min), A2 (12-04, 150,000, approved by review in 120 min), A3 (12-04, 200,000, rejected), A4
    (12-01, in review), A5 (11-20, straight through in 10 min). Beijing's application is not seen.
    Decided 4, approved 3 → 75.0 %; straight through 2 of 3 → 66.7 %; times 10, 30, 120 min →
    p50 30.0, p90 30 + 0.8 × 90 = 102.0, within the hour 2 of 3; large decided A2 and A3, manual A2
    → 50.0 %."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert (f["applications_today"], f["applications_month"], f["applications_range"]) == (3, 4, 5)
    assert [(r["key"], r["today"], r["month"], r["range"]) for r in f["applications_by_channel"]] == [
        ("api", 1, 1, 1), ("back_office", 1, 2, 3), ("batch", 1, 1, 1)]
    assert sorted((r["label"], r["today"], r["month"], r["range"]) for r in f["applications_by_product"]) == sorted([
        (portfolio.education.name, 2, 2, 3), (portfolio.cash.name, 1, 2, 2)])
    assert (f["decided"], f["approved"], f["approval_rate"]) == (4, 3, D("75.0"))
    assert (f["straight_through"], f["straight_through_rate"]) == (2, D("66.7"))
    assert (f["approval_p50_minutes"], f["approval_p90_minutes"], f["approval_within_target_rate"]) == (
        D("30.0"), D("102.0"), D("66.7"))
    assert (f["large_decided"], f["large_manual"], f["large_manual_rate"]) == (2, 1, D("50.0"))


def test_disbursement_and_repeat_borrowing(portfolio):
    """Value dates 11-15..12-04: L2 10,000, L3 5,000, L4 8,000, L5 3,000 (L1 of 10-10 is before).
    L3 is the second loan of L1's borrower: 1 of 4 repeat → 25.0 %."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert (f["disbursed_count"], f["disbursed_amount"]) == (4, D("26000.00"))
    assert (f["repeat_loans"], f["repeat_rate"]) == (1, D("25.0"))

    bank = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, funder_id=portfolio.bank.pk))
    assert (bank["disbursed_count"], bank["disbursed_amount"], bank["repeat_rate"]) == (1, D("7000.00"), D("0.0"))


def test_portfolio_from_the_nightly_aggregate(portfolio):
    """Open on 12-04: L1 15,000 (own), L2 10,000 at 35 DPD (bank 7,000 / own 3,000), L3 5,000,
    L4 8,000 at 95 DPD. Outstanding 38,000; M1+ 18,000 → 47.37 %; M3+ 8,000 → 21.05 %."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert f["portfolio_as_of"] == DAY
    assert (f["open_loans"], f["outstanding"], f["m1_outstanding"], f["m3_outstanding"]) == (
        4, D("38000.00"), D("18000.00"), D("8000.00"))
    assert (f["m1_rate"], f["m3_rate"]) == (D("47.37"), D("21.05"))
    assert [(r["product__name"], r["loans"], r["outstanding"], r["m1"], r["m1_rate"])
            for r in f["outstanding_by_product"]] == sorted([
                (portfolio.cash.name, 1, D("8000.00"), D("8000.00"), D("100.0")),
                (portfolio.education.name, 3, D("30000.00"), D("10000.00"), D("33.3"))])
    assert [(r["funder__name"], r["loans"], r["outstanding"], r["m1"], r["m1_rate"])
            for r in f["outstanding_by_funder"]] == [
                ("Own funds", 3, D("31000.00"), D("11000.00"), D("35.5")),
                ("Partner bank", 1, D("7000.00"), D("7000.00"), D("100.0"))]


def test_vintage_curves(portfolio):
    """Cells of 11-30 (month 11) and 12-04 (month 12). Cohort 10 (L1 20,000, never 30+): 0 at
    MOB 1 and 2. Cohort 11 (L2 10,000 and L4 8,000 30+, L5 3,000 paid): 18,000 / 21,000 = 85.71 %
    at MOB 0 and 1. Cohort 12 (L3): 0 at MOB 0."""
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    assert f["vintage_months"] == [0, 1, 2]
    assert [(row["cohort"], row["points"]) for row in f["vintage"]] == [
        (datetime.date(2026, 10, 1), [None, D("0.00"), D("0.00")]),
        (datetime.date(2026, 11, 1), [D("85.71"), D("85.71"), None]),
        (datetime.date(2026, 12, 1), [D("0.00"), None, None]),
    ]


def test_funder_quota(portfolio):
    f = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY))
    bank = next(row for row in f["quota"] if row["funder"] == portfolio.bank)
    assert (bank["total_used"], bank["total_rate"], bank["daily_used"], bank["daily_rate"]) == (
        D("95000.00"), D("95.0"), D("9500.00"), D("95.0"))
    own = next(row for row in f["quota"] if row["funder"] == portfolio.own)
    assert (own["total_rate"], own["daily_used"], own["daily_rate"]) == (None, D("0.00"), None)
    assert (f["sla_breaches"], f["sla_breaches_total"]) == ([], 0)


def test_filters(portfolio):
    """Product CASH: A3, A4 created; L4 8,000 open at 95 DPD (M3+ 100 %); L4 and L5 disbursed.
    Channel own (no partner): every loan here; a partner that has none: nothing."""
    cash = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=DAY, product_id=portfolio.cash.pk))
    assert (cash["applications_range"], cash["decided"], cash["approval_rate"]) == (2, 1, D("0.0"))
    assert (cash["disbursed_count"], cash["disbursed_amount"]) == (2, D("11000.00"))
    assert (cash["outstanding"], cash["m3_rate"]) == (D("8000.00"), D("100.00"))
    assert [row["cohort"] for row in cash["vintage"]] == [datetime.date(2026, 11, 1)]

    own = dashboard_figures(portfolio.manager, filters=DashboardFilters(start=START, end=DAY, channel="own"))
    assert (own["applications_range"], own["disbursed_count"], own["outstanding"]) == (5, 4, D("38000.00"))

    earlier = dashboard_figures(portfolio.manager, filters=DashboardFilters(
        start=START, end=datetime.date(2026, 12, 1)))
    assert earlier["portfolio_as_of"] == datetime.date(2026, 11, 30)


def test_the_page(client, portfolio):
    client.force_login(portfolio.manager)
    response = client.get("/dashboard/", {"start": START.isoformat(), "end": DAY.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    for figure, value in (("applications-today", "3"), ("applications-month", "4"), ("approval-rate", "75.0 %"),
                          ("straight-through-rate", "66.7 %"), ("approval-p50", "30.0"), ("approval-p90", "102.0"),
                          ("large-manual-rate", "50.0 %"), ("disbursed-count", "4"),
                          ("disbursed-amount", "26,000.00"), ("outstanding", "38,000.00"), ("m1-rate", "47.37 %"),
                          ("m3-rate", "21.05 %"), ("repeat-rate", "25.0 %")):
        assert f'<dd id="{figure}">{value}</dd>' in html, figure
    assert "<svg" in html and "cdn" not in html.lower()


def test_bad_filters_name_the_field(client, portfolio):
    client.force_login(portfolio.manager)
    response = client.get("/dashboard/", {"start": "2026-12-10", "end": "2026-12-01", "product": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-end"' in html and 'id="error-product"' in html


def test_the_page_needs_the_managers_permission(client, portfolio):
    client.force_login(make_staff("officer", portfolio.hq))
    assert client.get("/dashboard/").status_code == 403
