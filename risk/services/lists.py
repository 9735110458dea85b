"""Writes to our own fraud and risk lists: add and remove entries, and process CSV imports.

An import is created from an upload (``risk.services.list_upload.list_import_create``), which
stores the rows encrypted and enqueues ``risk.list_import_run`` on commit; the task calls
``list_import_process`` (here), which works through the rows in chunks, each chunk committing its
entries together with the job's progress, so the progress page moves and a re-delivered task
resumes where it stopped.

CSV format (UTF-8, with or without BOM, or GB18030 as saved by Excel):
``list_type,kind,value,reason,expires_at``: list_type ``fraud``|``risk``, kind
``id_number``|``mobile``|``device``; reason and expires_at (YYYY-MM-DD) optional. A row is
rejected with a reason when the list type or kind is unknown, the value is empty or invalid
(ID check character, mobile format), the expiry date is invalid or past, or the value is
already on that list (in the database or earlier in the file).

Every new or reactivated entry, once committed (admin, service or import chunk), is handed to the
Celery task named by ``settings.RISK_LIST_ENTRY_HANDLER_TASK`` (default
``workflows.list_entry_recheck``) with ``entry_id``, ``list_type``, ``kind`` and ``value_index``
(the blind index: an ID-number entry's equals ``Applicant.id_number_index``, a mobile entry's
``Applicant.mobile_index``), so the flows re-check that person's lines within seconds. The task is
looked up by name in ``celery.current_app.tasks`` (risk does not import the flows) and skipped when
it is not registered; nothing is sent for a rolled-back entry.
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, time

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.core.pii import blind_index, mask_text, mask_value
from creditfactory.core.state import record_transition
from risk.locks import list_entries_lock, list_entry_by_value_lock, list_entry_lock, list_import_job_lock
from risk.models import ImportStatus, ListImportJob, ListKind, ListType, RiskListEntry
from risk.validators import normalise_mobile, parse_resident_id

logger = logging.getLogger(__name__)

__all__ = [
    "CHUNK_SIZE",
    "list_entries_dispatch_on_commit",
    "CSV_COLUMNS",
    "REQUIRED_COLUMNS",
    "list_import_process",
    "normalise_list_value",
    "risk_list_entry_add",
    "risk_list_entry_remove",
]

CSV_COLUMNS = ("list_type", "kind", "value", "reason", "expires_at")
REQUIRED_COLUMNS = ("list_type", "kind", "value")
CHUNK_SIZE = 500
MAX_DEVICE_LENGTH = 128


def normalise_list_value(kind: str, value: str) -> str:
    """The canonical form of a list value; raises ``ValidationError`` if it is not valid."""
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("The value is empty."), code="empty")
    if kind == ListKind.ID_NUMBER:
        return parse_resident_id(value).number
    if kind == ListKind.MOBILE:
        return normalise_mobile(value)
    if len(value) > MAX_DEVICE_LENGTH:
        raise ValidationError(_("A device ID has at most %(max)d characters.") % {"max": MAX_DEVICE_LENGTH})
    return value


def _check_type_and_kind(list_type: str, kind: str) -> dict[str, list[str]]:
    errors = {}
    if list_type not in ListType.values:
        errors["list_type"] = [_("Unknown list type %(value)r: use fraud or risk.") % {"value": list_type}]
    if kind not in ListKind.values:
        errors["kind"] = [_("Unknown kind %(value)r: use id_number, mobile or device.") % {"value": kind}]
    return errors


def _dispatch(payloads: list[dict]) -> None:
    name = settings.RISK_LIST_ENTRY_HANDLER_TASK
    task = current_app.tasks.get(name) if name else None
    if task is None:
        logger.info("no task %r registered: %d new list entries not dispatched", name, len(payloads))
        return
    for payload in payloads:
        task.apply_async(kwargs=payload)


def list_entries_dispatch_on_commit(*, entries) -> None:
    """Once the surrounding transaction commits, hand each entry to the list-entry handler task
    (see the module docstring). A failing handler is logged: the entries stay committed."""
    payloads = [{"entry_id": entry.pk, "list_type": entry.list_type, "kind": entry.kind,
                 "value_index": entry.value_index} for entry in entries]
    if payloads:
        transaction.on_commit(lambda: _dispatch(payloads), robust=True)


@transaction.atomic
def risk_list_entry_add(*, actor, list_type: str, kind: str, value: str, reason: str = "", expires_at=None,
                        source: str = "manual") -> RiskListEntry:
    """Put a value on a list (or reactivate its removed entry). Raises ``ValidationError``
    naming the field for bad input or a value already on the list."""
    errors = _check_type_and_kind(list_type, kind)
    if errors:
        raise ValidationError(errors)
    try:
        normalised = normalise_list_value(kind, value)
    except ValidationError as exc:
        raise ValidationError({"value": exc.messages}) from None
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("The expiry must be in the future.")]})
    index = blind_index(kind, normalised)
    entry = list_entry_by_value_lock(list_type=list_type, kind=kind, value_index=index)
    if entry is not None and entry.active:
        raise ValidationError({"value": [_("This value is already on the list.")]}, code="duplicate")
    added_by = actor if getattr(actor, "pk", None) else None
    previous = "" if entry is None else "inactive"
    if entry is None:
        entry = RiskListEntry.objects.create(
            list_type=list_type, kind=kind, value_index=index, value_masked=mask_value(kind, normalised),
            reason=reason, source=source, expires_at=expires_at, added_by=added_by,
        )
    else:
        entry.active, entry.reason, entry.source, entry.expires_at, entry.added_by = (
            True, reason, source, expires_at, added_by,
        )
        entry.save(update_fields=["active", "reason", "source", "expires_at", "added_by", "updated_at"])
    record_transition(entry, from_state=previous, to_state="active", actor=actor, reason=reason, field="active")
    list_entries_dispatch_on_commit(entries=[entry])
    return entry


@transaction.atomic
def risk_list_entry_remove(*, actor, entry: RiskListEntry, reason: str = "") -> RiskListEntry:
    """Take an entry off its list (kept, inactive, for the audit trail)."""
    entry = list_entry_lock(entry.pk)
    if entry.active:
        entry.active = False
        entry.save(update_fields=["active", "updated_at"])
        record_transition(entry, from_state="active", to_state="inactive", actor=actor, reason=reason, field="active")
    return entry


# --- CSV import ----------------------------------------------------------------------------------


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _parse_expiry(raw: str):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(_("expires_at must be a date like 2030-12-31.")) from None
    expires_at = timezone.make_aware(datetime.combine(day, time.min))
    if expires_at <= timezone.now():
        raise ValidationError(_("expires_at is in the past."))
    return expires_at


def _import_chunk(job: ListImportJob, rows: list[dict], first_row: int) -> tuple[int, list[dict]]:
    """Import one chunk; returns (accepted, rejected [{row, reason}])."""
    rejected: list[dict] = []
    candidates: list[tuple[int, dict]] = []
    for number, row in enumerate(rows, start=first_row):
        list_type = (row.get("list_type") or "").strip().lower()
        kind = (row.get("kind") or "").strip().lower()
        errors = _check_type_and_kind(list_type, kind)
        if errors:
            rejected.append({"row": number, "reason": " ".join(m for ms in errors.values() for m in ms)})
            continue
        try:
            value = normalise_list_value(kind, row.get("value") or "")
            expires_at = _parse_expiry(row.get("expires_at") or "")
        except ValidationError as exc:
            rejected.append({"row": number, "reason": " ".join(exc.messages)})
            continue
        candidates.append((number, {
            "list_type": list_type, "kind": kind, "value_index": blind_index(kind, value),
            "value_masked": mask_value(kind, value), "reason": (row.get("reason") or "").strip()[:200],
            "expires_at": expires_at,
        }))

    existing = {
        (entry.list_type, entry.kind, entry.value_index): entry
        for entry in list_entries_lock({fields["value_index"] for _n, fields in candidates})
    }
    added_by = job.created_by
    source = f"import #{job.pk}"
    to_create: list[RiskListEntry] = []
    reactivated: list[RiskListEntry] = []
    seen: dict[tuple, int] = {}
    for number, fields in candidates:
        key = (fields["list_type"], fields["kind"], fields["value_index"])
        if key in seen:
            rejected.append({"row": number, "reason": _("Duplicate of row %(row)d.") % {"row": seen[key]}})
            continue
        entry = existing.get(key)
        if entry is not None and entry.active:
            rejected.append({"row": number, "reason": _("Duplicate: already on the list.")})
            continue
        seen[key] = number
        if entry is None:
            to_create.append(RiskListEntry(**fields, source=source, added_by=added_by))
        else:
            entry.active, entry.reason, entry.expires_at, entry.source, entry.added_by = (
                True, fields["reason"], fields["expires_at"], source, added_by,
            )
            entry.save(update_fields=["active", "reason", "expires_at", "source", "added_by", "updated_at"])
            reactivated.append(entry)
    RiskListEntry.objects.bulk_create(to_create)
    list_entries_dispatch_on_commit(entries=[*to_create, *reactivated])
    rejected.sort(key=lambda item: item["row"])
    return len(to_create) + len(reactivated), rejected


def list_import_process(*, job_id: int, chunk_size: int = CHUNK_SIZE) -> ListImportJob:
    """Run (or resume) an import. Not one transaction: each chunk commits with the job's
    progress. Idempotent: a finished job is left alone, a half-done one continues."""
    with transaction.atomic():
        job = list_import_job_lock(job_id)
        if job.status in (ImportStatus.DONE, ImportStatus.FAILED):
            return job
        job.status = ImportStatus.RUNNING
        job.save(update_fields=["status", "updated_at"])
    try:
        rows = _rows(job.content)
        while True:
            with transaction.atomic():
                job = list_import_job_lock(job_id)
                start = job.processed
                chunk = rows[start:start + chunk_size]
                if not chunk:
                    job.status, job.content, job.finished_at = ImportStatus.DONE, "", timezone.now()
                    job.save(update_fields=["status", "content", "finished_at", "updated_at"])
                    return job
                # Data rows start on line 2, after the header.
                accepted, rejected = _import_chunk(job, chunk, first_row=start + 2)
                job.processed = start + len(chunk)
                job.accepted += accepted
                job.rejected += len(rejected)
                job.rejected_rows = [*job.rejected_rows, *rejected]
                job.save(update_fields=["processed", "accepted", "rejected", "rejected_rows", "updated_at"])
    except Exception as exc:
        with transaction.atomic():
            ListImportJob.objects.filter(pk=job_id).update(
                status=ImportStatus.FAILED, error=mask_text(f"{type(exc).__name__}: {exc}")[:1000],
                finished_at=timezone.now(),
            )
        raise
