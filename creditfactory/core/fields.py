"""Model fields with the project's money and rate precision."""

from django.db import models


class MoneyField(models.DecimalField):
    """CNY amount to the fen; up to 9,999,999,999,999,999.99."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 18)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(*args, **kwargs)



class PercentField(models.DecimalField):
    """A rate or share in percent with six decimals (0.030000 % a day, 24.000000 % a year)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 6)
        super().__init__(*args, **kwargs)

