"""Form fields with the project's input rules; declare these instead of Django's own.

* ``DecimalField`` / ``IntegerField``: numbers in ASCII digits only (``creditfactory.core.numbers``);
  the model fields ``MoneyField`` and ``PercentField`` give admin and model forms this
  ``DecimalField`` too.
* ``NameField``: a single line of text without control characters, tabs or line breaks;
  ``TextField``: multi-line text (a ``Textarea``) without control characters
  (``creditfactory.core.validators``).
"""

from django import forms
from django.core.exceptions import ValidationError

from .numbers import ascii_number_text
from .validators import NON_ASCII_DIGITS, validate_multi_line_text, validate_single_line_text

__all__ = ["DecimalField", "IntegerField", "NameField", "TextField"]


class _AsciiDigits:
    def to_python(self, value):
        if isinstance(value, str) and not ascii_number_text(value.strip()):
            raise ValidationError(NON_ASCII_DIGITS, code="non_ascii_digits")
        return super().to_python(value)


class DecimalField(_AsciiDigits, forms.DecimalField):
    pass


class IntegerField(_AsciiDigits, forms.IntegerField):
    pass


class NameField(forms.CharField):
    """A single line a person types: a name, an address, a reference."""

    default_validators = [validate_single_line_text]


class TextField(forms.CharField):
    """Several lines a person types: a reason, a note, findings. A ``Textarea`` unless told."""

    default_validators = [validate_multi_line_text]

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2}))
        super().__init__(**kwargs)
