"""Quality inspection (抽样质检) of straight-through approvals.

* ``quality_sample(business_date=...)`` — the daily beat job: of each product's straight-through
  approvals of ``business_date`` (``approved_at`` on that day, Asia/Shanghai), put the product's
  QA share (``ProductFlowSettings.qa_sample_percent``) into the QA queue. The count is
  ``ceil(approvals × percent / 100)`` — so at least one when the percentage is above zero and
  there were approvals — and the applications are the first ones by the SHA-256 of
  ``"<application number>:<date>"``: the same date always picks the same applications, whoever
  runs it. Re-running a date samples nothing twice (an application has at most one inspection).
* ``quality_inspection_complete`` — the inspector's verdict, passed or failed with findings,
  recorded through ``change_state``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import change_state, record_transition
from creditfactory.core.texts import stored_text
from creditfactory.organisations.scoping import can_see

from ..locks import quality_inspection_lock
from ..models import (
    INSPECTION_MACHINE,
    ApprovalMode,
    CreditApplication,
    InspectionStatus,
    ProductFlowSettings,
    QualityInspection,
)

__all__ = ["INSPECT_PERMISSION", "SampleResult", "quality_inspection_complete", "quality_sample",
           "quality_sample_size", "sample_key"]

INSPECT_PERMISSION = "workflows.change_qualityinspection"


@dataclass
class SampleResult:
    business_date: date
    approvals: int = 0
    sampled: int = 0  # new inspections created by this run
    per_product: dict = field(default_factory=dict)  # code → {"approvals", "percent", "selected", "created"}


def quality_sample_size(*, approvals: int, percent: Decimal) -> int:
    """How many of ``approvals`` a ``percent`` sample takes: rounded up, never more than all."""
    if approvals <= 0 or percent <= 0:
        return 0
    return min(approvals, math.ceil(Decimal(approvals) * Decimal(percent) / Decimal(100)))


def sample_key(*, number: str, business_date: date) -> str:
    """The stable sort key of an application in the sample of ``business_date``."""
    return hashlib.sha256(f"{number}:{business_date.isoformat()}".encode()).hexdigest()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = timezone.get_default_timezone()  # Asia/Shanghai (settings.TIME_ZONE)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


@transaction.atomic
def quality_sample(*, business_date: date) -> SampleResult:
    """Sample ``business_date``'s straight-through approvals into the QA queue (see the module)."""
    start, end = _day_bounds(business_date)
    approvals = (CreditApplication.objects
                 .filter(approval_mode=ApprovalMode.STRAIGHT_THROUGH, approved_at__gte=start, approved_at__lt=end)
                 .values_list("id", "number", "product_version__product_id", "product_version__product__code"))
    by_product: dict[int, list[tuple[int, str]]] = {}
    codes: dict[int, str] = {}
    for application_id, number, product_id, code in approvals:
        by_product.setdefault(product_id, []).append((application_id, number))
        codes[product_id] = code
    percents = dict(ProductFlowSettings.objects.filter(product_id__in=by_product)
                    .values_list("product_id", "qa_sample_percent"))
    result = SampleResult(business_date=business_date)
    for product_id, applications in sorted(by_product.items(), key=lambda item: codes[item[0]]):
        percent = percents.get(product_id, Decimal("0.00"))
        size = quality_sample_size(approvals=len(applications), percent=percent)
        chosen = sorted(applications,
                        key=lambda app: sample_key(number=app[1], business_date=business_date))[:size]
        created = 0
        for application_id, _number in chosen:
            inspection, was_created = QualityInspection.objects.get_or_create(
                application_id=application_id, defaults={"business_date": business_date})
            if was_created:
                created += 1
                record_transition(inspection, from_state="", to_state=InspectionStatus.PENDING, actor_label="system",
                                  reason=stored_text(gettext_noop("Sampled for quality inspection: %(percent)s%% of "
                                                                  "%(count)d straight-through approvals of %(date)s."),
                                                     percent=percent, count=len(applications), date=business_date))
        result.approvals += len(applications)
        result.sampled += created
        result.per_product[codes[product_id]] = {"approvals": len(applications), "percent": f"{percent:.2f}",
                                                 "selected": len(chosen), "created": created}
    return result


@transaction.atomic
def quality_inspection_complete(*, inspection: QualityInspection, actor, result: str,
                                findings: str = "") -> QualityInspection:
    """The inspector's verdict on a pending inspection: ``passed`` or ``failed`` (findings
    required). The inspector may not be whoever entered the application."""
    if not getattr(actor, "pk", None) or not actor.has_perm(INSPECT_PERMISSION):
        raise PermissionDenied(_("You may not inspect applications."))
    inspection = quality_inspection_lock(inspection.pk)
    if not can_see(actor, inspection, branch_field="application__branch"):
        raise PermissionDenied(_("This application belongs to a branch you do not work for."))
    findings = (findings or "").strip()
    errors: dict[str, list[str]] = {}
    if result not in (InspectionStatus.PASSED, InspectionStatus.FAILED):
        errors["result"] = [_("Choose passed or failed.")]
    elif result == InspectionStatus.FAILED and not findings:
        errors["findings"] = [_("Describe what was wrong.")]
    if inspection.status != InspectionStatus.PENDING:
        errors["status"] = [_("This inspection was completed already (%(status)s).")
                            % {"status": inspection.get_status_display().lower()}]
    if inspection.application.created_by_id == actor.pk:
        errors["actor"] = [_("You entered this application: someone else must inspect it.")]
    if errors:
        raise ValidationError(errors)
    inspection.inspector, inspection.findings, inspection.inspected_at = actor, findings, timezone.now()
    change_state(inspection, to_state=result, machine=INSPECTION_MACHINE, actor=actor,
                 reason=findings or _("Passed."), extra_update_fields=("inspector", "findings", "inspected_at"))
    return inspection
