"""Batch entry of applications (批量录入): an officer uploads a CSV or Excel file of applications;
each data row becomes an application through ``application_create(..., channel="batch")``,
exactly as if the officer had typed it into the new-application form.

* ``batch_import_create`` (``workflows.services.batch_upload``: it queues the task, which calls
  back into this module) checks the upload (size, format, header, row count), stores the rows
  encrypted and enqueues ``workflows.batch_import_run`` on commit.
* ``batch_import_process`` (called by the task, one chunk per run) works through the rows. Each
  row is its own transaction that also records the row's outcome and the job's counters, with
  the job row locked: a bad row never blocks or half-writes another, the progress page moves row
  by row, and a task delivered twice (or resumed after a crash) never imports a row twice.
* ``batch_template_csv`` / ``batch_rejected_csv`` are the two downloads.

Columns (header names in English as below, or the Chinese labels in ``COLUMN_ALIASES``):
required ``product, amount, term, repayment_method, purpose, name, id_number, mobile,
monthly_income, employment, address``; optional ``term_unit, employer_name, years_at_employer,
external_reference`` and, for business loans, ``enterprise_name, credit_code,
years_in_business, annual_revenue``. Row errors name the service's field (``amount``,
``applicant.mobile``, ...); ``COLUMN_FOR_FIELD`` maps them back to the file's column.
"""

from __future__ import annotations

import csv
import io
import json
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.core.display import field_label
from creditfactory.core.numbers import parse_int
from creditfactory.core.pii import mask_id_number, mask_mobile, mask_text
from creditfactory.core.uploads import csv_safe, read_table

from ..models import BatchImport, BatchImportRow, BatchStatus, Channel, CreditApplication
from ..locks import batch_import_lock
from ..selectors.batch import batch_rejected_rows
from .applications import REQUIRED_CONSENTS, application_create

__all__ = [
    "COLUMNS", "COLUMN_ALIASES", "COLUMN_FOR_FIELD", "OPTIONAL_COLUMNS", "REQUIRED_COLUMNS",
    "batch_import_process", "batch_rejected_csv", "batch_rows_parse", "batch_template_csv",
]

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("product", "amount", "term", "repayment_method", "purpose", "name", "id_number", "mobile",
                    "monthly_income", "employment", "address")
OPTIONAL_COLUMNS = ("term_unit", "employer_name", "years_at_employer", "external_reference", "enterprise_name",
                    "credit_code", "years_in_business", "annual_revenue")
# The order of the template file.
COLUMNS = ("product", "amount", "term", "term_unit", "repayment_method", "purpose", "name", "id_number", "mobile",
           "monthly_income", "employment", "address", "employer_name", "years_at_employer", "external_reference",
           "enterprise_name", "credit_code", "years_in_business", "annual_revenue")
# Header names people write instead of the codes (normalised: lower case, "_" for spaces).
COLUMN_ALIASES = {
    "product_code": "product", "产品": "product", "产品代码": "product",
    "金额": "amount", "申请金额": "amount",
    "期限": "term", "期限单位": "term_unit",
    "还款方式": "repayment_method", "用途": "purpose", "贷款用途": "purpose",
    "applicant_name": "name", "姓名": "name", "身份证号": "id_number", "身份证号码": "id_number",
    "手机号": "mobile", "手机号码": "mobile", "月收入": "monthly_income", "就业状况": "employment",
    "地址": "address", "employer": "employer_name", "工作单位": "employer_name", "工作年限": "years_at_employer",
    "reference": "external_reference", "业务编号": "external_reference", "外部编号": "external_reference",
    "企业名称": "enterprise_name", "统一社会信用代码": "credit_code", "经营年限": "years_in_business",
    "年营业收入": "annual_revenue",
}
_APPLICANT = {"name": "name", "id_number": "id_number", "mobile": "mobile", "monthly_income": "monthly_income",
              "employment": "employment", "address": "address", "employer_name": "employer_name",
              "years_at_employer": "years_at_employer"}
_ENTERPRISE = {"enterprise_name": "name", "credit_code": "credit_code", "years_in_business": "years_in_business",
               "annual_revenue": "annual_revenue"}
# Service field → the file's column.
COLUMN_FOR_FIELD = {
    **{column: column for column in ("product", "amount", "term", "term_unit", "repayment_method", "purpose",
                                     "external_reference")},
    **{f"applicant.{field}": column for column, field in _APPLICANT.items()},
    **{f"enterprise.{field}": column for column, field in _ENTERPRISE.items()},
    "enterprise": "enterprise_name",
}
_LOWER_CASE = ("term_unit", "repayment_method", "purpose", "employment")
_AMOUNTS = ("amount", "monthly_income", "annual_revenue")
CONSENTS = {name: True for name in REQUIRED_CONSENTS}


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


