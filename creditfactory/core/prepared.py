"""Prebuilt statements prepared once per connection on PostgreSQL (``execute``).

PostgreSQL parses, analyses and plans every statement it receives; for the prebuilt statements of
the hot paths that was a third of its CPU (9 ms of planning a drawdown, docs/benchmarks.md). On
PostgreSQL ``execute`` prepares each prebuilt statement once per connection (``PREPARE``) and then
sends ``EXECUTE name(…)`` with the same parameters, quoted by psycopg as before; after five
executions PostgreSQL keeps a generic plan when it costs no more than the custom ones (every
statement sent here reads or writes rows by key). DATABASE_PREPARED_STATEMENTS: "on" (default),
"off" (e.g. behind PgBouncer in transaction mode, which cannot keep a session's prepared
statements), "strict" (the test suite: a statement PostgreSQL cannot prepare raises instead of
being sent unprepared with a warning). The statements themselves are built in ``core.rows`` and
the apps' ``fastpath`` modules.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection

__all__ = ["execute", "prepared_text", "typed_placeholder"]

logger = logging.getLogger(__name__)

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
_MAX_STATEMENTS = 2000  # per process and per connection: texts that vary per call are not kept


@dataclass(frozen=True)
class _Prepared:
    name: str
    text: str  # the statement with $1, $2, … for its placeholders
    names: tuple | None  # for a statement with %(name)s parameters: the names in $n order
    execute: str  # "EXECUTE name(%s, …)"


_STATEMENTS: dict[str, _Prepared | None] = {}
_TEXTS: dict[str, str] = {}  # name → the statement, for reading logs and profiles


def _form(sql: str) -> _Prepared | None:
    count, names, positional = 0, [], False

    def number(match) -> str:
        nonlocal count, positional
        if match.group(0) == "%%":
            return "%"
        if match.group(1) is None:
            positional = True
            count += 1
            return f"${count}"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    text = _PLACEHOLDER.sub(number, sql)
    if positional and names:
        return None  # psycopg takes one style or the other: leave it to fail as it would
    width = len(names) or count
    name = "cf_" + hashlib.blake2b(sql.encode(), digest_size=8).hexdigest()
    arguments = f"({', '.join(['%s'] * width)})" if width else ""
    return _Prepared(name, text, tuple(names) if names else None, f"EXECUTE {name}{arguments}")


def typed_placeholder(field) -> str:
    """``%s`` cast to the column's type without its modifiers (``%s::varchar``, ``%s::numeric``),
    for a parameter in a SELECT list (``INSERT … SELECT``): PostgreSQL cannot infer its type when
    preparing. The column's own length, precision and scale apply on insert as before."""
    db_type = field.db_type(connection)
    return f"%s::{re.sub(r'[(][^)]*[)]', '', db_type).strip()}" if db_type else "%s"


def _mode() -> str:
    return getattr(settings, "DATABASE_PREPARED_STATEMENTS", "on")


def execute(cursor, sql: str, params=None) -> None:
    """``cursor.execute(sql, params)`` for a prebuilt statement (``params`` a list, or a dict for
    ``%(name)s`` placeholders): on PostgreSQL the statement is prepared once per connection and
    executed by name — same parameters, same rows, same errors. A statement PostgreSQL cannot
    prepare (a parameter whose type it cannot infer) is sent as it is, with a warning once per
    process (an error under "strict"). Other databases, ``params=None`` and
    DATABASE_PREPARED_STATEMENTS=off send it unchanged."""
    db = cursor.db
    if params is None or db.vendor != "postgresql" or _mode() == "off":
        cursor.execute(sql, params)
        return
    try:
        form = _STATEMENTS[sql]
    except KeyError:
        form = _form(sql) if len(_STATEMENTS) < _MAX_STATEMENTS else None
        _STATEMENTS[sql] = form
        if form is not None:
            _TEXTS[form.name] = sql
    if form is None:
        cursor.execute(sql, params)
        return
    raw = db.connection
    state = db.__dict__.get("_prepared_statements")
    if state is None or state[0] is not raw:
        state = db.__dict__["_prepared_statements"] = (raw, set())
    if form.name not in state[1]:
        if len(state[1]) >= _MAX_STATEMENTS or not _prepare(cursor, form, sql):
            cursor.execute(sql, params)
            return
        state[1].add(form.name)
    cursor.execute(form.execute, [params[name] for name in form.names] if form.names else params)


def _prepare(cursor, form: _Prepared, sql: str) -> bool:
    # Sent on psycopg's own cursor, so query logs and assertNumQueries see the same statements
    # whether or not this connection prepared it before; inside a transaction in a savepoint of
    # its own, so that a PREPARE that fails leaves the caller's transaction as it was.
    db, raw = cursor.db, cursor.cursor
    in_transaction = not db.get_autocommit()
    try:
        with db.wrap_database_errors:
            _send_prepare(raw, form, in_transaction)
    except DatabaseError as error:
        if in_transaction:
            with db.wrap_database_errors:
                raw.execute("ROLLBACK TO SAVEPOINT cf_prepare; RELEASE SAVEPOINT cf_prepare")
        if _mode() == "strict":
            raise
        _STATEMENTS[sql] = None
        logger.warning("prebuilt statement sent unprepared (%s): %s", str(error).strip(), sql[:200])
        return False
    return True


def _send_prepare(raw, form: _Prepared, in_transaction: bool) -> None:
    if in_transaction:
        raw.execute(f"SAVEPOINT cf_prepare; PREPARE {form.name} AS {form.text}; RELEASE SAVEPOINT cf_prepare")
    else:
        raw.execute(f"PREPARE {form.name} AS {form.text}")


def prepared_text(executed: str) -> str:
    """The statement behind a logged ``EXECUTE cf_…(…)`` (the logged text itself otherwise)."""
    match = re.match(r"EXECUTE (cf_[0-9a-f]{16})\b", executed)
    return _TEXTS.get(match.group(1), executed) if match else executed
