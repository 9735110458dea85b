"""The drawdown's worker rounds written with fused statements (``servicing.fastpath``, split out
of its ``__init__`` by size): a row, or a move, and its state log entry in one statement."""

from __future__ import annotations

from functools import lru_cache

from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction

from creditfactory.core.dbvalues import db_value
from creditfactory.core.rows import RowReader, default_connection, execute, typed_placeholder

from ..models import (
    BusinessDate,
    DrawdownFunding,
    Installment,
    JournalEntry,
    JournalLine,
    Loan,
    LoanPart,
    PaymentChannel,
    SandboxBankTransfer,
)

__all__ = ["business_date_value", "drawdown_funding", "event_move_logged", "fused", "insert_logged",
           "journal_entry_with_lines_insert", "loan_booked_insert", "payment_channel_active",
           "sandbox_callback_sent", "sandbox_transfer_insert"]


def _entry_sql(vendor: str):
    """The journal entry's INSERT of the package (``servicing.fastpath``), which imports this
    module after defining it."""
    from . import _journal_entry_insert_sql

    return _journal_entry_insert_sql(vendor)


# --- the drawdown's worker rounds: writes fused with their state log (PostgreSQL) ------------------------
#
# Each statement below replaces several the ORM would send, with the values prepared exactly as
# ``Model.save`` prepares them (``pre_save`` — so ``auto_now``/``auto_now_add`` apply — then
# ``get_db_prep_save``). The state log row of a move or of a new row is inserted by the same
# statement (a data-modifying CTE), from the ``RETURNING`` of the row it records, so the entry
# exists exactly when the row was written — as ``creditfactory.core.state.change_state_where``.
# Callers take the ORM path on other databases (``fused()``).


def fused() -> bool:
    """Whether the fused statements below can be used (PostgreSQL: data-modifying CTEs)."""
    connection = _db()
    return connection.vendor == "postgresql"


_db = default_connection  # the connection itself, not django.db's proxy (core.rows)


def _insert_fields(model, *, exclude: tuple[str, ...] = ()) -> tuple:
    meta = model._meta
    return tuple(field for field in meta.local_concrete_fields
                 if field is not meta.auto_field and field.name not in exclude and not getattr(field, "generated", False))


def _prepared(obj, fields, db, *, check_related: bool = True) -> list:
    """``obj``'s values of ``fields`` as ``Model.save`` of a new instance sends them
    (``check_related=False``: a foreign key to a row the same statement inserts is not among
    ``fields`` and is not checked)."""
    if check_related:
        obj._prepare_related_fields_for_save(operation_name="save")
    return [db_value(field, field.pre_save(obj, True), db) for field in fields]


def _placeholders(count: int) -> str:
    return "(" + ", ".join(["%s"] * count) + ")"


@lru_cache(maxsize=None)
def _log_parts(vendor: str) -> tuple[str, tuple]:
    """The state log's INSERT head and the fields it takes (all but ``object_id``, which the
    statement fills from the row it records)."""
    connection = _db()
    from creditfactory.core.models import StateTransition

    quote = connection.ops.quote_name
    fields = _insert_fields(StateTransition, exclude=("object_id",))
    columns = ", ".join(quote(field.column) for field in fields)
    return (f"INSERT INTO {quote(StateTransition._meta.db_table)} ({columns}, "
            f"{quote(StateTransition._meta.get_field('object_id').column)})"), fields


def _log_sql(source: str) -> str:
    """``INSERT INTO <state log> … SELECT <log values>, <source>.id::text FROM <source>``: one log
    row per row the CTE ``source`` returned (built once per source and vendor)."""
    connection = _db()
    return _log_sql_of(source, connection.vendor)


@lru_cache(maxsize=None)
def _log_sql_of(source: str, vendor: str) -> str:
    head, fields = _log_parts(vendor)
    return f"{head} SELECT {', '.join(map(typed_placeholder, fields))}, {source}.id::text FROM {source}"


def _log_values(log, db) -> list:
    return _prepared(log, _log_parts(db.vendor)[1], db)


def _finish_insert(obj, pk) -> None:
    obj.pk = pk
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS


@lru_cache(maxsize=None)
def _insert_logged_sql(model, unless_exists: bool, vendor: str) -> tuple[str, tuple]:
    connection = _db()
    quote = connection.ops.quote_name
    meta = model._meta
    fields = _insert_fields(model)
    return (f"WITH n AS (INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {_placeholders(len(fields))}{' ON CONFLICT DO NOTHING' if unless_exists else ''} "
            f"RETURNING {quote(meta.pk.column)} AS id), "
            f"t AS ({_log_sql('n')}) SELECT id FROM n"), fields


