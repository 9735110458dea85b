"""Numbers typed by people or sent by partners are written with the ASCII digits 0-9.

Python's ``int()`` and ``Decimal()`` — and so DRF's and Django's number fields — accept every
Unicode decimal digit: full-width ``２００００`` (what a Chinese input method types in
full-width mode), Arabic-Indic ``٢٠``, mathematical ``𝟐``. Such input is **refused**, not
normalised (NFKC): one spelling per number keeps what was typed, what was stored and what a
reviewer or an export shows the same, and a refusal with a clear message costs the typist one
keystroke. The one rule, ``ascii_number_text``, is applied wherever a number is parsed:

* services and imports: ``creditfactory.core.money.to_decimal`` and ``parse_int`` below
  (batch rows reach the services as text);
* the API: ``creditfactory.core.api.fields.DecimalField`` / ``IntegerField`` and the pagination;
* forms: ``creditfactory.core.forms.DecimalField`` / ``IntegerField``, which the model fields
  ``MoneyField`` and ``PercentField`` also give admin forms.

No Django imports: pure domain code can use it.
"""

from __future__ import annotations

import re

__all__ = ["NumberError", "ascii_number_text", "parse_int"]

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


class NumberError(ValueError):
    pass


def ascii_number_text(value) -> bool:
    """False for text holding anything outside ASCII (other digits, full-width signs)."""
    return not isinstance(value, str) or value.isascii()


def parse_int(value) -> int:
    """A whole number from an int or from text of ASCII digits (an optional sign, surrounding
    spaces). Refuses booleans, floats, ``"1.0"``, ``"1_000"`` and other digits (``NumberError``)."""
    if isinstance(value, bool) or value is None:
        raise NumberError("not a whole number")
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        raise NumberError("not a whole number")
    text = value.strip()
    if not ascii_number_text(text):
        raise NumberError("write the number with the digits 0-9")
    if not _INTEGER.fullmatch(text) or len(text) > 30:
        raise NumberError("not a whole number")
    return int(text)
