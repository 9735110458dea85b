"""Reading uploaded tables for imports, and writing CSV that is safe to open in a spreadsheet.

Shared by the imports of every app (risk lists, batch entry of applications):

* ``decode_text`` — CSV bytes as text: UTF-8 (with or without BOM) or GB18030, which is what
  Excel saves "CSV" as on a Chinese Windows.
* ``read_table`` — a CSV or Excel (.xlsx) upload as a header and numbered rows of text cells;
  blank lines are skipped, row numbers are the line (CSV) or sheet row (Excel) a person sees.
* ``csv_safe`` — a cell value that a spreadsheet will not run as a formula.

Bad input raises ``ValidationError({"file": [...]})``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

__all__ = ["TABLE_FORMATS", "csv_safe", "decode_text", "read_table", "table_format"]

TABLE_FORMATS = ("csv", "xlsx")
_XLSX_MAGIC = b"PK\x03\x04"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def decode_text(content: bytes | str) -> str:
    """The text of a CSV upload: UTF-8 (a BOM is dropped) or GB18030."""
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error(_("The file is not UTF-8 or GB18030 text."))


def table_format(filename: str) -> str:
    """``csv`` or ``xlsx`` from the file name; anything else is refused."""
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if suffix not in TABLE_FORMATS:
        raise _file_error(_("Upload a .csv or .xlsx file."))
    return suffix


def _cell_text(value) -> str:
    """An Excel cell as the text a person typed: 20000.0 → "20000", 13812345678 → "13812345678"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _too_many(max_rows: int) -> ValidationError:
    return _file_error(_("The file has more than %(max)d rows; split it.") % {"max": max_rows})


def _csv_rows(content: bytes | str, max_rows: int | None):
    reader = csv.reader(io.StringIO(decode_text(content)))
    try:
        header = next(reader, [])
        rows = []
        for values in reader:
            cells = [value.strip() for value in values]
            if not any(cells):
                continue
            rows.append((reader.line_num, cells))
            if max_rows is not None and len(rows) > max_rows:
                raise _too_many(max_rows)
    except csv.Error as exc:
        raise _file_error(_("The CSV cannot be read: %(error)s.") % {"error": exc}) from None
    return [str(h) for h in header], rows


def _xlsx_rows(content: bytes, max_rows: int | None):
    from openpyxl import load_workbook

    if not isinstance(content, bytes) or not content.startswith(_XLSX_MAGIC):
        raise _file_error(_("The file is not an Excel workbook (.xlsx)."))
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise _file_error(_("The file is not an Excel workbook (.xlsx).")) from None
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            return [], []
        header: list[str] = []
        rows = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(value) for value in values]
            if number == 1:
                header = cells
                continue
            if not any(cells):
                continue
            rows.append((number, cells))
            if max_rows is not None and len(rows) > max_rows:
                raise _too_many(max_rows)
        return header, rows
    finally:
        workbook.close()


def read_table(*, filename: str, content: bytes | str, max_rows: int | None = None):
    """``(header, rows)`` of a CSV or .xlsx upload (the first sheet): ``header`` the first line's
    cells, ``rows`` ``[(row number, [cell text, ...]), ...]`` without blank lines. More than
    ``max_rows`` data rows is refused before the rest of the file is read."""
    if table_format(filename) == "xlsx":
        return _xlsx_rows(content, max_rows)
    return _csv_rows(content, max_rows)


def csv_safe(value) -> str:
    """Text for a CSV cell that Excel will show and not evaluate (CSV formula injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text
