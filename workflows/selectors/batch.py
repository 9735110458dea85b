"""Reads of batch imports (批量录入): the branches an officer may import for, the imports they may
see (branch-scoped), the progress figures the status view returns, and the rejected rows."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from creditfactory.organisations.models import Branch
from creditfactory.organisations.scoping import scope_queryset, sees_all_branches

from ..models import BatchImport, BatchImportRow

__all__ = ["batch_import_for", "batch_import_progress", "batch_imports_for", "batch_rejected_rows",
           "officer_branches"]


def officer_branches(user) -> QuerySet:
    """The branches an officer's imported applications may belong to: the branches they work at
    (not the ones below them). Someone who works at none but sees every branch (a superuser, an
    head-office admin) may choose any."""
    if not getattr(user, "pk", None):
        return Branch.objects.none()
    own = Branch.objects.filter(staff__user=user)
    if not own.exists() and sees_all_branches(user):
        own = Branch.objects.all()
    return own.order_by("path")


def batch_imports_for(user) -> QuerySet:
    return (scope_queryset(BatchImport.objects.all(), user).select_related("branch", "created_by")
            .order_by("-created_at", "-id"))


def batch_import_for(*, user, pk: int) -> BatchImport:
    batch = batch_imports_for(user).filter(pk=pk).first()
    if batch is None:
        raise Http404
    return batch


def batch_import_progress(batch: BatchImport) -> dict:
    """What the progress page polls."""
    return {
        "id": batch.pk, "status": batch.status, "status_label": str(batch.get_status_display()),
        "total": batch.total, "processed": batch.processed, "accepted": batch.accepted,
        "rejected": batch.rejected, "percent": batch.percent, "finished": batch.finished, "error": batch.error,
    }


def batch_rejected_rows(batch: BatchImport) -> QuerySet:
    return BatchImportRow.objects.filter(batch=batch, application__isnull=True).order_by("row")
