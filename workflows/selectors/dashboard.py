"""The origination dashboard (数据仪表盘), branch-scoped figures of one day (Asia/Shanghai):

* applications created that day, by status;
* approvals that day and the share approved straight through (no human step);
* open tasks past their SLA now, per work group;
* quality inspection: pending now; passed and failed among those inspected in the 30 days up to
  the day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from creditfactory.organisations.models import WorkGroup
from creditfactory.organisations.scoping import scope_queryset

from ..models import (
    ApplicationStatus,
    ApprovalMode,
    CreditApplication,
    InspectionStatus,
    QualityInspection,
    TaskSla,
)
from .applications import OPEN

__all__ = ["QA_WINDOW_DAYS", "dashboard_for"]

QA_WINDOW_DAYS = 30


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()
    return (datetime.combine(first, time.min, tzinfo=zone),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone))


def dashboard_for(user, *, day: date | None = None, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    start, end = _bounds(day, day)
    applications = scope_queryset(CreditApplication.objects.all(), user)

    counts = dict(applications.filter(created_at__gte=start, created_at__lt=end)
                  .values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    by_status = [{"status": value, "label": label, "count": counts.get(value, 0)}
                 for value, label in ApplicationStatus.choices]

    approvals = applications.filter(approved_at__gte=start, approved_at__lt=end).aggregate(
        total=Count("id"), straight_through=Count("id", filter=Q(approval_mode=ApprovalMode.STRAIGHT_THROUGH)))
    rate = None
    if approvals["total"]:
        rate = (Decimal(approvals["straight_through"]) * 100 / approvals["total"]).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP)

    overdue = list(scope_queryset(TaskSla.objects.filter(task__status__in=OPEN, due_at__lte=now), user,
                                  branch_field="branch")
                   .values("work_group__name").annotate(overdue=Count("id"),
                                                        escalated=Count("id", filter=Q(escalated_at__isnull=False)))
                   .order_by("work_group__name"))

    inspections = scope_queryset(QualityInspection.objects.all(), user, branch_field="application__branch")
    window_start, window_end = _bounds(day - timedelta(days=QA_WINDOW_DAYS - 1), day)
    qa = inspections.aggregate(
        pending=Count("id", filter=Q(status=InspectionStatus.PENDING)),
        passed=Count("id", filter=Q(status=InspectionStatus.PASSED, inspected_at__gte=window_start,
                                    inspected_at__lt=window_end)),
        failed=Count("id", filter=Q(status=InspectionStatus.FAILED, inspected_at__gte=window_start,
                                    inspected_at__lt=window_end)),
    )
    return {
        "day": day, "now": now,
        "applications_total": sum(counts.values()), "by_status": by_status,
        "approvals_total": approvals["total"], "straight_through": approvals["straight_through"],
        "straight_through_rate": rate,
        "overdue_by_work_group": overdue, "overdue_total": sum(row["overdue"] for row in overdue),
        "qa_pending": qa["pending"], "qa_passed": qa["passed"], "qa_failed": qa["failed"],
        "qa_window_days": QA_WINDOW_DAYS,
    }


def open_tasks_by_work_group(work_groups) -> dict[int, int]:
    """Open tasks (new or assigned) waiting in each of ``work_groups``' queues, by work group id:
    the queue a task was created in is the object of its queue permission."""
    ids = [str(group.pk) for group in work_groups]
    if not ids:
        return {}
    rows = (Task.objects.filter(owner_permission_content_type=ContentType.objects.get_for_model(WorkGroup),
                                owner_permission_obj_pk__in=ids, status__in=[STATUS.NEW, STATUS.ASSIGNED])
            .values("owner_permission_obj_pk").annotate(n=Count("id")))
    return {int(row["owner_permission_obj_pk"]): row["n"] for row in rows}