def insert_logged(obj, *, log, unless_exists: bool = False) -> bool:
    """``obj.save()`` of a new row and ``log`` (a ``StateTransition`` whose ``object_id`` is
    filled from the new row's id: its creation) in one statement; True (``obj`` saved, its id
    set). A unique violation raises ``IntegrityError`` as ``save`` would — or, with
    ``unless_exists``, writes nothing (neither row; a conflicting row being inserted by another
    transaction is waited for) and returns False."""
    db = _db()
    sql, fields = _insert_logged_sql(type(obj), unless_exists, db.vendor)
    with db.cursor() as cursor:
        execute(cursor, sql, [*_prepared(obj, fields, db), *_log_values(log, db)])
        row = cursor.fetchone()
    if row is None:
        return False
    _finish_insert(obj, row[0])
    log.object_id = str(obj.pk)
    return True


@lru_cache(maxsize=None)
def _event_move_logged_sql(event_model, model, field: str, names: tuple, vendor: str) -> tuple[str, tuple]:
    connection = _db()
    quote = connection.ops.quote_name
    meta = model._meta
    event_fields = _insert_fields(event_model)
    assignments = ", ".join(f"{quote(meta.get_field(name).column)} = %s" for name in names)
    return (f"WITH e AS (INSERT INTO {quote(event_model._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in event_fields)}) VALUES {_placeholders(len(event_fields))}), "
            f"moved AS (UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s "
            f"AND {quote(meta.get_field(field).column)} = %s RETURNING {quote(meta.pk.column)} AS id), "
            f"t AS ({_log_sql('moved')}) SELECT count(*) FROM moved"), event_fields


def event_move_logged(event, model, pk, *, field: str, from_state: str, values: dict, log) -> bool:
    """``event.save()`` of a new event row, ``UPDATE <model> SET values WHERE pk AND <field> =
    from_state`` and — when it moved — ``log`` (its ``object_id`` filled from the moved row), in
    one statement. The event is written whether or not the row moved; True when it moved.
    ``values`` maps field names of ``model`` to their new values (``field`` among them)."""
    names = tuple(values)
    db = _db()
    sql, event_fields = _event_move_logged_sql(type(event), model, field, names, db.vendor)
    meta = model._meta
    params = [*_prepared(event, event_fields, db),
              *(db_value(meta.get_field(name), value, db) for name, value in values.items()),
              meta.pk.get_db_prep_value(pk, db), from_state, *_log_values(log, db)]
    with db.cursor() as cursor:
        execute(cursor, sql, params)
        moved = cursor.fetchone()[0] > 0
    event._state.adding, event._state.db = False, DEFAULT_DB_ALIAS  # its id is not read back
    if moved:
        log.object_id = str(pk)
    return moved


@lru_cache(maxsize=None)
def _loan_booked_sql(parts: int, installments: int, vendor: str) -> tuple[str, tuple, tuple, tuple]:
    connection = _db()
    quote = connection.ops.quote_name
    loan, part, row = Loan._meta, LoanPart._meta, Installment._meta
    loan_fields = _insert_fields(Loan, exclude=("number",))
    part_fields = _insert_fields(LoanPart, exclude=("loan",))
    row_fields = _insert_fields(Installment, exclude=("loan",))
    loan_id = "(SELECT id FROM n)"
    # the number as ``servicing.services.loans.loan_number``: the prefix, then the id zero-padded to 8
    number = f"%s || lpad({loan_id}::text, greatest(8, length({loan_id}::text)), '0')"

    def rows(fields, count):
        return ", ".join([f"({loan_id}, {', '.join(['%s'] * len(fields))})"] * count)

    return (
        f"WITH n AS (SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id), "
        f"l AS (INSERT INTO {quote(loan.db_table)} ({quote(loan.pk.column)}, {quote(loan.get_field('number').column)}, "
        f"{', '.join(quote(f.column) for f in loan_fields)}) "
        f"VALUES ({loan_id}, {number}, {', '.join(['%s'] * len(loan_fields))}) RETURNING {quote(loan.pk.column)} AS id), "
        f"p AS (INSERT INTO {quote(part.db_table)} ({quote(part.get_field('loan').column)}, "
        f"{', '.join(quote(f.column) for f in part_fields)}) VALUES {rows(part_fields, parts)} "
        f"RETURNING {quote(part.pk.column)} AS id), "
        f"i AS (INSERT INTO {quote(row.db_table)} ({quote(row.get_field('loan').column)}, "
        f"{', '.join(quote(f.column) for f in row_fields)}) VALUES {rows(row_fields, installments)}), "
        f"t AS ({_log_sql('l')}) "
        f"SELECT (SELECT id FROM l), (SELECT array_agg(id ORDER BY id) FROM p)"
    ), loan_fields, part_fields, row_fields


