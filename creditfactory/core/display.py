"""How values are shown to people: the one place that formats money, rates and times and turns
internal codes (node names, states, rule outcomes, field paths) into translated labels.

Every screen uses these — the back office through the template filters of
``creditfactory.core.templatetags.cf_display``, Django admin through
``creditfactory.core.admin_display`` (list columns and read-only fields), Python code (form
errors, batch results) by calling them. The API is not formatted: it keeps plain decimals and
ISO 8601 times.

* Money: ``12,345.00`` — thousands separators and two decimals (``money.format_money``).
* Rates: ``年化 6.00 %`` / ``日 0.05 %`` (``annual 6.00 %`` / ``daily 0.05 %`` in English) — at
  least two decimals, more only where the rate has them (a daily ``0.035`` stays ``0.035``).
* Times: Asia/Shanghai (``settings.TIME_ZONE``) in the ``DATETIME_FORMAT`` / ``DATE_FORMAT`` of
  ``creditfactory.formats`` (``2026-12-04 22:56``), whatever the language.
* Codes: ``label(kind, code)`` looks the code up among the labels an app registered for that kind
  (``register_labels``); choices of model fields need no registration (``state_label``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from .money import format_money as _format_money
from .money import to_decimal

__all__ = [
    "has_labels",
    "EMPTY", "field_label", "format_date", "format_datetime", "format_money", "format_percent", "format_rate",
    "choice_labels", "format_value", "humanise", "label", "mask_name", "register_labels", "state_label", "transition_display",
]

EMPTY = "—"
ANNUAL, DAILY = "annual", "daily"


# --- numbers --------------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return to_decimal(value if isinstance(value, (Decimal, int, str)) else str(value))
    except (ValueError, InvalidOperation):
        return None


def format_money(value) -> str:
    """``12345.6`` → ``12,345.60``; empty → ``—``."""
    amount = _decimal(value)
    return EMPTY if amount is None else _format_money(amount)


def _percent_digits(value: Decimal) -> str:
    """Two decimals, or up to four where the value has them (``0.035`` → ``0.035``)."""
    places = max(2, min(4, -value.normalize().as_tuple().exponent))
    return f"{value:,.{places}f}"


def format_percent(value) -> str:
    """A share or a rate without a basis: ``30.000000`` → ``30.00 %``."""
    number = _decimal(value)
    return EMPTY if number is None else f"{_percent_digits(number)} %"


def format_rate(value, basis: str = ANNUAL) -> str:
    """A rate with its basis: ``年化 6.00 %`` (annual) or ``日 0.05 %`` (daily)."""
    number = _decimal(value)
    if number is None:
        return EMPTY
    text = _percent_digits(number)
    if basis == DAILY:
        return _("daily %(rate)s %%") % {"rate": text}
    return _("annual %(rate)s %%") % {"rate": text}


# --- times ----------------------------------------------------------------------------------------


def format_datetime(value) -> str:
    """An aware datetime in Asia/Shanghai as ``2026-12-04 22:56``; a date as ``2026-12-04``."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return formats.date_format(value, "DATETIME_FORMAT")
    return format_date(value)


def format_date(value) -> str:
    if value is None or value == "":
        return EMPTY
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return formats.date_format(value, "DATE_FORMAT")


# --- people ---------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """``王小明`` → ``王**``, ``Li Lei`` → ``L*****``: the first character and a star for each
    other one (lists and queues; the application page shows the name in full)."""
    name = (name or "").strip()
    if not name:
        return EMPTY
    return name[0] + "*" * max(1, len(name) - 1)


# --- labels for codes ----------------------------------------------------------------------------

_LABELS: dict[str, list[Callable[[], Mapping[str, str]] | Mapping[str, str]]] = {}


def register_labels(kind: str, labels: Mapping[str, str] | Callable[[], Mapping[str, str]]) -> None:
    """Declare the labels of the codes of ``kind`` (``"node"``, ``"outcome"``, ``"step"``…): a
    mapping of code → (lazy) translated label, or a callable returning one (asked at display
    time, so it may read the flow or the database). Apps call this from ``AppConfig.ready``."""
    _LABELS.setdefault(kind, []).append(labels)


def has_labels(kind: str) -> bool:
    """Whether any labels are registered for ``kind``."""
    return kind in _LABELS


def humanise(code) -> str:
    """The last resort for a code nobody registered: ``await_documents`` → ``Await documents``."""
    text = str(code or "").replace("_", " ").replace(".", " · ").strip()
    return text[:1].upper() + text[1:] if text else EMPTY


def label(kind: str, code) -> str:
    """The translated label of ``code`` among the labels registered for ``kind``."""
    if code is None or code == "":
        return EMPTY
    for source in _LABELS.get(kind, ()):
        mapping = source() if callable(source) else source
        if code in mapping:
            return str(mapping[code])
    return humanise(code)


def _field(model, name):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def state_label(model, field: str, state) -> str:
    """The label of ``state`` of ``model.<field>`` (its choices), else of the codes registered
    for the kind ``field`` (e.g. ``risk_decision``)."""
    if state is None or state == "":
        return EMPTY
    model_field = _field(model, field) if model is not None else None
    choices = dict(getattr(model_field, "flatchoices", None) or ())
    if state in choices:
        return str(choices[state])
    return label(field, state)


def field_label(model, path: str) -> str:
    """``applicant.id_number`` → ``Applicant · ID number``: the verbose names along a dotted path
    (through relations of ``model``), else the labels registered for the kind ``"field"``."""
    parts, names, current = str(path or "").split("."), [], model
    for part in parts:
        model_field = _field(current, part) if current is not None else None
        if model_field is None:
            names.append(label("field", part))
            current = None
            continue
        verbose = getattr(model_field, "verbose_name", None) or getattr(model_field.related_model._meta, "verbose_name", part)
        names.append(str(verbose)[:1].upper() + str(verbose)[1:])
        current = getattr(model_field, "related_model", None)
    return " · ".join(names)


def transition_display(transition) -> dict:
    """A row of the state-change log (``core.StateTransition``) as people read it: the time in
    Asia/Shanghai, what changed and the states as labels of the model's choices, who and why."""
    model = transition.content_type.model_class() if transition.content_type_id else None
    model_field = _field(model, transition.field) if model is not None else None
    what = (str(model_field.verbose_name) if model_field is not None else label("field", transition.field))
    return {
        "at": format_datetime(transition.at),
        "field": what[:1].upper() + what[1:],
        "from_state": state_label(model, transition.field, transition.from_state),
        "to_state": state_label(model, transition.field, transition.to_state),
        "actor": str(transition.actor or transition.actor_label or EMPTY),
        "reason": transition.reason,
    }


def choice_labels(choices, values=None) -> str:
    """``Choose one of: …`` as people read it: the labels of ``values`` (all of ``choices`` when
    None) — a ``TextChoices`` class or ``(value, label)`` pairs — joined with commas."""
    pairs = choices.choices if hasattr(choices, "choices") else list(choices)
    labels = dict(pairs)
    wanted = [value for value, _label in pairs] if values is None else list(values)
    return ", ".join(str(labels.get(value, humanise(value))) for value in wanted)


def format_value(value) -> str:
    """A value read from data (a feature, a data source's answer) as text for people: yes / no,
    lists joined, mappings as ``key: value`` pairs — never a Python repr."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, Mapping):
        return "; ".join(f"{humanise(key)}: {format_value(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(format_value(item) for item in value) or EMPTY
    return str(value)
