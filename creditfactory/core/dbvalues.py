"""A model field's value as ``save`` sends it, without Django's preparation chain where that chain
would hand the value back unchanged.

``Field.get_db_prep_save`` goes through four or five calls for every value (``get_db_prep_value``,
``get_prep_value``, ``to_python``, the backend's ``adapt_*``) — a few microseconds each, and the
rows written for one drawdown carry some 450 values. For the common cases the result is the value
itself: a ``str`` for a plain ``CharField``/``TextField``, an ``int`` for an integer field or a
foreign key to an integer key, a ``bool``, a ``date``, an aware ``datetime``, a finite ``Decimal``,
a ``UUID`` (any ``str``, a ``TextChoices`` member too, for a text field), or None — on PostgreSQL with psycopg 2, whose adapters take those types as they are.
``db_value`` returns those unchanged and asks the field for everything else. A field qualifies
only when its class keeps Django's own preparation methods (a field that encrypts, like
``core.pii.EncryptedTextField``, or serialises, like ``JSONField``, never does); the test
``tests/core/test_dbvalues.py`` checks every field of every model against ``get_db_prep_save``,
so a Django upgrade that changes the chain fails there.

Callers are the PostgreSQL fast paths only (``core.rows``, the apps' ``fastpath`` modules).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from django.db import models

__all__ = ["as_is_types", "db_value"]

_METHODS = ("get_db_prep_save", "get_db_prep_value", "get_prep_value", "to_python")

# (base class, types its values pass unchanged), most specific first: a subclass that keeps all of
# the base's preparation methods qualifies (MoneyField, PositiveIntegerField …).
_BASES: tuple[tuple[type, tuple[type, ...]], ...] = (
    (models.BigAutoField, (int,)),
    (models.AutoField, (int,)),
    (models.SmallAutoField, (int,)),
    (models.IntegerField, (int,)),
    (models.BooleanField, (bool,)),
    (models.DecimalField, (Decimal,)),
    (models.DateTimeField, (datetime,)),
    (models.DateField, (date,)),
    (models.UUIDField, (uuid.UUID,)),
    (models.CharField, (str,)),
    (models.TextField, (str,)),
)


def as_is_types(field) -> tuple[type, ...]:
    """The exact Python types whose values ``field.get_db_prep_save`` returns unchanged (an
    aware ``datetime`` and a finite ``Decimal`` only; see ``db_value``), or ``()``."""
    cls = type(field)
    if isinstance(field, models.ForeignKey):
        if cls.get_db_prep_save is not models.ForeignKey.get_db_prep_save:
            return ()
        return tuple(kind for kind in as_is_types(field.target_field) if kind is int)
    for base, types in _BASES:
        if isinstance(field, base):
            if all(getattr(cls, name) is getattr(base, name) for name in _METHODS):
                return types
            return ()
    return ()


_PLANS: dict[int, tuple] = {}


def db_value(field, value, connection):
    """``field.get_db_prep_save(value, connection)``, returning ``value`` itself where that is
    what the call would return (PostgreSQL)."""
    plan = _PLANS.get(id(field))
    if plan is None or plan[0] is not field:
        plan = _PLANS[id(field)] = (field, as_is_types(field))
    types = plan[1]
    if types:
        if value is None:
            return None
        kind = type(value)
        if kind in types:
            if kind is Decimal:
                if value.is_finite():
                    return value
            elif kind is datetime:
                if value.utcoffset() is not None:
                    return value
            else:
                return value
        elif types[0] is str and isinstance(value, str):
            return value  # a TextChoices member: to_python hands it back as it is
    return field.get_db_prep_save(value, connection)
