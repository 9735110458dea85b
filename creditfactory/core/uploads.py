"""Checking uploads: documents (PDF, JPEG, PNG), tables for imports, and CSV that is safe to open
in a spreadsheet.

Shared by every app (application documents, risk lists, batch entry of applications):

* ``document_type`` — the type of an uploaded document, read from its content and checked over
  its whole structure (see "Documents" below).
* ``decode_text`` — CSV bytes as text: UTF-8 (with or without BOM) or GB18030, which is what
  Excel saves "CSV" as on a Chinese Windows.
* ``read_table`` — a CSV or Excel (.xlsx) upload as a header and numbered rows of text cells;
  blank lines are skipped, row numbers are the line (CSV) or sheet row (Excel) a person sees.
* ``csv_safe`` — a cell value that a spreadsheet will not run as a formula.

Bad input raises ``ValidationError({"file": [...]})``.

Documents
---------
A file is accepted as a type only when its whole structure is that type's, so a file that merely
starts like one (``%PDF-`` followed by an HTML page: a polyglot a browser may render) is refused:

* PDF: the ``%PDF-1.x``/``%PDF-2.0`` header; ``%%EOF`` within the last 1024 bytes after a
  ``startxref`` whose offset points at a cross-reference table (``xref`` … ``trailer`` with
  ``/Root``) or a cross-reference stream object (``/Type /XRef`` with ``/Root``); at least one
  ``obj`` … ``endobj``; and no active content: no ``/JavaScript``, ``/JS`` or ``/Launch`` action.
* PNG: the signature, then a walk over every chunk — length, type, data and CRC-32 — that must
  start with a 13-byte ``IHDR`` (non-zero size, a valid bit depth and colour type), hold an
  ``IDAT`` and end with ``IEND``, with nothing after it.
* JPEG: a walk over the markers from ``SOI`` through the segments (a frame header ``SOFn`` and
  at least one scan ``SOS`` with its entropy-coded data) to ``EOI``, with nothing but padding
  after it.
* Any type: no HTML (``<html``, ``<script``, ``<!doctype html``, ``<iframe``, ``<body``).

This is a structure check written here rather than a parser library: none is installed (pypdf
and Pillow are not dependencies), and what it must prove is small — that the file is what it
claims and cannot be taken for a page — while the document itself is only stored and handed
back as a download (``Content-Disposition: attachment``, ``nosniff``), never rendered or parsed
by the server. It is not a malware scanner: a lender that needs one scans the storage.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

__all__ = ["DOCUMENT_TYPES", "TABLE_FORMATS", "csv_safe", "decode_text", "document_type", "read_table",
           "table_format"]

TABLE_FORMATS = ("csv", "xlsx")
_XLSX_MAGIC = b"PK\x03\x04"
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


# --- documents ------------------------------------------------------------------------------------

PDF, JPEG, PNG = "application/pdf", "image/jpeg", "image/png"
DOCUMENT_TYPES = (PDF, JPEG, PNG)
_HTML = re.compile(rb"<(?:html|script|!doctype\s+html|iframe|body)[\s>/]", re.IGNORECASE)


class _Malformed(Exception):
    """The file starts like a type but is not one (broken, truncated, or with other content)."""


def document_type(content: bytes) -> str:
    """The content type of an uploaded document (``application/pdf``, ``image/jpeg``,
    ``image/png``), read from the content and checked over the whole file (module docstring).
    Raises ``ValidationError({"file": [...]})`` for any other file, or one that only starts like
    a document."""
    content = bytes(content or b"")
    if content.startswith(b"%PDF-"):
        kind, check = PDF, _check_pdf
    elif content.startswith(_PNG_SIGNATURE):
        kind, check = PNG, _check_png
    elif content.startswith(b"\xff\xd8\xff"):
        kind, check = JPEG, _check_jpeg
    else:
        raise _file_error(_("Upload a PDF, JPEG or PNG file."))
    try:
        check(content)
        if _HTML.search(content):
            raise _Malformed("HTML inside")
    except (_Malformed, struct.error, IndexError, ValueError):
        raise _file_error(_("The file is not a complete %(type)s: it is damaged or holds other content. Upload "
                            "the original document.") % {"type": kind.split("/")[1].upper()}) from None
    return kind


_PDF_HEADER = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)\s")
_PDF_TAIL = re.compile(rb"startxref\s+(\d{1,12})\s+%%EOF\s*$")
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch)(?![A-Za-z0-9])")


def _check_pdf(content: bytes) -> None:
    if not _PDF_HEADER.match(content):
        raise _Malformed("header")
    tail = _PDF_TAIL.search(content[-1024:])
    if tail is None:
        raise _Malformed("no startxref … %%EOF at the end")
    offset = int(tail.group(1))
    if not 0 < offset < len(content):
        raise _Malformed("startxref outside the file")
    at = content[offset:offset + 64]
    if at.startswith(b"xref"):
        trailer = content.find(b"trailer", offset)
        if trailer < 0 or b"/Root" not in content[trailer:]:
            raise _Malformed("xref table without a trailer naming /Root")
    elif re.match(rb"\d+\s+\d+\s+obj\b", at):
        end = content.find(b"stream", offset)
        dictionary = content[offset:end if end > 0 else offset + 4096]
        if not re.search(rb"/Type\s*/XRef\b", dictionary) or b"/Root" not in dictionary:
            raise _Malformed("startxref points at an object that is no cross-reference stream")
    else:
        raise _Malformed("startxref points at no cross-reference")
    if not re.search(rb"\d+\s+\d+\s+obj\b", content) or b"endobj" not in content:
        raise _Malformed("no objects")
    if _PDF_ACTIVE.search(content):
        raise _Malformed("active content")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}


def _check_png(content: bytes) -> None:
    position, first, seen_idat = len(_PNG_SIGNATURE), True, False
    while True:
        length, kind = struct.unpack(">I4s", content[position:position + 8])
        data = content[position + 8:position + 8 + length]
        if length > 0x7FFFFFFF or len(data) != length or not kind.isalpha():
            raise _Malformed("chunk")
        (crc,) = struct.unpack(">I", content[position + 8 + length:position + 12 + length])
        if zlib.crc32(kind + data) != crc:
            raise _Malformed("chunk CRC")
        position += 12 + length
        if first:
            if kind != b"IHDR" or length != 13:
                raise _Malformed("IHDR first")
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            if not (width and height) or depth not in _PNG_DEPTHS.get(colour, ()):
                raise _Malformed("IHDR values")
            first = False
        elif kind == b"IDAT":
            seen_idat = True
        elif kind == b"IEND":
            if length or not seen_idat or position != len(content):
                raise _Malformed("IEND last, after IDAT, nothing after it")
            return


# Markers without a length: TEM, RSTn, SOI, EOI.
_JPEG_BARE = {0x01, *range(0xD0, 0xD8), 0xD8, 0xD9}
_JPEG_FRAMES = {*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)}


def _check_jpeg(content: bytes) -> None:
    position, frame, scan, size = 2, False, False, len(content)
    while position < size:
        if content[position] != 0xFF:
            raise _Malformed("marker expected")
        while position < size and content[position] == 0xFF:  # fill bytes
            position += 1
        marker = content[position]
        position += 1
        if marker == 0xD9:  # EOI
            if not (frame and scan) or content[position:].strip(b"\x00\xff \t\r\n"):
                raise _Malformed("EOI before a frame and a scan, or data after it")
            return
        if marker in _JPEG_BARE:
            continue
        (length,) = struct.unpack(">H", content[position:position + 2])
        if length < 2 or position + length > size:
            raise _Malformed("segment length")
        position += length
        frame = frame or marker in _JPEG_FRAMES
        if marker == 0xDA:  # SOS: entropy-coded data up to the next marker but stuffing and RSTn
            scan = True
            while True:
                position = content.index(b"\xff", position)
                following = content[position + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
                    position += 1 if following == 0xFF else 2
                    continue
                break
    raise _Malformed("no EOI")


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
