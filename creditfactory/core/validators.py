"""Validators more than one app needs. Pure functions: no database.

* ``normalise_mobile`` — the mainland mobile number (applicants in risk, SMS recipients in
  messaging).
* ``text_problem`` / ``validate_single_line_text`` / ``validate_multi_line_text`` — the one
  rule for free text a person or a partner submits (names, addresses, references, reasons,
  notes): no control characters (C0 and C1, DEL, e.g. ``\x01`` or the terminal escape
  ``\x1b[31m``), no bidirectional overrides or isolates (text that displays in another order
  than it is stored), no lone surrogates; tab, line feed and carriage return only in multi-line
  fields (reasons, notes, findings). Such characters have no business in a name, corrupt logs,
  terminals and exported spreadsheets, and can make one name look like another.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

__all__ = ["NON_ASCII_DIGITS", "normalise_mobile", "text_problem", "validate_multi_line_text",
           "validate_single_line_text"]

# Why a number with other than the ASCII digits is refused (creditfactory.core.numbers).
NON_ASCII_DIGITS = _("Write the number with the digits 0-9; full-width or other digits are not accepted.")

# C0 controls but tab, LF, CR; DEL and the C1 controls; bidi marks, embeddings, overrides and
# isolates; lone surrogates.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                        "\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` may not be stored as submitted text, or ``None`` when it may."""
    found = _FORBIDDEN.search(value)
    if found:
        return gettext("Remove the invisible control character U+%(code)04X (for example a terminal colour "
                       "code or a character pasted from another program).") % {"code": ord(found.group())}
    if not multiline and _LINE_BREAKS.search(value):
        return gettext("Write this on one line: tabs and line breaks are not allowed here.")
    return None


def validate_single_line_text(value) -> None:
    """Names, addresses, references: no control characters, no tab or line break."""
    problem = text_problem(str(value or ""), multiline=False)
    if problem:
        raise ValidationError(problem, code="control_character")


def validate_multi_line_text(value) -> None:
    """Reasons, notes, findings: no control characters; tabs and line breaks are fine."""
    problem = text_problem(str(value or ""), multiline=True)
    if problem:
        raise ValidationError(problem, code="control_character")

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)  # no full-width digits
_MOBILE_SEPARATORS = re.compile(r"[\s\-()]")


def normalise_mobile(value: str) -> str:
    """'+86 138-0013-8000' → '13800138000'. Raises ``ValidationError`` if it is not a mainland
    mobile number (``^1[3-9]\\d{9}$`` after stripping +86 / 0086 / 86, spaces and dashes)."""
    number = _MOBILE_SEPARATORS.sub("", str(value or ""))
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            number = number[len(prefix):]
            break
    if not _MOBILE_RE.match(number):
        raise ValidationError(
            _("Enter a mainland mobile number: 11 digits starting with 13-19."), code="invalid_mobile"
        )
    return number
