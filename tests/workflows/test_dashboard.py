"""The origination dashboard (数据仪表盘): the day's applications by status, the straight-through
rate, open tasks past their SLA per work group, QA pending and failed — exact counts, scoped to
the viewer's branches."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import make_branch, make_staff
from workflows.models import CreditApplication, QualityInspection, TaskSla
from workflows.selectors.dashboard import dashboard_for
from workflows.services import applications as services

from .factories import make_application
from .flow_factories import create_application, grant, setup_origination

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day, hour=12):
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """Today, in the viewer's branch: three applications in the flow (two in review, one in
    approval, all past their SLA), five entered directly; plus one of yesterday and others of
    another branch that must not count."""
    o = setup_origination()
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        in_review = [create_application(o, sequence="991"), create_application(o, sequence="992")]
        big = create_application(o, sequence="993", amount=Decimal("60000.00"))
    services.application_approve(application=big, actor=o.reviewer)  # above the threshold: to approval
    assert CreditApplication.objects.get(pk=big.pk).status == "in_approval"
    TaskSla.objects.filter(task__status__in=("NEW", "ASSIGNED")).update(due_at=timezone.now() - timedelta(hours=1))
    TaskSla.objects.filter(application=in_review[0]).update(escalated_at=timezone.now())

    b = o.branch
    straight = make_application(branch=b, status="approved", approval_mode="straight_through",
                                approved_at=local(today, 0))
    straight_contract = make_application(branch=b, status="contract", approval_mode="straight_through",
                                         approved_at=timezone.now())
    reviewed = make_application(branch=b, status="contract", approval_mode="review", approved_at=timezone.now())
    make_application(branch=b, status="rejected")
    older = make_application(branch=b, status="draft")
    CreditApplication.objects.filter(pk=older.pk).update(created_at=local(today - timedelta(days=1)))
    old_approval = make_application(branch=b, status="approved", approval_mode="straight_through",
                                    approved_at=local(today - timedelta(days=1)))
    CreditApplication.objects.filter(pk=old_approval.pk).update(created_at=local(today - timedelta(days=1)))

    elsewhere = make_branch("bj", name="Beijing")
    other = make_application(branch=elsewhere, status="approved", approval_mode="straight_through",
                             approved_at=timezone.now())

    QualityInspection.objects.create(application=straight, business_date=today)
    QualityInspection.objects.create(application=straight_contract, business_date=today, status="failed",
                                     inspected_at=timezone.now(), findings="x")
    QualityInspection.objects.create(application=reviewed, business_date=today, status="passed",
                                     inspected_at=timezone.now())
    QualityInspection.objects.create(application=old_approval, business_date=today - timedelta(days=40),
                                     status="failed", inspected_at=timezone.now() - timedelta(days=40))
    QualityInspection.objects.create(application=other, business_date=today)  # another branch
    return o, today


def test_the_figures_of_the_day(world):
    o, today = world
    figures = dashboard_for(o.reviewer, day=today)
    assert {row["status"]: row["count"] for row in figures["by_status"] if row["count"]} == {
        "in_review": 2, "in_approval": 1, "contract": 2, "approved": 1, "rejected": 1}
    assert len(figures["by_status"]) == 11  # every status, zeros included
    assert figures["applications_total"] == 7
    assert (figures["approvals_total"], figures["straight_through"], figures["straight_through_rate"]) == (
        3, 2, Decimal("66.7"))
    assert figures["overdue_by_work_group"] == [
        {"work_group__name": "Approval", "overdue": 1, "escalated": 0},
        {"work_group__name": "Review", "overdue": 2, "escalated": 1},
    ]
    assert figures["overdue_total"] == 3
    assert (figures["qa_pending"], figures["qa_failed"], figures["qa_passed"]) == (1, 1, 1)


def test_yesterday_and_another_branch(world):
    o, today = world
    yesterday = dashboard_for(o.reviewer, day=today - timedelta(days=1))
    assert {row["status"]: row["count"] for row in yesterday["by_status"] if row["count"]} == {
        "draft": 1, "approved": 1}
    assert (yesterday["approvals_total"], yesterday["straight_through"], yesterday["straight_through_rate"]) == (
        1, 1, Decimal("100.0"))

    beijing = grant(make_staff("bj-officer", CreditApplication.objects.get(branch__code="bj").branch))
    theirs = dashboard_for(beijing, day=today)
    assert theirs["applications_total"] == 1
    assert (theirs["approvals_total"], theirs["straight_through_rate"]) == (1, Decimal("100.0"))
    assert (theirs["overdue_total"], theirs["qa_pending"], theirs["qa_failed"]) == (0, 1, 0)


def test_no_approvals_means_no_rate(world):
    o, today = world
    figures = dashboard_for(o.reviewer, day=today - timedelta(days=10))
    assert (figures["applications_total"], figures["approvals_total"], figures["straight_through_rate"]) == (
        0, 0, None)


def test_the_page(client, world):
    o, today = world
    client.force_login(o.reviewer)
    response = client.get("/origination/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<span id="dashboard-day">{today:%Y-%m-%d}</span>' in html
    for figure, value in (("applications-total", "7"), ("approvals-total", "3"), ("straight-through", "2"),
                          ("straight-through-rate", "66.7 %"), ("overdue-total", "3"), ("qa-pending", "1"),
                          ("qa-failed", "1"), ("qa-passed", "1")):
        assert f'<dd id="{figure}">{value}</dd>' in html, figure
    assert '<tr data-status="in_review"><td>In review</td><td class="num">2</td></tr>' in html
    assert '<tr><td>Review</td><td class="num">2</td><td class="num">1</td></tr>' in html

    html = client.get("/origination/dashboard/", {"date": (today - timedelta(days=1)).isoformat()}).content.decode()
    assert '<dd id="applications-total">2</dd>' in html and '<dd id="straight-through-rate">100.0 %</dd>' in html
    assert client.get("/origination/dashboard/", {"date": "nonsense"}).status_code == 200


def test_the_page_needs_the_permission(client, world):
    o, _today = world
    client.force_login(make_staff("nobody", o.branch))
    assert client.get("/origination/dashboard/").status_code == 403
