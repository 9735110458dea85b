"""The servicing app's prebuilt statements: reads of the measured drawdown and repayment paths
(``bench/drawdown.py``, ``bench/repayments.py``, docs/benchmarks.md) that replace ORM queries —
several with one, or one built for every call with one built once.

As ``workflows.fastpath``: each is built once per process, has a test proving it reads what the
ORM would (``tests/servicing/test_fastpath.py``), and new code uses the ORM unless a benchmark
shows the need.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from django.db import IntegrityError, transaction
from django.db.models import signals

from creditfactory.core.models import StateTransition
from creditfactory.core.dbvalues import db_value
from creditfactory.core.rows import RowReader, RowWriter, default_connection, execute
from products.models import LoanProduct
from risk.models import Applicant

from ..models import (
    Account,
    BusinessDate,
    CoLendingPair,
    CoLendingShare,
    CreditLine,
    Disbursement,
    Drawdown,
    DrawdownFunding,
    Funder,
    FunderQuotaDay,
    Installment,
    JournalEntry,
    JournalLine,
    Loan,
    LoanPart,
    PaymentChannel,
    Repayment,
    RoutingRule,
    SandboxBankTransfer,
)

__all__ = ["CHANNEL_BY_CODE", "DISBURSEMENT_OF_DRAWDOWN", "DRAWDOWN_TO_CHECK", "DRAWDOWN_TO_PAY", "FUNDER_ACCOUNTS", "LOAN_PARTS",
           "INSTALLMENTS", "JOURNAL_LINES", "LINE_TO_DRAW", "LOANS", "LOCKED_DISBURSEMENT", "LOCKED_DRAWDOWN",
           "LOCKED_INSTALLMENTS", "LOCKED_LOAN", "REPAYMENTS", "SANDBOX_TRANSFER", "drawdown_insert", "funder_quotas_take",
           "journal_entry_insert", "routing_state", "drawdown_line_hold_update", "line_draw_update", "line_hold_update",
           "business_date_value", "drawdown_funding", "event_move_logged", "fused", "insert_logged",
           "journal_entry_with_lines_insert", "loan_booked_insert", "payment_channel_active", "sandbox_callback_sent",
           "sandbox_transfer_insert"]

# --- a new drawdown ----------------------------------------------------------------------------------

_DRAWDOWNS = RowWriter(Drawdown)


def drawdown_insert(drawdown: Drawdown, *, prefix, log) -> bool:
    """A new drawdown inserted with its number (``prefix(drawdown)`` and its id, ``f"{prefix}{id:08d}"``)
    and the log entry of its first state in one statement: what ``drawdown.save()``, then
    ``drawdown.save(update_fields=["number"])`` with that number, then ``log.save()`` write.
    ``log`` is the unsaved ``core.StateTransition`` (its ``object_id`` becomes the new id; the
    log insert is the rounds' own, ``rounds._log_sql``). False when the prebuilt path cannot be
    taken (nothing written: save with the ORM)."""
    connection = default_connection()
    if signals.pre_save.has_listeners(StateTransition) or signals.post_save.has_listeners(StateTransition):
        return False
    if not _DRAWDOWNS.insert_and(drawdown, then=_log_sql("new"), params=_log_values(log, connection),
                                 numbered=("number", prefix)):
        return False
    log.object_id = str(drawdown.pk)
    return True


# --- reads by key (``creditfactory.core.rows``) ----------------------------------------------------------

# The drawdown the flow's steps move, its row alone locked, with the line, product version, product
# and partner they read (``servicing.locks.drawdown_lock``).
LOCKED_DRAWDOWN = RowReader(Drawdown, related=("credit_line", "product_version__product", "partner"), lock=True)
# The credit line a partner draws on (``POST /api/v1/credit-lines/{id}/drawdowns``), with the product
# version and product its terms are checked against.
LINE_TO_DRAW = RowReader(CreditLine, related=("product_version__product",))
# The drawdown the in-loan check job checks, with its product version (read without a lock).
DRAWDOWN_TO_CHECK = RowReader(Drawdown, related=("product_version",))
# The drawdown the disbursement task pays, with the borrower the payment order names.
DRAWDOWN_TO_PAY = RowReader(Drawdown, related=("applicant",))
# A drawdown's disbursement (one at most) with its channel, and a disbursement by reference, locked
# (``servicing.locks.disbursement_lock``), with its channel (its drawdown is read only by id: the
# confirmation names the drawdown to the flow by ``drawdown_id``).
DISBURSEMENT_OF_DRAWDOWN = RowReader(Disbursement, related=("channel",), by="drawdown")
LOCKED_DISBURSEMENT = RowReader(Disbursement, related=("channel",), by="reference", lock=True)
# The sandbox bank's transfer it calls back for, and the channel a callback names.
SANDBOX_TRANSFER = RowReader(SandboxBankTransfer, related=("channel",), by="reference")
CHANNEL_BY_CODE = RowReader(PaymentChannel, by="code")
# What every repayment reads (``servicing.locks.loan_lock`` / ``loan_installments_lock``, the
# repayment's ``Books``, ``servicing.services.ledger.funder_chart``): the loan, its row alone
# locked, with its product version and product, line and partner; its schedule, locked (in the
# database's order: the loan's lock, taken first, serialises whoever locks it; the caller sorts);
# its funding parts with their funders; a funder's chart of accounts.
LOCKED_LOAN = RowReader(Loan, related=("product_version__product", "credit_line", "partner"), lock=True)
LOCKED_INSTALLMENTS = RowReader(Installment, by="loan", lock=True)
LOAN_PARTS = RowReader(LoanPart, related=("funder",), by="loan")
FUNDER_ACCOUNTS = RowReader(Account, by="funder")
# And what it writes, each statement built once (``Model.save`` semantics, the ORM where it must):
# the repayment (inserted, then saved posted), the journal entries (``journal_entry_insert``) and
# their lines, the installment it paid, the loan's next due date and status.
REPAYMENTS = RowWriter(Repayment)
JOURNAL_LINES = RowWriter(JournalLine)
INSTALLMENTS = RowWriter(Installment)
LOANS = RowWriter(Loan)
# The drawdown's routing explanation, saved by ``funding_route`` (``save(update_fields=…)``).
DRAWDOWNS = RowWriter(Drawdown)


@lru_cache(maxsize=None)
def _journal_entry_insert_sql(vendor: str) -> tuple[str, tuple]:
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = JournalEntry._meta
    fields = tuple(field for field in meta.local_concrete_fields if field is not meta.auto_field)
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) "
           f"ON CONFLICT ({quote(meta.get_field('reference').column)}) DO NOTHING "
           f"RETURNING {quote(meta.pk.column)}")
    return sql, fields


def journal_entry_insert(entry: JournalEntry) -> bool:
    """``entry.save()`` of a new entry unless an entry with its reference exists: True (``entry``
    saved, its id set) or False (a replay; or a concurrent posting of the reference, waited for
    until it committed). PostgreSQL: one ``INSERT … ON CONFLICT (reference) DO NOTHING RETURNING
    id``, with no savepoint around it; elsewhere ``save`` in a savepoint, the unique reference
    deciding."""
    connection = default_connection()
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            return False
        return True
    sql, fields = _journal_entry_insert_sql(connection.vendor)
    entry._prepare_related_fields_for_save(operation_name="save")
    values = [db_value(field, field.pre_save(entry, True), connection) for field in fields]
    with connection.cursor() as cursor:
        execute(cursor, sql, values)
        row = cursor.fetchone()
    if row is None:
        return False
    entry.pk = row[0]
    entry._state.adding, entry._state.db = False, connection.alias
    return True


def _rows_text(model, *, alias: str, exclude: tuple[str, ...] = ()) -> str:
    """Every row of ``model``'s table as JSON text, in id order (``exclude``: volatile columns)."""
    connection = default_connection()
    quote = connection.ops.quote_name
    row = f"to_jsonb({alias})" + "".join(f" - '{column}'" for column in exclude)
    return (f"(SELECT string_agg(({row})::text, ',' ORDER BY {alias}.{quote(model._meta.pk.column)}) "
            f"FROM {quote(model._meta.db_table)} {alias})")


@lru_cache(maxsize=None)
def _routing_state_sql(vendor: str, *, of_business_date: bool = False) -> str:
    """``of_business_date``: the day is the business date's row (selected as a fifth column; no
    row at all when it is not set yet), not a parameter."""
    connection = default_connection()
    quote = connection.ops.quote_name
    funder, quota = Funder._meta, FunderQuotaDay._meta
    parts = [
        _rows_text(RoutingRule, alias="r"),
        _rows_text(RoutingRule.products.through, alias="rp"),
        _rows_text(CoLendingPair, alias="p"),
        _rows_text(CoLendingShare, alias="s"),
        _rows_text(Funder, alias="f2", exclude=(funder.get_field("total_used").column,)),
        _rows_text(Funder.products.through, alias="fp"),
        f"(SELECT string_agg(l.id || ':' || l.{quote('code')}, ',' ORDER BY l.id) "
        f"FROM {quote(LoanProduct._meta.db_table)} l)",
    ]
    fingerprint = "md5(concat_ws('|', " + ", ".join(parts) + "))"
    day, head, tail = "%s", "", ""
    if of_business_date:
        meta = BusinessDate._meta
        applicant, funding = Applicant._meta, DrawdownFunding._meta
        head = (f"WITH bd AS (SELECT {quote(meta.get_field('date').column)} AS day FROM {quote(meta.db_table)} "
                f"WHERE {quote(meta.pk.column)} = 1) ")
        day = "bd.day"
        tail = (f", bd.day, (SELECT a.{quote(applicant.get_field('province').column)} "
                f"FROM {quote(applicant.db_table)} a WHERE a.{quote(applicant.pk.column)} = %s), "
                f"EXISTS (SELECT 1 FROM {quote(funding.db_table)} df "
                f"WHERE df.{quote(funding.get_field('drawdown').column)} = %s)")
    return (
        f"{head}SELECT f.{quote(funder.pk.column)}, f.{quote(funder.get_field('total_used').column)}, "
        f"q.{quote(quota.get_field('used').column)}, {fingerprint}{tail} "
        f"FROM {'bd CROSS JOIN ' if of_business_date else ''}{quote(funder.db_table)} f "
        f"LEFT JOIN {quote(quota.db_table)} q "
        f"ON q.{quote(quota.get_field('funder').column)} = f.{quote(funder.pk.column)} "
        f"AND q.{quote(quota.get_field('business_date').column)} = {day}"
    )


def routing_state(*, day) -> tuple[str | None, dict[int, Decimal], dict[int, Decimal]]:
    """What routing reads afresh on every drawdown, in one statement: a fingerprint of the routing
    configuration (every routing rule, its products, co-lending pair and share, funder but for its
    ``total_used``, funder product, and the products' codes — it changes whenever any of them
    does), each funder's ``total_used`` and its quota used on ``day``. The fingerprint is None
    when there is no funder."""
    connection = default_connection()
    if connection.vendor != "postgresql":  # the embedded SQLite default: no fingerprint, no cache
        total_used = dict(Funder.objects.values_list("pk", "total_used"))
        day_used = dict(FunderQuotaDay.objects.filter(business_date=day).values_list("funder_id", "used"))
        return None, total_used, day_used
    with connection.cursor() as cursor:
        execute(cursor, _routing_state_sql(connection.vendor), [day])
        rows = cursor.fetchall()
    fingerprint = rows[0][3] if rows else None
    total_used = {row[0]: row[1] for row in rows}
    day_used = {row[0]: row[2] for row in rows if row[2] is not None}
    return fingerprint, total_used, day_used


def routing_state_of_business_date(*, applicant_id: int, drawdown_id: int):
    """What routing a drawdown reads, in one statement: (the business date, the borrower's
    province, ``routing_state`` on that date — fingerprint, total used, day used — and whether
    the drawdown has funding rows, an earlier routing's) — or None when the statement cannot
    tell the day (no funder, or the business date not set yet: the caller reads it with
    ``business_date()`` and asks ``routing_state``)."""
    connection = default_connection()
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        execute(cursor, _routing_state_sql(connection.vendor, of_business_date=True), [applicant_id, drawdown_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    return (rows[0][4], rows[0][5], (rows[0][3], {row[0]: row[1] for row in rows},
                                     {row[0]: row[2] for row in rows if row[2] is not None}), rows[0][6])


# --- a funder's quotas taken in one statement ------------------------------------------------------------


@lru_cache(maxsize=None)
def _quota_take_sql(vendor: str) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    funder, day = Funder._meta, FunderQuotaDay._meta
    f_table, d_table = quote(funder.db_table), quote(day.db_table)
    total_used, total_quota = quote(funder.get_field("total_used").column), quote(funder.get_field("total_quota").column)
    daily_quota, active = quote(funder.get_field("daily_quota").column), quote(funder.get_field("active").column)
    d_funder, d_date = quote(day.get_field("funder").column), quote(day.get_field("business_date").column)
    used = quote(day.get_field("used").column)
    return (
        f"WITH f AS (UPDATE {f_table} SET {total_used} = {total_used} + %(amount)s "
        f"WHERE {quote(funder.pk.column)} = %(funder)s AND {active} "
        f"AND ({total_quota} IS NULL OR {total_used} <= {total_quota} - %(amount)s) RETURNING {daily_quota}), "
        f"d AS (INSERT INTO {d_table} AS q ({d_funder}, {d_date}, {used}) "
        f"SELECT %(funder)s, %(day)s, %(amount)s FROM f WHERE f.{daily_quota} IS NULL OR %(amount)s <= f.{daily_quota} "
        f"ON CONFLICT ({d_funder}, {d_date}) DO UPDATE SET {used} = q.{used} + EXCLUDED.{used} "
        f"WHERE (SELECT f.{daily_quota} FROM f) IS NULL OR q.{used} <= (SELECT f.{daily_quota} FROM f) - EXCLUDED.{used} "
        f"RETURNING 1) "
        "SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM d)"
    )


def funder_quotas_take(*, funder_id: int, day, amount: Decimal) -> tuple[bool, bool]:
    """The two conditional writes of ``servicing.locks.funder_quota_take`` in one statement:
    ``total_used += amount WHERE active AND (total_quota IS NULL OR total_used <= total_quota −
    amount)`` on the funder (its row locked, its ``daily_quota`` returned), then — only if that
    took — the day's row inserted with ``used = amount`` or, when it exists, ``used += amount``,
    both only while ``daily_quota IS NULL OR used + amount <= daily_quota``. Returns (total taken,
    day taken); (True, False) leaves the total taken: the caller gives it back."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _quota_take_sql(connection.vendor), {"funder": funder_id, "day": day, "amount": amount})
        total, daily = cursor.fetchone()
    return bool(total), bool(daily)


# --- the credit line's reservation (``servicing.locks``): conditional UPDATEs built once ---------------


@lru_cache(maxsize=None)
def _line_claim_sql(kind: str, vendor: str) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    line, drawdown = CreditLine._meta, Drawdown._meta
    table = quote(line.db_table)
    held, used, limit = (quote(line.get_field(name).column) for name in ("held", "used", "limit"))
    pk = quote(line.pk.column)
    if kind == "draw":
        return (f"UPDATE {table} SET {held} = {table}.{held} - %s, {used} = {table}.{used} + %s "
                f"WHERE {table}.{held} >= %s AND {table}.{pk} = %s")
    sql = (f"UPDATE {table} SET {held} = {table}.{held} + %s WHERE {table}.{pk} = %s "
           f"AND {table}.{quote(line.get_field('status').column)} = %s "
           f"AND {table}.{used} <= (({table}.{limit} - {table}.{held}) - %s)")
    if kind == "hold_unless_reference":
        sql += (f" AND NOT EXISTS (SELECT 1 FROM {quote(drawdown.db_table)} d "
                f"WHERE d.{quote(drawdown.get_field('partner').column)} = %s "
                f"AND d.{quote(drawdown.get_field('external_reference').column)} = %s)")
    return sql


def line_hold_update(*, line_id: int, amount: Decimal, active: str, unless_reference=None) -> bool:
    """``servicing.locks.line_hold``'s conditional UPDATE (``held += amount WHERE id AND status =
    active AND used <= limit − held − amount`` [AND no drawdown of that partner has that reference]),
    built once: True when it held."""
    connection = default_connection()
    kind = "hold" if unless_reference is None else "hold_unless_reference"
    params = [amount, line_id, str(active), amount, *(unless_reference or ())]
    with connection.cursor() as cursor:
        execute(cursor, _line_claim_sql(kind, connection.vendor), params)
        return cursor.rowcount > 0


def line_draw_update(*, line_id: int, amount: Decimal) -> bool:
    """``servicing.locks.line_draw``'s conditional UPDATE (``held −= amount, used += amount WHERE
    held >= amount``), built once: True when it posted."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _line_claim_sql("draw", connection.vendor), [amount, amount, amount, line_id])
        return cursor.rowcount > 0


@lru_cache(maxsize=None)
def _hold_settle_sql(vendor: str) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = Drawdown._meta
    table, column = quote(meta.db_table), quote(meta.get_field("line_hold").column)
    return f"UPDATE {table} SET {column} = %s WHERE {table}.{column} = %s AND {table}.{quote(meta.pk.column)} = %s"


def drawdown_line_hold_update(*, drawdown_id: int, from_status: str, to_status: str) -> bool:
    """``servicing.locks.drawdown_line_hold_settle``'s ``UPDATE … SET line_hold = to WHERE line_hold
    = from``, built once: True for the one caller that moved it."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _hold_settle_sql(connection.vendor), [str(to_status), str(from_status), drawdown_id])
        return cursor.rowcount > 0


# The worker rounds' fused writes (``servicing.fastpath.rounds``), at the end: they use the journal
# entry statement above.
from .rounds import (  # noqa: E402
    business_date_value,
    drawdown_funding,
    event_move_logged,
    fused,
    insert_logged,
    journal_entry_with_lines_insert,
    loan_booked_insert,
    payment_channel_active,
    sandbox_callback_sent,
    sandbox_transfer_insert,
)
from .rounds import _log_sql, _log_values  # noqa: E402  (the state log's insert, shared with drawdown_insert)
