"""Partner scoping: a partner sees and changes only its own records.

Every partner endpoint reads through ``scope_to_partner`` or ``get_partner_object_or_404``; any
id that is not the caller's answers 404, never 403, so ids of other partners' records cannot be
probed. ``tests/partners/scoping_matrix.py`` checks this for every endpoint.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound

from .auth import request_partner


def scope_to_partner(queryset: QuerySet, request, *, field: str = "partner") -> QuerySet:
    """Restrict ``queryset`` to the caller's records. ``field`` is the lookup path from the model
    to its Partner (e.g. ``"application__partner"``). A caller that is not a partner sees
    nothing, so a staff view that reuses this by mistake leaks nothing."""
    partner = request_partner(request)
    if partner is None:
        return queryset.none()
    return queryset.filter(**{field: partner})


def get_partner_object_or_404(queryset: QuerySet, request, *, field: str = "partner", **lookup):
    """The caller's object matching ``lookup`` (e.g. ``pk=...``), else ``NotFound`` — also when
    the object exists but belongs to another partner, or the lookup value is malformed."""
    try:
        obj = scope_to_partner(queryset, request, field=field).filter(**lookup).first()
    except (ValueError, TypeError, ValidationError):
        obj = None
    if obj is None:
        raise NotFound()
    return obj


def get_partner_row_or_404(reader, request, *, pk, field: str = "partner"):
    """``get_partner_object_or_404`` on a hot path: the row read by key through a prebuilt reader
    (``creditfactory.core.rows.RowReader``), ``NotFound`` unless it exists and its ``field`` is
    the calling partner (a caller that is not a partner finds nothing)."""
    partner = request_partner(request)
    obj = reader.get(pk) if partner is not None else None
    if obj is None or getattr(obj, f"{field}_id") != partner.pk:
        raise NotFound()
    return obj