# --- upload ---------------------------------------------------------------------------------------


def _normalise_header(name: str) -> str:
    key = "_".join(str(name or "").strip().lower().replace("-", " ").split())
    return COLUMN_ALIASES.get(key, key)


def _columns(header: list[str]) -> list[str]:
    """The column code of each header cell; refuses a header that misses a required column,
    names an unknown one, or names one twice."""
    columns = [_normalise_header(name) for name in header]
    known = set(COLUMNS)
    unknown = [name for name, column in zip(header, columns) if column and column not in known]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    twice = sorted({column for column in columns if column and columns.count(column) > 1})
    problems = []
    if missing:
        problems.append(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(columns)s") % {"columns": ", ".join(unknown)})
    if twice:
        problems.append(_("columns given twice: %(columns)s") % {"columns": ", ".join(twice)})
    if problems:
        raise _error("file", _("The first line must name the columns (download the template): %(problems)s.")
                     % {"problems": "; ".join(problems)})
    return columns


def batch_rows_parse(*, filename: str, content: bytes) -> list[dict]:
    """The data rows of an upload as stored on the job: ``[{"row": n, "values": {column: text},
    "extra": True when the row has more cells than the header}]``. Refuses (``file``) a bad
    header, an unreadable file, no rows, or more than ``WORKFLOW_BATCH_MAX_ROWS``."""
    header, rows = read_table(filename=filename, content=content, max_rows=settings.WORKFLOW_BATCH_MAX_ROWS)
    columns = _columns(header)
    if not rows:
        raise _error("file", _("The file has no rows after the header."))
    data = []
    for number, cells in rows:
        values = {column: cell for column, cell in zip(columns, cells) if column and cell != ""}
        item = {"row": number, "values": values}
        if any(cell != "" for cell in cells[len(columns):]):
            item["extra"] = True
        data.append(item)
    return data


# --- processing -----------------------------------------------------------------------------------


class _RowRefused(Exception):
    """Raised inside a row's savepoint to undo an application the row's own errors forbid."""


def _plain(value: str, column: str) -> str:
    value = (value or "").strip()
    if column in _AMOUNTS:
        value = value.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    if column in _LOWER_CASE:
        value = value.lower()
    return value


def _row_kwargs(values: dict) -> tuple[dict, list[dict]]:
    """``application_create`` arguments of one row, and the errors found before calling it."""
    get = {column: _plain(values.get(column, ""), column) for column in COLUMNS}
    errors = []
    for column in REQUIRED_COLUMNS:
        if not get[column]:
            field = next(f for f, c in COLUMN_FOR_FIELD.items() if c == column)
            errors.append({"field": field, "message": _("Required: the cell is empty.")})
    # The required applicant fields always go in, empty or not, so the service names what is wrong.
    applicant = {field: get[column] for column, field in _APPLICANT.items()
                 if get[column] or column in REQUIRED_COLUMNS}
    if "years_at_employer" in applicant:
        try:
            applicant["years_at_employer"] = parse_int(applicant["years_at_employer"])
        except ValueError:
            del applicant["years_at_employer"]
            errors.append({"field": "applicant.years_at_employer", "message": _("Enter a whole number of years.")})
    enterprise = {field: get[column] for column, field in _ENTERPRISE.items() if get[column]} or None
    kwargs = dict(
        product=get["product"], amount=get["amount"], term=get["term"], term_unit=get["term_unit"] or None,
        repayment_method=get["repayment_method"], purpose=get["purpose"], applicant=applicant,
        enterprise=enterprise, external_reference=get["external_reference"][:64],
    )
    return kwargs, errors


def _service_errors(exc: ValidationError) -> list[dict]:
    if not hasattr(exc, "error_dict"):
        return [{"field": "", "message": str(m)} for m in exc.messages]
    return [{"field": "" if field == "__all__" else field, "message": str(message)}
            for field, messages in exc.message_dict.items() for message in messages]


def _merge(own: list[dict], service: list[dict]) -> list[dict]:
    """The row's own errors first; the service's for fields the row did not already flag."""
    flagged = {error["field"] for error in own}
    return [*own, *(error for error in service if error["field"] not in flagged)]


def _import_row(batch: BatchImport, item: dict) -> BatchImportRow:
    """Create the application of one row, or record why not. Runs inside the row's transaction;
    the application is created in a savepoint, so a refused row leaves nothing behind."""
    values = item.get("values") or {}
    record = BatchImportRow(
        batch=batch, row=item["row"], external_reference=(values.get("external_reference") or "")[:64],
        applicant_name=(values.get("name") or "")[:100],
        id_number_masked=mask_id_number(values.get("id_number") or "")[:32],
        mobile_masked=mask_mobile(values.get("mobile") or "")[:32],
    )
    errors: list[dict] = []
    if item.get("extra"):
        errors = [{"field": "row", "message": _("The row has more cells than the header has columns "
                                                "(a comma inside a value? Put the value in quotes).")}]
    else:
        kwargs, own = _row_kwargs(values)
        try:
            with transaction.atomic():
                application = application_create(
                    **kwargs, branch=batch.branch, channel=Channel.BATCH, consents=CONSENTS, actor=batch.created_by)
                if own:
                    raise _RowRefused
        except ValidationError as exc:
            errors = _merge(own, _service_errors(exc))
        except _RowRefused:
            errors = own
        except (OperationalError, InterfaceError):
            raise  # the database is gone: stop the job rather than reject every row that follows
        except Exception as exc:  # noqa: BLE001 - one broken row must not stop the batch
            logger.exception("Batch import %s: row %s failed", batch.pk, item["row"])
            errors = [{"field": "", "message": _("Unexpected error (%(type)s): the row was not imported.")
                       % {"type": type(exc).__name__}}]
        else:
            record.application = application
    record.errors = [{"field": error["field"], "message": mask_text(error["message"])} for error in errors]
    record.save()
    return record


def _finish(batch: BatchImport, status: str, *, error: str = "") -> None:
    batch.status, batch.content, batch.finished_at, batch.error = status, "", timezone.now(), error[:1000]
    batch.save(update_fields=["status", "content", "finished_at", "error", "updated_at"])


def batch_import_process(*, batch_id: int, max_rows: int | None = None) -> BatchImport:
    """Import up to ``max_rows`` more rows (all with ``None``) of batch ``batch_id``. Not one
    transaction: one per row, each also moving the job's counters. Idempotent: a finished job is
    left alone, a half-done one continues at the next row."""
    with transaction.atomic():
        batch = batch_import_lock(batch_id)
        if batch.finished:
            return batch
        if batch.status == BatchStatus.PENDING:
            batch.status = BatchStatus.RUNNING
            batch.save(update_fields=["status", "updated_at"])
        content = batch.content
    try:
        items = json.loads(content or "[]")
        done = 0
        while max_rows is None or done < max_rows:
            with transaction.atomic():
                batch = batch_import_lock(batch_id)
                if batch.status != BatchStatus.RUNNING:
                    return batch
                if batch.processed >= len(items):
                    _finish(batch, BatchStatus.DONE)
                    return batch
                record = _import_row(batch, items[batch.processed])
                batch.processed += 1
                if record.accepted:
                    batch.accepted += 1
                else:
                    batch.rejected += 1
                batch.save(update_fields=["processed", "accepted", "rejected", "updated_at"])
                if batch.processed >= batch.total:
                    _finish(batch, BatchStatus.DONE)
                    return batch
            done += 1
        return batch
    except Exception as exc:
        with transaction.atomic():
            batch = batch_import_lock(batch_id)
            _finish(batch, BatchStatus.FAILED, error=mask_text(f"{type(exc).__name__}: {exc}"))
        raise


# --- downloads ------------------------------------------------------------------------------------


def _csv(rows) -> str:
    out = io.StringIO()
    # A BOM so that Excel on a Chinese Windows reads the file as UTF-8.
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
    return out.getvalue()


def batch_template_csv() -> str:
    """The import template: the header line (every column, optional ones included)."""
    return _csv([COLUMNS])


def batch_rejected_csv(batch: BatchImport) -> str:
    """One line per rejected row: the row number, how to recognise it (reference, name, masked
    identifiers), the file's columns at fault and every error."""
    header = ("row", "external_reference", "name", "id_number", "mobile", "columns", "errors")
    lines = [header]
    for record in batch_rejected_rows(batch):
        columns = []
        for error in record.errors:
            column = COLUMN_FOR_FIELD.get(error["field"], error["field"])
            if column and column not in columns:
                columns.append(column)
        messages = " | ".join(f"{field_label(CreditApplication, e['field'])}: {e['message']}" if e["field"]
                              else e["message"] for e in record.errors)
        lines.append((record.row, record.external_reference, record.applicant_name, record.id_number_masked,
                      record.mobile_masked, ", ".join(columns), messages))
    return _csv(lines)
