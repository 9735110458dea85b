"""What the drawdown flow decides on, read from its process (``process.data``, written by
``workflows.services.drawdown_steps``), and the drawdown querysets of the API and back office.

``process.data`` holds ``drawdown_id``, ``number``, ``amount``, ``entered_by``, ``config`` (the
node configuration snapshot), ``check`` (the in-loan check's outcome), ``routing`` (``funded`` |
``unfunded`` | ``timed_out``), ``actions`` (the reviewer's decisions) and ``settled`` (``paid`` |
``failed``)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.models import Process
from viewflow.workflow.status import STATUS

from servicing.fastpath import DISBURSEMENT_OF_DRAWDOWN
from servicing.models import Drawdown

from ..fastpath import artifact_process_id, process_open_task
from .flow import node_config, node_enabled, snapshot_work_group

__all__ = [
    "check_refused", "drawdown_disbursement", "drawdown_open_task", "drawdown_open_task_of", "drawdown_process",
    "drawdown_process_id", "drawdown_queryset", "drawdown_url",
    "four_eyes_excluded", "last_action", "needs_review", "review_work_group", "routing_outcome", "settled_paid",
]

OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED, STATUS.SCHEDULED)


def drawdown_queryset():
    """Drawdowns with what their representation reads."""
    return Drawdown.objects.select_related("credit_line", "product_version__product", "partner", "entered_by",
                                           "reviewed_by").prefetch_related("funding__funder")


def drawdown_process(drawdown) -> Process | None:
    """The drawdown's flow process (the process whose artifact it is), or None."""
    content_type = ContentType.objects.get_for_model(Drawdown)
    return (Process.objects.filter(artifact_content_type=content_type, artifact_object_id=drawdown.pk)
            .order_by("-id").first())


def drawdown_process_id(drawdown_id: int) -> int | None:
    """``drawdown_process(…).pk`` in one prebuilt statement (every drawdown's settlement)."""
    content_type = ContentType.objects.get_for_model(Drawdown)
    return artifact_process_id(Process, content_type_id=content_type.pk, object_id=drawdown_id)


def drawdown_open_task_of(process_id: int, *, name: str):
    """``drawdown_open_task`` of the process ``process_id``, prebuilt (every drawdown's settlement)."""
    from ..drawdown_flows import DrawdownFlow  # the flow imports these selectors

    node = DrawdownFlow.instance.node(name)
    return process_open_task(DrawdownFlow.task_class, process_pk=process_id, flow_task_ref=get_task_ref(node),
                             statuses=OPEN)


def drawdown_disbursement(drawdown_id: int):
    """The drawdown's disbursement (one at most, with its channel), or None — prebuilt."""
    return DISBURSEMENT_OF_DRAWDOWN.get(drawdown_id)


def drawdown_open_task(process, *, name: str):
    """The open task of node ``name`` in ``process`` (with its process), or None."""
    return None if process is None else drawdown_open_task_of(process.pk, name=name)


def drawdown_url(drawdown_id: int) -> str:
    return reverse("lending:drawdowns:detail", args=[drawdown_id])


def review_work_group(process):
    return snapshot_work_group(process, node="review")


def check_refused(process) -> bool:
    return ((process.data or {}).get("check") or {}).get("outcome") in ("reject", "freeze")


def routing_outcome(process) -> str:
    return (process.data or {}).get("routing") or ""


def needs_review(process) -> bool:
    """The product requires a review of this drawdown (amount, purpose), the review node is on
    for every drawdown of the product, or the in-loan check referred it."""
    data = process.data or {}
    return bool(data.get("review_required") or node_enabled(process, node="review")
                or (data.get("check") or {}).get("outcome") == "refer")


def last_action(process) -> str | None:
    actions = (process.data or {}).get("actions") or []
    return actions[-1]["action"] if actions else None


def four_eyes_excluded(process) -> set[int]:
    """Who may not review: whoever entered the drawdown."""
    entered_by = (process.data or {}).get("entered_by")
    return {entered_by} if entered_by else set()


def settled_paid(process) -> bool:
    return (process.data or {}).get("settled") == "paid"


def review_config(process) -> dict:
    return node_config(process, node="review")
