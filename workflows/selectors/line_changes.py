"""What the credit-line change flow decides on, read from its process (``process.data``, written
by ``workflows.services.line_changes``): applied directly or approved, four-eyes, the approver's
decision; and the reads of the back office and the API: a change's process and open approval task,
the changes of a line, the approval tasks a user may take."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import QuerySet
from django.urls import reverse
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from creditfactory.organisations.scoping import scope_queryset
from servicing.models import CreditLine, CreditLineChange, CreditLineChangeSource

from .flow import last_action as _last_action
from .flow import node_enabled, snapshot_work_group

__all__ = ["LINE_DETAIL_URL", "applied_directly", "change_open_task", "change_process", "four_eyes_excluded",
           "last_action", "line_change_tasks_for", "line_changes_for", "line_url", "snapshot_work_group"]

LINE_DETAIL_URL = "servicing:lines:detail"
OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
# Changes a rule or the system asks for are applied at once: a person confirms or lifts the
# warning that caused them instead (the warnings queue).
DIRECT_SOURCES = frozenset({CreditLineChangeSource.RULE, CreditLineChangeSource.SYSTEM})


def line_url(line_id: int) -> str:
    return reverse(LINE_DETAIL_URL, args=[line_id])


def applied_directly(process) -> bool:
    data = process.data or {}
    return data.get("source") in DIRECT_SOURCES or not node_enabled(process, node="approval")


def last_action(process) -> str | None:
    return _last_action(process, node="approval")


def four_eyes_excluded(process) -> set[int]:
    """Who may not approve: whoever requested the change."""
    requested_by = (process.data or {}).get("requested_by")
    return {requested_by} if requested_by else set()


def change_process(change: CreditLineChange) -> Process | None:
    content_type = ContentType.objects.get_for_model(CreditLineChange)
    return (Process.objects.filter(artifact_content_type=content_type, artifact_object_id=change.pk)
            .order_by("-pk").first())


def change_open_task(process) -> Task | None:
    """The open approval task of a change's process, or None."""
    if process is None:
        return None
    return (process.task_set.filter(status__in=OPEN, flow_task_type="HUMAN").select_related("owner")
            .order_by("-created", "-id").first())


def line_changes_for(line: CreditLine) -> QuerySet:
    return (CreditLineChange.objects.filter(credit_line=line)
            .select_related("requested_by", "decided_by", "partner").order_by("-created_at", "-id"))


def line_change_tasks_for(user) -> list[dict]:
    """Open approval tasks of line changes on lines of the user's branches that the user may take
    or has taken: [{"task", "change", "line"}], oldest first."""
    from ..line_flows import CreditLineChangeFlow

    node = CreditLineChangeFlow.instance.node("approval")
    tasks = list(Task.objects.filter(flow_task=node, status__in=OPEN).select_related("process", "owner")
                 .order_by("created", "id")[:500])
    changes = {c.pk: c for c in CreditLineChange.objects.filter(
        pk__in=[(t.process.data or {}).get("change_id") for t in tasks]).select_related("credit_line")}
    visible = set(scope_queryset(CreditLine.objects.filter(
        pk__in=[c.credit_line_id for c in changes.values()]), user).values_list("pk", flat=True))
    rows = []
    for task in tasks:
        change = changes.get((task.process.data or {}).get("change_id"))
        if change is None or change.credit_line_id not in visible:
            continue
        if task.owner_id and task.owner_id != user.pk:
            continue
        if not task.owner_id and not node.can_assign(user, task):
            continue
        rows.append({"task": task, "change": change, "line": change.credit_line})
    return rows