def loan_booked_insert(loan: Loan, *, number_prefix: str, parts: list[LoanPart], installments: list[Installment],
                       log) -> None:
    """A new loan, numbered ``number_prefix`` + its id zero-padded to 8 digits, its funding parts,
    its schedule and ``log`` (its creation in the state log), in one statement — what
    ``Loan.objects.create`` then ``save(update_fields=["number"])``, two ``bulk_create`` and
    ``record_transition`` write in five: the id is taken from the loan's sequence first
    (``nextval``), so the number is written with the row. Sets the ids of the loan and its parts
    and the loan's number."""
    if not parts or not installments:
        raise ValueError("a loan is booked with its funding parts and its schedule")
    db = _db()
    sql, loan_fields, part_fields, row_fields = _loan_booked_sql(len(parts), len(installments), db.vendor)
    for obj in (*parts, *installments):
        obj.loan = loan  # the id is the statement's: only the other fields are prepared here
    params = [Loan._meta.db_table, Loan._meta.pk.column, number_prefix, *_prepared(loan, loan_fields, db)]
    for part in parts:
        params.extend(_prepared(part, part_fields, db, check_related=False))
    for row in installments:
        params.extend(_prepared(row, row_fields, db, check_related=False))
    params.extend(_log_values(log, db))
    with db.cursor() as cursor:
        execute(cursor, sql, params)
        loan_id, part_ids = cursor.fetchone()
    _finish_insert(loan, loan_id)
    loan.number = f"{number_prefix}{loan_id:08d}"
    for part, part_id in zip(parts, part_ids, strict=True):
        _finish_insert(part, part_id)
        part.loan_id = loan_id
    for row in installments:
        row.loan_id = loan_id  # their ids are not read back
        row._state.adding, row._state.db = False, DEFAULT_DB_ALIAS
    log.object_id = str(loan_id)


@lru_cache(maxsize=None)
def _journal_entry_with_lines_sql(lines: int, vendor: str) -> tuple[str, tuple]:
    connection = _db()
    quote = connection.ops.quote_name
    entry_sql, _fields = _entry_sql(vendor)
    line = JournalLine._meta
    columns = ("account", "debit", "credit")
    typed = ", ".join(typed_placeholder(line.get_field(name)) for name in columns)
    selects = " UNION ALL ".join([f"SELECT e.id, {typed} FROM e"] * lines)
    return (f"WITH e AS ({entry_sql}), "
            f"l AS (INSERT INTO {quote(line.db_table)} ({quote(line.get_field('entry').column)}, "
            f"{', '.join(quote(line.get_field(name).column) for name in columns)}) {selects}) "
            f"SELECT id FROM e"), tuple(line.get_field(name) for name in columns)


