"""An officer's upload becomes a batch import (批量录入): the file is checked (size, format,
header, row count), its rows stored encrypted on the job and ``workflows.batch_import_run`` queued
on commit; the task works through them with ``workflows.services.batch.batch_import_process``
(the file's columns are described there)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from creditfactory.core.permissions import require_permission
from creditfactory.core.tasks import enqueue_on_commit
from creditfactory.core.uploads import table_format

from ..models import BatchImport
from ..selectors.batch import officer_branches
from ..tasks import batch_import_run
from .applications import REQUIRED_CONSENTS
from .batch import batch_rows_parse

__all__ = ["batch_import_create"]


@transaction.atomic
def batch_import_create(*, actor, branch, filename: str, content: bytes, consents: dict | None = None) -> BatchImport:
    """Check an upload and queue its import. ``consents``: the officer confirms that every
    applicant in the file gave both consents (``credit_report``, ``personal_information``)."""
    if not getattr(actor, "pk", None):
        raise PermissionDenied(_("Only staff can import applications."))
    for permission in ("workflows.add_batchimport", "workflows.add_creditapplication"):
        require_permission(actor, permission, message=_("Your role may not import applications."))
    errors: dict[str, list[str]] = {}
    if branch is None or not officer_branches(actor).filter(pk=branch.pk).exists():
        errors["branch"] = [_("Choose one of your branches.")]
    consents = consents if isinstance(consents, dict) else {}
    missing = [name for name in REQUIRED_CONSENTS if consents.get(name) is not True]
    if missing:
        errors["consents"] = [_("Confirm that every applicant in the file consented to: %(names)s.")
                              % {"names": ", ".join(missing)}]
    size = len(content or b"")
    if not size:
        errors["file"] = [_("The file is empty.")]
    elif size > settings.WORKFLOW_BATCH_MAX_BYTES:
        errors["file"] = [_("The file is larger than %(max)s KB; split it.")
                          % {"max": settings.WORKFLOW_BATCH_MAX_BYTES // 1024}]
    else:
        try:
            table_format(filename)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    data = batch_rows_parse(filename=filename, content=content)
    batch = BatchImport.objects.create(
        filename=(filename or "")[-200:], file_format=table_format(filename), branch=branch,
        content=json.dumps(data, ensure_ascii=False), total=len(data), created_by=actor,
    )
    enqueue_on_commit(batch_import_run, batch.pk)
    return batch
