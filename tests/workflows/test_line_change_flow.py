"""The credit-line change flow: approval in the configured work group with four-eyes, or
applied directly when the product's approval node is off or a rule asks."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from viewflow.workflow.status import STATUS

from creditfactory.core.state import transitions_for
from servicing.models import CreditLineChange
from tests.factories import make_staff
from tests.workflows.line_factories import setup_lines
from workflows.selectors.line_changes import change_open_task, change_process, line_change_tasks_for
from workflows.services.line_changes import line_change_decide, line_change_submit

pytestmark = pytest.mark.django_db


def test_an_officers_increase_waits_for_approval_then_is_applied_by_another_person():
    s = setup_lines(limit="50000.00")
    change = line_change_submit(line=s.line, kind="increase", new_limit="70000", reason="Salary raise",
                                source="officer", actor=s.officer)
    s.line.refresh_from_db()
    assert (change.status, s.line.limit) == ("requested", Decimal("50000.00"))
    process = change_process(change)
    task = change_open_task(process)
    assert (task.flow_task.name, task.status, task.owner_permission_obj) == ("approval", STATUS.NEW, s.group)
    assert process.data["due_at"]  # the SLA clock
    assert [row["change"] for row in line_change_tasks_for(s.approver)] == [change]
    assert line_change_tasks_for(s.officer) == []  # four-eyes: not offered to the requester
    with pytest.raises(ValidationError) as refused:
        line_change_decide(change=change, actor=s.officer, action="approve")
    assert "actor" in refused.value.message_dict
    change = line_change_decide(change=change, actor=s.approver, action="approve", note="Checked payslips")
    s.line.refresh_from_db()
    assert (change.status, change.decided_by, change.decision_note, s.line.limit) == (
        "applied", s.approver, "Checked payslips", Decimal("70000.00"))
    process.refresh_from_db()
    assert process.status == STATUS.DONE
    [limit_move] = transitions_for(s.line).filter(field="limit")
    assert limit_move.actor == s.approver


def test_the_approver_rejects_with_a_reason():
    s = setup_lines()
    change = line_change_submit(line=s.line, kind="terminate", reason="Customer asked", source="officer",
                                actor=s.officer)
    with pytest.raises(ValidationError) as refused:
        line_change_decide(change=change, actor=s.approver, action="reject", note="")
    assert "note" in refused.value.message_dict
    change = line_change_decide(change=change, actor=s.approver, action="reject", note="Loans outstanding")
    s.line.refresh_from_db()
    assert (change.status, change.decision_note, s.line.status) == ("rejected", "Loans outstanding", "active")
    with pytest.raises(ValidationError):
        line_change_decide(change=change, actor=s.approver, action="approve")


def test_someone_outside_the_work_group_cannot_decide():
    s = setup_lines()
    outsider = make_staff("outsider", s.branch)
    change = line_change_submit(line=s.line, kind="freeze", reason="Suspicious", source="officer", actor=s.officer)
    with pytest.raises(PermissionDenied):
        line_change_decide(change=change, actor=outsider, action="approve")
    assert CreditLineChange.objects.get(pk=change.pk).status == "requested"


def test_with_the_approval_node_off_a_change_is_applied_directly():
    s = setup_lines(approval=False)
    change = line_change_submit(line=s.line, kind="freeze", reason="Overdue elsewhere", source="officer",
                                actor=s.officer)
    s.line.refresh_from_db()
    assert (change.status, change.status_before, change.status_after, s.line.status) == (
        "applied", "active", "frozen", "frozen")
    assert change_open_task(change_process(change)) is None


def test_a_rule_change_is_applied_directly_even_with_approval_on():
    s = setup_lines(approval=True, limit="50000.00", used="10000.00")
    change = line_change_submit(line=s.line, kind="decrease", new_limit="20000", reason="Court record",
                                source="rule", actor_label="rule")
    s.line.refresh_from_db()
    assert (change.status, s.line.limit) == ("applied", Decimal("20000.00"))


def test_a_refused_request_starts_no_process():
    s = setup_lines(limit="50000.00", used="45000.00")
    with pytest.raises(ValidationError):
        line_change_submit(line=s.line, kind="decrease", new_limit="40000", reason="x", source="officer",
                           actor=s.officer)
    assert CreditLineChange.objects.count() == 0


def test_a_member_of_another_branch_cannot_take_the_task():
    from creditfactory.organisations import services as org_services
    from tests.factories import make_branch

    s = setup_lines()
    elsewhere = make_staff("elsewhere", make_branch("sz"))
    org_services.work_group_add_member(work_group=s.group, user=elsewhere)
    assert elsewhere.has_perm("organisations.work_on_queue", s.group)
    change = line_change_submit(line=s.line, kind="freeze", reason="Suspicious", source="officer", actor=s.officer)
    task = change_open_task(change_process(change))
    assert task.flow_task.can_assign(s.approver, task) is True
    assert task.flow_task.can_assign(elsewhere, task) is False
    assert task.flow_task.can_view(elsewhere, task) is False
    assert line_change_tasks_for(elsewhere) == []
