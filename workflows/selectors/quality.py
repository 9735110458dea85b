"""Reads of quality inspection (抽样质检): the QA queue of an inspector's branches and one
inspection (404 outside them)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from creditfactory.organisations.scoping import scope_queryset

from ..models import InspectionStatus, QualityInspection

__all__ = ["quality_inspection_for", "quality_inspections_for"]


def quality_inspections_for(user, *, status: str | None = InspectionStatus.PENDING) -> QuerySet:
    """Inspections of applications of the user's branches, oldest business date first;
    ``status=None`` for every status."""
    queryset = scope_queryset(QualityInspection.objects.all(), user, branch_field="application__branch")
    if status:
        queryset = queryset.filter(status=status)
    return (queryset.select_related("application__applicant", "application__branch",
                                    "application__product_version__product", "inspector")
            .order_by("business_date", "id"))


def quality_inspection_for(*, user, pk: int) -> QualityInspection:
    inspection = quality_inspections_for(user, status=None).filter(pk=pk).first()
    if inspection is None:
        raise Http404
    return inspection
