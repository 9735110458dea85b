"""The mobile cockpit (移动驾驶舱) on the constructed portfolio (instrument_factories): the day's
figures with their change from the day before and two weeks of trend, and the alerts — quota near
exhaustion, the overdue rate above its threshold, tasks past their SLA."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from servicing.models import PortfolioDay
from tests.factories import make_staff
from workflows.selectors.cockpit import TREND_DAYS, cockpit_figures

from .instrument_factories import DAY, build_portfolio

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def portfolio():
    built = build_portfolio()
    # the close of 11-30 saw nothing overdue yet
    PortfolioDay.objects.filter(business_date=datetime.date(2026, 11, 30)).update(m1_outstanding=0,
                                                                                  dpd30_outstanding=0)
    return built


def test_figures_change_and_trend(portfolio):
    """Applications on 12-04: A1, A2, A3 (3), none on 12-03, A4 on 12-01. Loans of 11-21..12-04: L4 8,000 on
    11-25 (index 4), L3 5,000 on 12-02 (index 11), none on 12-04. Portfolio: 38,000 both closes;
    M1+ 0.00 % then 18,000 / 38,000 = 47.37 %; DPD 30+ (L2 and L4) the same 47.37 %."""
    result = cockpit_figures(portfolio.manager, day=DAY)
    figures = {figure.key: figure for figure in result["figures"]}
    apps = figures["applications"]
    assert (apps.value, apps.previous, apps.change, apps.direction) == (3, 0, 3, "good")
    assert len(apps.trend) == TREND_DAYS and (apps.trend[10], apps.trend[-1], sum(apps.trend)) == (1, 3, 4)
    disbursed = figures["disbursed"]
    assert (disbursed.value, disbursed.change) == (D("0.00"), D("0.00"))
    assert (disbursed.trend[4], disbursed.trend[11], sum(disbursed.trend)) == (D("8000.00"), D("5000.00"),
                                                                               D("13000.00"))
    outstanding = figures["outstanding"]
    assert (outstanding.value, outstanding.previous, outstanding.trend) == (
        D("38000.00"), D("38000.00"), [D("38000.00"), D("38000.00")])
    m1 = figures["m1-rate"]
    assert (m1.value, m1.previous, m1.change, m1.direction) == (D("47.37"), D("0.00"), D("47.37"), "bad")
    assert figures["dpd30-rate"].value == D("47.37")
    assert result["portfolio_as_of"] == DAY


def test_alerts(portfolio, settings):
    texts = [alert["text"] for alert in cockpit_figures(portfolio.manager, day=DAY)["alerts"]]
    assert texts == ["Partner bank has used 95.0 % of its total quota", "Partner bank has used 95.0 % of today's quota",
                     "The M1+ overdue rate is 47.37 %, above 5 %"]
    settings.COCKPIT_OVERDUE_ALERT_PERCENT = D("50")
    settings.COCKPIT_QUOTA_ALERT_PERCENT = D("96")
    assert cockpit_figures(portfolio.manager, day=DAY)["alerts"] == []


def test_sla_breaches_alert(django_capture_on_commit_callbacks):
    """A review task past its SLA in the manager's branch: the first alert names its work group."""
    from workflows.models import TaskSla

    from .flow_factories import create_application, setup_origination

    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        create_application(o, sequence="991")
    TaskSla.objects.update(due_at=timezone.now() - datetime.timedelta(hours=1))
    portfolio = build_portfolio()
    alerts = cockpit_figures(portfolio.manager, day=DAY)["alerts"]
    assert alerts[0] == {"kind": "sla", "text": "Review: 1 tasks past their SLA (0 escalated)"}


def test_the_page(client, portfolio):
    client.force_login(portfolio.manager)
    html = client.get("/cockpit/", {"date": DAY.isoformat()}).content.decode()
    assert '<span id="cockpit-day">2026-12-04</span>' in html
    assert '<section class="cockpit__card" id="figure-m1-rate">' in html
    assert '<p class="cockpit__value">47.37 %</p>' in html and "+47.37 % vs the day before" in html
    assert '<p class="cockpit__value">38,000.00</p>' in html
    assert html.count('class="sparkline"') == 6
    assert "cockpit__alert--quota" in html and "cockpit__alert--overdue" in html
    assert client.get("/cockpit/", {"date": "2026-13-01"}).status_code == 400


def test_the_page_needs_the_managers_permission(client, portfolio):
    client.force_login(make_staff("officer", portfolio.hq))
    assert client.get("/cockpit/").status_code == 403
