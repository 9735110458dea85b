"""Model fields with the project's money and rate precision. Their form fields (admin, model
forms) take ASCII digits only (``creditfactory.core.forms.DecimalField``)."""

from django.db import models


class _AsciiDecimalFormField:
    def formfield(self, **kwargs):
        from .forms import DecimalField

        return super().formfield(**{"form_class": DecimalField, **kwargs})


class MoneyField(_AsciiDecimalFormField, models.DecimalField):
    """CNY amount to the fen; up to 9,999,999,999,999,999.99."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)


class PercentField(_AsciiDecimalFormField, models.DecimalField):
    """A rate or share in percent with six decimals (0.030000 % a day, 24.000000 % a year)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 6)
        super().__init__(*args, **kwargs)

