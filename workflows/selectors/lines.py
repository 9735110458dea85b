"""Reads of the back office's credit-line pages: the lines a user may see, one line with its
history, change requests, drawdowns and warnings, and the warnings queue."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from creditfactory.core.state import transitions_for
from creditfactory.organisations.models import WorkGroup
from creditfactory.organisations.scoping import scope_queryset
from servicing.models import CreditLine, CreditLineStatus, Drawdown, LineWarning, WarningStatus

__all__ = ["may_handle_warnings", "line_drawdowns", "line_for", "line_history", "line_warnings", "line_warnings_queue", "lines_for",
           "warning_for"]


def lines_for(user, *, status: str | None = None) -> QuerySet:
    queryset = scope_queryset(CreditLine.objects.select_related(
        "applicant", "product_version__product", "application", "partner"), user)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def line_for(*, user, pk: int) -> CreditLine:
    return get_object_or_404(lines_for(user), pk=pk)


def line_history(line: CreditLine) -> list[dict]:
    """The line's moves (status and limit), newest first, as display rows."""
    rows = []
    for move in transitions_for(line).select_related("actor").order_by("-at", "-pk"):
        if move.field == "status":
            def label(value):
                return CreditLineStatus(value).label if value in CreditLineStatus.values else value
            before, after = label(move.from_state) if move.from_state else "", label(move.to_state)
        else:
            before, after = move.from_state, move.to_state
        rows.append({"at": move.at, "field": move.field, "before": before, "after": after,
                     "actor": move.actor or move.actor_label, "reason": move.reason})
    return rows


def line_drawdowns(line: CreditLine) -> QuerySet:
    return Drawdown.objects.filter(credit_line=line).order_by("-created_at", "-id")


def line_warnings(line: CreditLine) -> QuerySet:
    return LineWarning.objects.filter(credit_line=line).select_related("handled_by").order_by("-created_at", "-id")


def line_warnings_queue(user, *, status: str | None = WarningStatus.OPEN) -> QuerySet:
    queryset = scope_queryset(LineWarning.objects.select_related(
        "credit_line__applicant", "credit_line__product_version__product", "handled_by"), user,
        branch_field="credit_line__branch")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("created_at", "id")


def may_handle_warnings(user) -> bool:
    """The permission ``servicing.handle_linewarning``, and work on the queue of the warnings work
    group (``WARNING_WORK_GROUP``) when that group exists."""
    if not getattr(user, "is_authenticated", False) or not user.has_perm("servicing.handle_linewarning"):
        return False
    group = WorkGroup.objects.filter(code=settings.WARNING_WORK_GROUP, is_active=True).first()
    return group is None or user.has_perm("organisations.work_on_queue", group)


def warning_for(*, user, pk: int) -> LineWarning:
    return get_object_or_404(line_warnings_queue(user, status=None), pk=pk)
