"""Reads behind the partner API's application resources: one queryset that loads everything an
application's representation shows in a constant number of queries (lists have no N+1), its
filters, and the per-application facts read from what that queryset prefetched.

Scoping to the calling partner is the API's job (``creditfactory.partners.scoping``): these
querysets are deliberately unscoped.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from viewflow.workflow.models import Task

from risk.models import Decision, DecisionStatus

from ..models import (
    ACTIVE_APPOINTMENT_STATUSES,
    ApplicationDocument,
    ApplicationStatus,
    CreditApplication,
    SigningAppointment,
)
from .applications import OPEN, WAITING_TYPES, application_current_node

__all__ = [
    "api_active_appointment", "api_application_filter", "api_application_queryset", "api_current_decision",
    "api_current_node", "api_documents_outstanding", "api_documents_requested", "api_latest_appointment",
]


def api_application_queryset() -> QuerySet:
    """Applications with what their API representation needs: applicant, enterprise, product,
    credit line and process joined; the current decision, the open waiting tasks, the signing
    appointments and the documents prefetched (four queries whatever the page size)."""
    return (
        CreditApplication.objects.select_related(
            "applicant", "enterprise", "product_version__product", "credit_line__product_version__product",
            "process")
        .prefetch_related(
            # Only what the customer-facing summary shows: the feature snapshot and rule results are large.
            Prefetch("risk_decisions",
                     queryset=Decision.objects.filter(status=DecisionStatus.CURRENT).order_by("-id").only(
                         "id", "application_id", "status", "outcome", "grade", "limit", "rate_percent", "rate_basis",
                         "reasons", "created_at"),
                     to_attr="api_current_decisions"),
            Prefetch("process__task_set",
                     queryset=Task.objects.filter(status__in=OPEN, flow_task_type__in=WAITING_TYPES)
                     .order_by("created", "id"),
                     to_attr="api_waiting_tasks"),
            Prefetch("signing_appointments", queryset=SigningAppointment.objects.order_by("-created_at", "-id"),
                     to_attr="api_appointments"),
            Prefetch("documents", queryset=ApplicationDocument.objects.order_by("created_at", "id"),
                     to_attr="api_documents"),
        )
        .order_by("-created_at", "-id")
    )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def api_application_filter(queryset: QuerySet, *, status: str = "", product: str = "", created_from: date | None = None,
                           created_to: date | None = None, external_reference: str = "") -> QuerySet:
    """``created_from`` / ``created_to`` are whole local days, both inclusive."""
    if status:
        queryset = queryset.filter(status=status)
    if product:
        queryset = queryset.filter(product_version__product__code=product)
    if created_from is not None:
        queryset = queryset.filter(created_at__gte=_day_start(created_from))
    if created_to is not None:
        queryset = queryset.filter(created_at__lt=_day_start(date.fromordinal(created_to.toordinal() + 1)))
    if external_reference:
        queryset = queryset.filter(external_reference=external_reference)
    return queryset


def api_current_decision(application: CreditApplication):
    """The current automated decision, or None (read from the prefetch when there is one)."""
    decisions = getattr(application, "api_current_decisions", None)
    if decisions is None:
        return Decision.objects.filter(application=application, status=DecisionStatus.CURRENT).order_by("-id").first()
    return decisions[0] if decisions else None


def api_current_node(application: CreditApplication) -> str:
    """As ``selectors.applications.application_current_node``, from the prefetched tasks (or
    from ``api_known_node``, set by a caller that knows it without reading)."""
    known = getattr(application, "api_known_node", None)
    if known is not None:
        return known
    process = application.process if application.process_id else None
    tasks = getattr(process, "api_waiting_tasks", None) if process is not None else []
    if tasks is None:
        return application_current_node(application)
    return tasks[-1].flow_task.name if tasks else ""


def api_latest_appointment(application: CreditApplication) -> SigningAppointment | None:
    appointments = getattr(application, "api_appointments", None)
    if appointments is None:
        return application.signing_appointments.order_by("-created_at", "-id").first()
    return appointments[0] if appointments else None


def api_active_appointment(application: CreditApplication) -> SigningAppointment | None:
    return application.signing_appointments.filter(status__in=ACTIVE_APPOINTMENT_STATUSES).order_by("-id").first()


def _last_return(application: CreditApplication) -> dict | None:
    process = application.process if application.process_id else None
    actions = ((process.data or {}).get("actions") or []) if process is not None else []
    returns = [a for a in actions if a.get("action") == "return"]
    return returns[-1] if returns else None


def api_documents_requested(application: CreditApplication) -> list[str]:
    """The document kinds asked for while the application waits for documents (else [])."""
    if application.status != ApplicationStatus.RETURNED:
        return []
    request = _last_return(application)
    return list((request or {}).get("documents") or [])


def api_documents_outstanding(application: CreditApplication) -> list[str] | None:
    """For a returned application: the requested kinds not uploaded since the return ([] when
    all arrived, or when the request named no kind). None when nothing is being waited for."""
    if application.status != ApplicationStatus.RETURNED:
        return None
    request = _last_return(application)
    if request is None:
        return None
    since = datetime.fromisoformat(request["at"])
    uploaded = set(application.documents.filter(created_at__gte=since).values_list("kind", flat=True))
    return [kind for kind in (request.get("documents") or []) if kind not in uploaded]
