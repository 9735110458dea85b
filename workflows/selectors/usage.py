"""Usage statistics (使用情况) of a date range: partner API calls (``ApiUsage``, counted per partner,
day, endpoint, method and status by the partner middleware) per partner and day, per endpoint and
per status; staff active per day (people who changed the state of something: the state log);
tasks handled per work group and per officer (viewflow tasks finished in the range, the work
group being the queue they were created in); webhook deliveries per partner, delivered and given
up."""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from creditfactory.core.models import StateTransition
from creditfactory.organisations.models import WorkGroup
from creditfactory.partners.models import ApiUsage, DeliveryStatus, WebhookDelivery

from .instruments import day_bounds

__all__ = ["usage_figures"]


def _days(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    return [start + datetime.timedelta(days=n) for n in range((end - start).days + 1)]


def usage_figures(*, start: datetime.date, end: datetime.date) -> dict:
    days = _days(start, end)
    zone = timezone.get_default_timezone()
    first, last = day_bounds(start, last=end)

    usage = ApiUsage.objects.filter(day__gte=start, day__lte=end)
    per_day: dict[str, dict[datetime.date, int]] = {}
    for row in usage.values("partner__name", "day").order_by("partner__name", "day").annotate(n=Sum("count")):
        per_day.setdefault(row["partner__name"], {})[row["day"]] = row["n"]
    api_series = [(name, [by_day.get(day, 0) for day in days]) for name, by_day in per_day.items()]
    by_endpoint = list(usage.values("partner__name", "method", "endpoint").order_by("partner__name", "endpoint",
                                                                                    "method")
                       .annotate(calls=Sum("count"), errors=Sum("count", filter=Q(status_code__gte=400))))
    by_status = list(usage.values("status_code").order_by("status_code").annotate(calls=Sum("count")))

    staff = dict(StateTransition.objects.filter(at__gte=first, at__lt=last, actor__isnull=False)
                 .annotate(day=TruncDate("at", tzinfo=zone)).values("day").order_by("day")
                 .annotate(n=Count("actor", distinct=True)).values_list("day", "n"))
    active_staff = [staff.get(day, 0) for day in days]

    done = Task.objects.filter(status=STATUS.DONE, finished__gte=first, finished__lt=last)
    by_group = dict(done.filter(owner_permission_content_type=ContentType.objects.get_for_model(WorkGroup))
                    .values("owner_permission_obj_pk").order_by().annotate(n=Count("id"))
                    .values_list("owner_permission_obj_pk", "n"))
    names = dict(WorkGroup.objects.filter(pk__in=[int(pk) for pk in by_group if str(pk).isdigit()])
                 .values_list("pk", "name"))
    tasks_by_group = sorted(((names.get(int(pk), pk), n) for pk, n in by_group.items() if str(pk).isdigit()),
                            key=lambda row: str(row[0]))
    tasks_by_officer = list(done.filter(owner__isnull=False).values("owner__username").order_by("owner__username")
                            .annotate(n=Count("id")))

    webhooks = list(WebhookDelivery.objects.filter(created_at__gte=first, created_at__lt=last)
                    .values("endpoint__partner__name").order_by("endpoint__partner__name")
                    .annotate(delivered=Count("id", filter=Q(status=DeliveryStatus.SUCCEEDED)),
                              failed=Count("id", filter=Q(status=DeliveryStatus.FAILED)),
                              pending=Count("id", filter=Q(status=DeliveryStatus.PENDING))))
    return {"start": start, "end": end, "days": days, "api_series": api_series, "api_total": sum(
        sum(values) for _name, values in api_series), "api_by_endpoint": by_endpoint, "api_by_status": by_status,
        "active_staff": active_staff, "tasks_by_group": tasks_by_group, "tasks_by_officer": tasks_by_officer,
        "webhooks": webhooks}
