"""Django admin shows money, rates and shares as the back office does (``creditfactory.core.display``):
``12,345.00``, ``年化 6.00 %``, ``30.00 %`` — in change-list columns and in read-only fields,
for every model admin of every app, without each admin declaring it. Dates and times need
nothing here: admin formats them with ``DATETIME_FORMAT`` in ``TIME_ZONE`` already, and
``creditfactory.formats`` makes that format the back office's.

Admin renders both through ``django.contrib.admin.utils.lookup_field`` (imported by name into
``helpers`` and ``templatetags.admin_list``); ``install()`` — called from ``CoreConfig.ready`` —
wraps it there so a ``MoneyField`` or ``PercentField`` value arrives already formatted (a rate
with the basis of its row's ``rate_basis``). Editable form inputs keep plain decimals. A JSON list of codes whose field name has labels
registered as ``codes:<field name>`` (``display.register_labels``) shows those labels."""

from __future__ import annotations

from functools import wraps

from django.db.models import JSONField

from . import display
from .display import has_labels
from .fields import MoneyField, PercentField

__all__ = ["format_field_value", "install"]


def format_field_value(field, obj, value):
    """The display text of ``value`` of model field ``field`` of ``obj``, or None when the field
    is neither money nor a percentage."""
    if isinstance(field, MoneyField):
        return display.format_money(value)
    if isinstance(field, JSONField) and isinstance(value, list) and has_labels(f"codes:{field.name}"):
        # a list of codes (a product's repayment methods, purposes): their labels
        return ", ".join(display.label(f"codes:{field.name}", code) for code in value) or display.EMPTY
    if isinstance(field, JSONField) and isinstance(value, list) and all(isinstance(item, int) for item in value):
        # a list of numbers (a product's collection retry days): "1, 3, 7"
        return ", ".join(str(item) for item in value) or display.EMPTY
    if isinstance(field, PercentField):
        basis = getattr(obj, "rate_basis", None)
        if basis and field.name.startswith("rate"):
            return display.format_rate(value, basis)
        return display.format_percent(value)
    return None


def _wrap(lookup_field):
    if getattr(lookup_field, "_cf_display", False):
        return lookup_field

    @wraps(lookup_field)
    def wrapped(name, obj, model_admin=None):
        field, attr, value = lookup_field(name, obj, model_admin)
        if field is not None and value is not None:
            text = format_field_value(field, obj, value)
            if text is not None:
                return None, attr, text
        return field, attr, value

    wrapped._cf_display = True
    return wrapped


def install() -> None:
    from django.contrib.admin import helpers, utils
    from django.contrib.admin.templatetags import admin_list

    for module in (helpers, admin_list):
        module.lookup_field = _wrap(utils.lookup_field)
