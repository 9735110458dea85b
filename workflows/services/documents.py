"""Stored application documents: the sweep of files no document row refers to.

``application_add_document`` stores the file before it inserts the row and deletes the file when
its own transaction fails. A file can still outlive its row when a transaction *around* the
service rolls back after it returned (Django has no on-rollback hook), or when a process dies
between the two writes. Such files hold an applicant's papers and belong to no application, so a
daily beat job (``workflows.documents_sweep``) deletes every file under the documents' folder
that no ``ApplicationDocument`` names and that is older than ``WORKFLOW_DOCUMENT_ORPHAN_HOURS``
(a younger one may belong to an upload whose transaction has not committed yet).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import ApplicationDocument

logger = logging.getLogger(__name__)

# Where ``document_upload_to`` puts every document (applications/YYYY/MM/<random>.<ext>).
DOCUMENTS_FOLDER = "applications"
# Names checked against the table per query.
_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    checked: int  # files found under the folder
    kept_young: int  # orphans younger than the grace period, left for the next run
    deleted: int  # orphans deleted


def _stored_names(storage, path: str):
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:  # nothing uploaded yet
        return
    for name in files:
        yield f"{path}/{name}"
    for directory in sorted(directories):
        yield from _stored_names(storage, f"{path}/{directory}")


def _modified(storage, name: str) -> datetime | None:
    try:
        return storage.get_modified_time(name)
    except (NotImplementedError, FileNotFoundError):  # a backend without times, or gone meanwhile
        return None


def documents_sweep_orphans(*, now: datetime | None = None, older_than_hours: int | None = None) -> SweepResult:
    """Delete the stored document files no ``ApplicationDocument`` refers to, once they are older
    than ``older_than_hours`` (default ``WORKFLOW_DOCUMENT_ORPHAN_HOURS``). A file whose age the
    storage cannot tell is kept. Safe to re-run and to run beside uploads (an upload commits its row
long before its file is old enough to be swept)."""
    now = now or timezone.now()
    hours = settings.WORKFLOW_DOCUMENT_ORPHAN_HOURS if older_than_hours is None else older_than_hours
    cutoff = now - timedelta(hours=hours)
    storage = ApplicationDocument._meta.get_field("file").storage
    checked = kept_young = deleted = 0
    names = list(_stored_names(storage, DOCUMENTS_FOLDER))
    for start in range(0, len(names), _BATCH):
        batch = names[start:start + _BATCH]
        checked += len(batch)
        referenced = set(ApplicationDocument.objects.filter(file__in=batch).values_list("file", flat=True))
        for name in batch:
            if name in referenced:
                continue
            modified = _modified(storage, name)
            if modified is None or modified > cutoff:
                kept_young += 1
                continue
            storage.delete(name)
            deleted += 1
    if deleted:
        logger.info("document sweep: %s orphaned files deleted (%s checked)", deleted, checked)
    return SweepResult(checked=checked, kept_young=kept_young, deleted=deleted)
