"""What the credit flow decides on, read from its process (``process.data``, see
``workflows.services.flow_steps``) and tasks: which path the route takes, whether an optional node
is on, the thresholds, the human decisions taken so far, and who may not take a task (four-eyes).
Reads only; the steps that change state are ``workflows.services.flow_steps``."""

from __future__ import annotations

from decimal import Decimal

from viewflow.workflow.status import STATUS

from ..fastpath import WORK_GROUPS
from ..locks import round_cached
from ..models import CreditApplication

__all__ = ["decision_outcome", "entered_by", "four_eyes_excluded", "four_eyes_review_excluded", "is_straight_through", "last_action", "needs_approval",
           "node_config", "node_enabled", "process_actions", "snapshot_work_group"]


def _config(process) -> dict:
    return (process.data or {}).get("config") or {}


def node_config(process, *, node: str) -> dict:
    """``node``'s entry of the configuration snapshot the process took when it started."""
    return _config(process).get("nodes", {}).get(node) or {}


def node_enabled(process, *, node: str) -> bool:
    return bool(node_config(process, node=node).get("enabled"))


def snapshot_work_group(process, *, node: str):
    """The work group of ``node`` in the process's snapshot, read once per locked round (a new
    task reads it for its queue permission and again to dispatch)."""
    work_group_id = node_config(process, node=node).get("work_group")
    if not work_group_id:
        return None
    return round_cached(("work_group", work_group_id), lambda: WORK_GROUPS.get(work_group_id))


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def decision_outcome(process) -> str | None:
    return ((process.data or {}).get("decision") or {}).get("outcome")


def is_straight_through(process) -> bool:
    """Approve without a human: the decision approves, the product allows it, within the ceiling."""
    flow_settings = _config(process).get("settings") or {}
    ceiling = _decimal(flow_settings.get("auto_approval_ceiling"))
    return (decision_outcome(process) == "approve" and bool(flow_settings.get("auto_approval_enabled"))
            and ceiling is not None and Decimal(process.data["amount"]) <= ceiling)


def process_actions(process, *, node: str | None = None) -> list[dict]:
    """The human decisions recorded on the process (of ``node`` only, when given), oldest first."""
    actions = (process.data or {}).get("actions") or []
    return [a for a in actions if node is None or a["node"] == node]


def last_action(process, *, node: str) -> str | None:
    actions = process_actions(process, node=node)
    return actions[-1]["action"] if actions else None


def needs_approval(process) -> bool:
    """After a review approve: the approval node is on and the amount is above the threshold (or
    there is no threshold), or the reviewer asked for an approver."""
    if not node_enabled(process, node="approval"):
        return False
    reviews = process_actions(process, node="review")
    if reviews and reviews[-1].get("request_approval"):
        return True
    threshold = _decimal((_config(process).get("settings") or {}).get("approval_threshold"))
    return threshold is None or Decimal(process.data["amount"]) > threshold


def entered_by(process) -> int | None:
    """The id of the staff user who entered the application (``None``: a partner or the system),
    from the process's data (``step_start``), or from the application for older processes."""
    data = process.data or {}
    if "entered_by" in data:
        return data["entered_by"]
    return CreditApplication.objects.filter(process_id=process.pk).values_list("created_by_id", flat=True).first()


def four_eyes_review_excluded(process) -> set[int]:
    """Users who may not review (审查): whoever entered the application."""
    created_by = entered_by(process)
    return {created_by} if created_by else set()


def four_eyes_excluded(process) -> set[int]:
    """Users who may not approve: whoever entered the application and whoever reviewed it."""
    excluded = four_eyes_review_excluded(process)
    review = process.flow_class.instance.node("review")  # the process's own flow's review node
    excluded |= set(
        process.task_set.filter(flow_task=review, status=STATUS.DONE, owner__isnull=False)
        .values_list("owner_id", flat=True)
    )
    excluded |= {a["by"] for a in process_actions(process, node="review")}
    return excluded
