"""SLA of the in-loan human tasks: the disbursement review (放款审核) and the credit line change
approval get a deadline from their node's configuration, are counted on the SLA dashboard with a
link to what they are about, and are escalated once to the work group's lead by the beat job —
recorded in the drawdown's or the change's log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from creditfactory.core.state import transitions_for
from tests.factories import make_staff
from tests.workflows.flow_factories import grant
from tests.workflows.line_factories import setup_lines
from workflows.models import TaskSla
from workflows.selectors.applications import sla_dashboard_for
from workflows.selectors.drawdowns import drawdown_url
from workflows.selectors.line_changes import line_url
from workflows.services.dispatch import sla_escalate_overdue
from workflows.services.drawdowns import drawdown_request, drawdown_review
from workflows.services.line_changes import line_change_decide, line_change_submit

from .drawdown_factories import drawdown_body, line_api
from .test_drawdown_e2e import money, review_queue  # noqa: F401  (the funders and the review work group)

pytestmark = pytest.mark.django_db


def _overdue(**subject):
    TaskSla.objects.filter(**subject).update(due_at=timezone.now() - timedelta(minutes=5))


def test_a_line_change_approval_past_its_sla_is_escalated_once_to_the_lead():
    s = setup_lines(limit="50000.00")
    change = line_change_submit(line=s.line, kind="increase", new_limit="70000", reason="Salary raise",
                                source="officer", actor=s.officer)
    sla = TaskSla.objects.get(line_change=change)
    assert (sla.node, sla.work_group, sla.sla_hours, sla.branch, sla.application, sla.drawdown) == (
        "approval", s.group, 8, s.line.branch, None, None)
    assert sla.due_at - sla.task.created == timedelta(hours=8)
    assert sla_escalate_overdue() == 0  # not due yet
    _overdue(line_change=change)
    assert sla_escalate_overdue() == 1
    assert sla_escalate_overdue() == 0  # once
    sla.refresh_from_db()
    assert sla.escalated_to == s.approver  # the group's lead
    [record] = transitions_for(change).filter(field="sla")
    assert (record.from_state, record.to_state, record.actor_label) == ("approval", "escalated", "system")
    assert record.reason == f"approval open past its 8-hour SLA: escalated to {s.approver}."
    board = sla_dashboard_for(s.approver)
    [row] = board["overdue"]
    assert (row.subject_number, row.subject_url) == (change.number, line_url(s.line.pk))


def test_a_decided_line_change_is_not_escalated():
    s = setup_lines(limit="50000.00")
    change = line_change_submit(line=s.line, kind="increase", new_limit="70000", reason="Salary raise",
                                source="officer", actor=s.officer)
    line_change_decide(change=change, actor=s.approver, action="approve", note="Checked payslips")
    _overdue(line_change=change)
    assert sla_escalate_overdue() == 0


def test_a_disbursement_review_past_its_sla_is_escalated_once(money, django_capture_on_commit_callbacks):  # noqa: F811
    api = line_api(limit=Decimal("100000.00"))
    clerk = grant(make_staff("clerk", api.line.branch), "servicing.enter_drawdown", "servicing.review_drawdown")
    reviewer = grant(make_staff("reviewer", api.line.branch), "servicing.review_drawdown")
    group = review_queue(api, members=[reviewer, clerk])
    api.line.product_version.__class__.objects.filter(pk=api.line.product_version_id).update(
        drawdown_review_above=Decimal("50000.00"))
    api.line.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        drawdown = drawdown_request(line=api.line, data=drawdown_body(amount="60000.00"), actor=clerk)
    sla = TaskSla.objects.get(drawdown=drawdown)
    assert (sla.node, sla.work_group, sla.sla_hours, sla.branch_id) == ("review", group, 4, api.line.branch_id)
    _overdue(drawdown=drawdown)
    assert sla_escalate_overdue() == 1
    assert sla_escalate_overdue() == 0
    [record] = transitions_for(drawdown).filter(field="sla")
    assert (record.from_state, record.to_state) == ("review", "escalated")
    assert record.reason == f"review open past its 4-hour SLA: escalated to {reviewer}."
    [row] = sla_dashboard_for(reviewer)["overdue"]
    assert (row.subject_number, row.subject_url) == (drawdown.number, drawdown_url(drawdown.pk))
    with django_capture_on_commit_callbacks(execute=True):
        drawdown_review(drawdown=drawdown, actor=reviewer, action="approve")
    assert sla_dashboard_for(reviewer)["overdue"] == []  # done: no longer open
