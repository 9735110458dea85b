"""The API's JSON parser: DRF's, plus the limits every request body must respect.

It is the default parser of every DRF view (``DEFAULT_PARSER_CLASSES``), so each endpoint —
present or future — refuses, with 400 in the error format (``creditfactory.core.api.errors``)
and before any view code sees the data:

* a body nested deeper than ``API_JSON_MAX_DEPTH`` (default 32) levels; Python's decoder
  recurses per level, so a 2 KB body of a thousand brackets would otherwise raise
  ``RecursionError`` (a 500) here or in any code that walks the data (the idempotency
  fingerprint re-encodes it);
* a body that is not UTF-8 or not JSON (``parse_error``);
* a body that is not a JSON object (``[]``, ``"x"``, ``1``, ``null``): every endpoint takes an
  object, and code reading ``request.data.get(...)`` must be able to rely on it;
* a string (or object key) holding a control character other than tab, line feed and carriage
  return, or a bidirectional override (``creditfactory.core.validators``): 400 ``invalid``
  naming the field by its path (``applicant.name``).

The body's size is limited by Django (``DATA_UPLOAD_MAX_MEMORY_SIZE``): DRF reads JSON through
``request.body``, and the error handler answers 413.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers
from rest_framework.utils import json

from ..validators import text_problem

__all__ = ["JSONParser", "json_depth_exceeds"]

DEFAULT_MAX_DEPTH = 32


def max_depth() -> int:
    return getattr(settings, "API_JSON_MAX_DEPTH", DEFAULT_MAX_DEPTH)


def json_depth_exceeds(data, limit: int) -> bool:
    """True when ``data`` has containers nested more than ``limit`` levels (a scalar is level 0,
    ``[]`` level 1). Iterative: it must not recurse on the data it guards against."""
    stack = [(data, 1)] if isinstance(data, (dict, list)) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _text_errors(data) -> dict[str, list[str]]:
    """``{"applicant.name": [message]}`` for every string (or key) with a forbidden character."""
    errors: dict[str, list[str]] = {}
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value, multiline=True)
            if problem:
                errors.setdefault(path or "non_field_errors", []).append(problem)
        elif isinstance(value, dict):
            for key, child in value.items():
                child_path = f"{path}.{key}" if path else str(key)
                problem = text_problem(str(key), multiline=False)
                if problem:
                    errors.setdefault(child_path, []).append(problem)
                stack.append((child, child_path))
        elif isinstance(value, list):
            stack.extend((child, f"{path}.{index}" if path else str(index)) for index, child in enumerate(value))
    return errors


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a depth limit, a strict UTF-8 decode, objects only and no control
    characters (see the module docstring)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError:
            raise exceptions.ParseError(_("The body is not UTF-8 text.")) from None
        limit = max_depth()
        try:
            # DRF's strict mode refuses NaN and Infinity (they are not JSON).
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except RecursionError:
            raise exceptions.ParseError(self._too_deep(limit)) from None
        except ValueError as exc:
            raise exceptions.ParseError(_("The body is not valid JSON: %(error)s.") % {"error": exc}) from None
        if json_depth_exceeds(data, limit):
            raise exceptions.ParseError(self._too_deep(limit))
        if not isinstance(data, dict):
            raise exceptions.ParseError(_("The body must be a JSON object ({…}), not %(kind)s.")
                                        % {"kind": _json_kind(data)})
        errors = _text_errors(data)
        if errors:
            raise exceptions.ValidationError(errors)
        return data

    @staticmethod
    def _too_deep(limit: int) -> str:
        return _("The body is nested more than %(limit)d levels deep.") % {"limit": limit}


def _json_kind(data) -> str:
    if isinstance(data, list):
        return _("an array")
    if isinstance(data, str):
        return _("a string")
    if isinstance(data, bool):
        return _("a boolean")
    if data is None:
        return "null"
    return _("a number")
