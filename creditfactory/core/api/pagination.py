"""The API's pagination: ``?limit=&offset=`` with bounds (``DEFAULT_PAGINATION_CLASS``).

DRF's ``LimitOffsetPagination`` passes any integer it can read to the database (``?limit=10**20``
is ``LIMIT 100000000000000000000``: ``DataError: bigint out of range``, a 500) and silently
replaces a malformed value by the default. Here, for every paginated list:

* ``limit`` is a whole number ≥ 1 in ASCII digits; larger than ``API_MAX_PAGE_SIZE`` (default
  200) it is reduced to that — DRF's documented ``max_limit`` behaviour, so a client asking for
  "everything" gets full pages rather than an error;
* ``offset`` is a whole number ≥ 0 in ASCII digits; past the end it answers an empty page
  (DRF returns ``[]`` without a query when the offset exceeds the count, so it never reaches the
  database);
* anything else (``abc``, ``0``, ``-1``, full-width ``１０``) answers 400 ``invalid`` naming
  the parameter.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, pagination

from ..numbers import NumberError, parse_int

__all__ = ["LimitOffsetPagination", "max_page_size"]

DEFAULT_MAX_PAGE_SIZE = 200


def max_page_size() -> int:
    return getattr(settings, "API_MAX_PAGE_SIZE", DEFAULT_MAX_PAGE_SIZE)


def _query_int(request, name: str, *, minimum: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = parse_int(raw)
    except NumberError:
        value = None
    if value is None or value < minimum:
        raise exceptions.ValidationError(
            {name: [_("Enter a whole number of at least %(minimum)d.") % {"minimum": minimum}]})
    return value


class LimitOffsetPagination(pagination.LimitOffsetPagination):
    @property
    def max_limit(self) -> int:
        return max_page_size()

    def get_limit(self, request):
        limit = _query_int(request, self.limit_query_param, minimum=1)
        if limit is None:
            return min(self.default_limit, self.max_limit) if self.default_limit else self.default_limit
        return min(limit, self.max_limit)

    def get_offset(self, request):
        return _query_int(request, self.offset_query_param, minimum=0) or 0

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = _("Number of results per page (default %(default)d, at most %(max)d; "
                                             "a larger value is reduced to %(max)d).") % {
                    "default": self.default_limit, "max": self.max_limit}
                parameter["schema"] = {**parameter.get("schema", {}), "minimum": 1}
            elif parameter["name"] == self.offset_query_param:
                parameter["schema"] = {**parameter.get("schema", {}), "minimum": 0}
        return parameters
