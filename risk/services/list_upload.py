"""An uploaded CSV file of list entries becomes an import job: the header is checked, the rows
stored encrypted and ``risk.list_import_run`` queued on commit, which works through them with
``risk.services.lists.list_import_process`` (the file's format is described there)."""

from __future__ import annotations

import csv
import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from creditfactory.core.tasks import enqueue_on_commit
from creditfactory.core.uploads import decode_text
from risk.models import ListImportJob
from risk.tasks.lists import list_import_run

from .lists import CSV_COLUMNS, REQUIRED_COLUMNS

__all__ = ["list_import_create"]


@transaction.atomic
def list_import_create(*, actor, filename: str, content: bytes | str) -> ListImportJob:
    """Check the upload's header, store it encrypted and enqueue the import."""
    text = decode_text(content)  # UTF-8 or GB18030, as the other imports
    reader = csv.reader(io.StringIO(text))
    header = [column.strip().lower() for column in next(reader, [])]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationError({"file": [
            _("The first line must name the columns %(columns)s; missing: %(missing)s.")
            % {"columns": ",".join(CSV_COLUMNS), "missing": ", ".join(missing)}
        ]})
    # Normalise the header so DictReader keys match whatever case the file used.
    body = text.split("\n", 1)[1] if "\n" in text else ""
    text = ",".join(header) + "\n" + body
    total = len(list(csv.DictReader(io.StringIO(text))))
    if total == 0:
        raise ValidationError({"file": [_("The file has no rows after the header.")]})
    job = ListImportJob.objects.create(
        filename=filename[:200], content=text, total=total, created_by=actor if getattr(actor, "pk", None) else None,
    )
    enqueue_on_commit(list_import_run, job.pk)
    return job
