"""core's prebuilt statements: the ones on the measured origination path (docs/benchmarks.md),
and only those. Each reads or writes exactly what the ORM would (tests/core/test_fastpath.py);
everything else in core uses the ORM. The mechanism is ``creditfactory.core.rows``; the public
entry points stay in ``creditfactory.core.state``.
"""

from functools import lru_cache

from .models import StateTransition
from .rows import RowWriter, default_connection, execute, save_fields, save_fields_and_insert, typed_placeholder

# Several log entries per application: the INSERT is built once per process.
_TRANSITIONS = RowWriter(StateTransition)


def state_fields_save(obj, fields: list[str]) -> None:
    """``obj.save(update_fields=fields)`` of a state move, as one prebuilt UPDATE for plainly
    saved models (the ORM for history-tracked ones and on SQLite: ``core.rows.save_fields``)."""
    save_fields(obj, fields)


def state_fields_save_and_log(obj, fields: list[str], entry: StateTransition) -> bool:
    """``state_fields_save`` and ``state_transition_insert(entry)`` in one statement (a data-modifying
    CTE: the entry is inserted from the UPDATE's ``RETURNING``); False when they must be written
    one by one (nothing written)."""
    return save_fields_and_insert(obj, fields, entry)


def state_transition_insert(entry: StateTransition) -> StateTransition:
    """``entry.save()`` of a new log entry, as one prebuilt INSERT (the ORM where it must)."""
    return _TRANSITIONS.insert(entry)


def state_move_and_log(model, pk, *, field: str, from_state: str, values: dict, log: dict) -> bool:
    """PostgreSQL: ``UPDATE <model> SET <values> WHERE pk = pk AND <field> = from_state`` and the
    log row ``log`` (``StateTransition`` field names → values) inserted from its ``RETURNING``, in
    one statement (a data-modifying CTE), so the entry exists exactly when the row moved. True
    when it moved. ``values`` maps field names of ``model`` to their new values."""
    connection = default_connection()
    sql = _state_move_sql(model, field, tuple(values), tuple(log), connection.vendor)
    with connection.cursor() as cursor:
        execute(cursor, sql, [*values.values(), pk, from_state, *log.values()])
        return cursor.fetchone() is not None


@lru_cache(maxsize=None)
def _state_move_sql(model, field: str, names: tuple, log_names: tuple, vendor: str) -> str:
    """``state_move_and_log``'s statement, built once per model, fields and vendor."""
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = model._meta
    assignments = [f"{quote(meta.get_field(name).column)} = %s" for name in names]
    log_fields = [StateTransition._meta.get_field(name) for name in log_names]
    pk_column = quote(meta.pk.column)
    return (
        f"WITH moved AS (UPDATE {quote(meta.db_table)} SET {', '.join(assignments)} "
        f"WHERE {pk_column} = %s AND {quote(meta.get_field(field).column)} = %s RETURNING {pk_column}) "
        f"INSERT INTO {quote(StateTransition._meta.db_table)} ({', '.join(quote(f.column) for f in log_fields)}) "
        f"SELECT {', '.join(map(typed_placeholder, log_fields))} FROM moved RETURNING 1"
    )