def journal_entry_with_lines_insert(entry: JournalEntry, lines: list[JournalLine]) -> bool:
    """``journal_entry_insert(entry)`` and, when it inserted, ``lines`` (each of ``entry``) in one
    statement: True (``entry`` saved, its id set; the lines' ids are not read back) or False (a
    replay: a reference taken, nothing written). PostgreSQL only (``fused()``)."""
    db = _db()
    entry_sql, entry_fields = _entry_sql(db.vendor)
    sql, line_fields = _journal_entry_with_lines_sql(len(lines), db.vendor)
    params = _prepared(entry, entry_fields, db)
    for line in lines:
        params.extend(db_value(field, field.pre_save(line, True), db) for field in line_fields)
    with db.cursor() as cursor:
        execute(cursor, sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    _finish_insert(entry, row[0])
    for line in lines:
        line.entry_id = entry.pk
        line._state.adding, line._state.db = False, DEFAULT_DB_ALIAS
    return True


@lru_cache(maxsize=None)
def _sandbox_transfer_insert_sql(vendor: str) -> tuple[str, tuple]:
    connection = _db()
    quote = connection.ops.quote_name
    meta = SandboxBankTransfer._meta
    fields = _insert_fields(SandboxBankTransfer)
    return (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {_placeholders(len(fields))} ON CONFLICT DO NOTHING RETURNING {quote(meta.pk.column)}"), fields


def sandbox_transfer_insert(transfer: SandboxBankTransfer) -> bool:
    """``transfer.save()`` of a new transfer unless one with its reference exists (the sandbox
    bank's dedupe): True (saved, its id set) or False (nothing written). PostgreSQL: one ``INSERT
    … ON CONFLICT DO NOTHING``, no savepoint; elsewhere ``save`` in a savepoint."""
    if not fused():
        try:
            with transaction.atomic():
                transfer.save(force_insert=True)
        except IntegrityError:
            return False
        return True
    db = _db()
    sql, fields = _sandbox_transfer_insert_sql(db.vendor)
    with db.cursor() as cursor:
        execute(cursor, sql, _prepared(transfer, fields, db))
        row = cursor.fetchone()
    if row is None:
        return False
    _finish_insert(transfer, row[0])
    return True


_CHANNELS = RowReader(PaymentChannel, by="code")


@lru_cache(maxsize=None)
def _channel_sql(vendor: str) -> tuple[str, tuple]:
    connection = _db()
    sql, parts = _CHANNELS._compile()  # the reader's columns, read by another condition
    quote = connection.ops.quote_name
    code = quote(PaymentChannel._meta.get_field("code").column)
    head = sql.rsplit(" WHERE ", 1)[0]
    return (f"{head} WHERE t0.{quote(PaymentChannel._meta.get_field('active').column)} "
            f"ORDER BY (%s <> '' AND t0.{code} = %s) DESC, t0.{code} LIMIT 1"), parts


def payment_channel_active(code: str) -> PaymentChannel | None:
    """The active payment channel ``code`` names, else the first active one by code (``code``
    empty or naming none), else None — in one statement: what ``filter(active=True,
    code=code).first() or filter(active=True).order_by("code").first()`` reads in two."""
    connection = _db()
    sql, parts = _channel_sql(connection.vendor)
    with connection.cursor() as cursor:
        execute(cursor, sql, [code, code])
        row = cursor.fetchone()
    return RowReader._instance(parts, row) if row is not None else None


@lru_cache(maxsize=None)
def _business_date_sql(vendor: str) -> str:
    connection = _db()
    quote = connection.ops.quote_name
    meta = BusinessDate._meta
    return (f"SELECT {quote(meta.get_field('date').column)} FROM {quote(meta.db_table)} "
            f"WHERE {quote(meta.pk.column)} = 1")


def business_date_value():
    """The business date's row's date, or None when it is not set yet: one prebuilt statement
    (what ``BusinessDate.objects.filter(pk=1).only("date").first()`` reads)."""
    db = _db()
    with db.cursor() as cursor:
        execute(cursor, _business_date_sql(db.vendor), [])
        row = cursor.fetchone()
    return row[0] if row is not None else None


@lru_cache(maxsize=None)
def _callback_sent_sql(vendor: str) -> str:
    connection = _db()
    quote = connection.ops.quote_name
    meta = SandboxBankTransfer._meta
    sent = quote(meta.get_field("callback_sent_at").column)
    return f"UPDATE {quote(meta.db_table)} SET {sent} = %s WHERE {quote(meta.pk.column)} = %s AND {sent} IS NULL"


def sandbox_callback_sent(*, transfer_id: int, at) -> bool:
    """``SandboxBankTransfer.objects.filter(pk=transfer_id, callback_sent_at__isnull=True)
    .update(callback_sent_at=at)`` as one prebuilt statement: True when it set it."""
    db = _db()
    field = SandboxBankTransfer._meta.get_field("callback_sent_at")
    with db.cursor() as cursor:
        execute(cursor, _callback_sent_sql(db.vendor), [field.get_db_prep_save(at, db), transfer_id])
        return cursor.rowcount > 0


_FUNDING_OF_DRAWDOWN = RowReader(DrawdownFunding, related=("funder",), by="drawdown")


def drawdown_funding(drawdown_id: int) -> list[DrawdownFunding]:
    """A drawdown's funding parts with their funders, in the model's order (the lead first, then
    by funder code): what ``drawdown.funding.select_related("funder")`` reads, one prebuilt
    statement (routing's check for an earlier routing; the booking round's parts)."""
    return sorted(_FUNDING_OF_DRAWDOWN.filter(drawdown_id), key=lambda row: (not row.lead, row.funder.code))
