"""Texts that are stored and read later, possibly in another language: a history's reasons.

A logged reason written as ``gettext(...)`` would be frozen in the writer's language (the
system's zh-hans for a Celery job, the partner's locale for an API call) and show in Chinese to
an officer who reads English. ``stored_text`` keeps the message id and its parameters instead,
as plain text (so raw inserts and ``UPDATE … RETURNING`` statements take it as they are), and
``display_text`` translates it with the reader's active language. Free text that a person typed
(an officer's reason) is stored and shown as typed.

``TranslatedTextField`` reads a column of such texts already translated, so templates, admin and
API serialisers show ``obj.reason`` in the current language without knowing about any of this.

    reason=stored_text(gettext_noop("Credit line %(line)s granted."), line=line.pk)

Parameters may be numbers, plain strings, other stored texts, or lazy translations
(``gettext_lazy``): those are stored by message id too and translated with the rest.
"""

from __future__ import annotations

import json

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext

__all__ = ["PREFIX", "TranslatedTextField", "display_text", "stored_text"]

# Chosen so that no typed reason starts with it by accident: a marker, then compact JSON.
PREFIX = "\u2063i18n:"


def _msgid(value: Promise) -> str | None:
    """The message id of a ``gettext_lazy`` proxy (None for other lazy objects)."""
    args = getattr(value, "_args", None)
    if args and len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return None


def _param(value):
    if isinstance(value, Promise):
        msgid = _msgid(value)
        return stored_text(msgid) if msgid is not None else str(value)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    return str(value)


def stored_text(msgid, /, **params) -> str:
    """The message ``msgid`` (mark it with ``gettext_noop`` so makemessages finds it, or pass a
    ``gettext_lazy`` proxy) with ``%(name)s`` parameters, as text to store."""
    if isinstance(msgid, Promise):
        msgid = _msgid(msgid) or str(msgid)
    body = {"m": str(msgid)}
    if params:
        body["p"] = {name: _param(value) for name, value in params.items()}
    return PREFIX + json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def display_text(text: str | None) -> str:
    """A stored text in the active language; anything else (typed text, legacy rows) as it is."""
    if not text or not isinstance(text, str) or not text.startswith(PREFIX):
        return text if text is not None else ""
    try:
        body = json.loads(text[len(PREFIX):])
        translated = gettext(body["m"])
        params = body.get("p")
        if not params:
            return translated
        values = {name: display_text(value) if isinstance(value, str) else value for name, value in params.items()}
        return translated % values
    except (ValueError, KeyError, TypeError):
        return text


class TranslatedTextField(models.TextField):
    """A ``TextField`` of texts written by ``stored_text`` (or typed): read back translated into
    the language active when the row is loaded. Lookups and writes see the stored text."""

    def from_db_value(self, value, expression, connection):
        return display_text(value) if value is not None else value
