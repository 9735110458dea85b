"""Validators of identifiers more than one app needs: the mainland mobile number (applicants in
risk, SMS recipients in messaging). Pure functions: no database."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["normalise_mobile"]

_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
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
