"""Serializer fields with the project's input rules; declare these instead of DRF's own.

* ``DecimalField`` / ``IntegerField``: numbers in ASCII digits only (``creditfactory.core.numbers``:
  ``"２００００"`` is refused, naming the field, rather than read as 20000).
* ``NameField``: single-line free text (names, addresses, references) without control
  characters, tabs or line breaks (``creditfactory.core.validators``). Multi-line text (reasons,
  notes) needs no field of its own: the JSON parser refuses control characters in every string.

``tests/core/test_input_rules.py`` walks every serializer of the project and fails on a writable
number field that is DRF's plain one.
"""

from rest_framework import serializers

from ..numbers import ascii_number_text
from ..validators import NON_ASCII_DIGITS, validate_single_line_text

__all__ = ["DecimalField", "IntegerField", "NameField"]


class _AsciiDigits:
    def to_internal_value(self, data):
        if not ascii_number_text(data):
            self.fail("non_ascii_digits")
        return super().to_internal_value(data)


class DecimalField(_AsciiDigits, serializers.DecimalField):
    default_error_messages = {"non_ascii_digits": NON_ASCII_DIGITS}


class IntegerField(_AsciiDigits, serializers.IntegerField):
    default_error_messages = {"non_ascii_digits": NON_ASCII_DIGITS}


class NameField(serializers.CharField):
    """A single line of text a person or partner submits: a name, an address, a reference."""

    def __init__(self, **kwargs):
        kwargs["validators"] = [*kwargs.get("validators", ()), validate_single_line_text]
        super().__init__(**kwargs)
