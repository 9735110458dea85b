"""The risk app's prebuilt statements: every read and write of the measured origination path
(``bench/origination.py``, docs/benchmarks.md) and of a drawdown's in-loan check
(``bench/profile_drawdown.py``) that risk sends without building a queryset.

The ORM rebuilds and recompiles a statement on every call, which on this path cost more CPU than
PostgreSQL's own work; these are built once per process (``creditfactory.core.rows``, or
hand-written SQL where one statement replaces several queries) and each has a test proving it
reads or writes exactly what the ORM would (``tests/risk/test_fastpath.py``). Nothing else in
risk builds statements by hand: new code uses the ORM unless a benchmark in ``bench/`` shows the
need (docs/development.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from creditfactory.core.dbvalues import db_value
from creditfactory.core.rows import RowReader, RowWriter, default_connection, execute, instance_converters

from .models import (
    Applicant,
    DataSourceCall,
    DataSourceConfig,
    Decision,
    DecisionStatus,
    InLoanCheck,
    LimitStrategy,
    ListKind,
    PricingStrategy,
    RiskListEntry,
    RiskPolicy,
    RuleSet,
    Scorecard,
)

__all__ = ["APPLICANT_BY_ID_NUMBER_LOCKED", "DATA_SOURCE_CALLS", "DECISIONS", "DECISION_RULE_SET_VERSIONS",
           "InLoanInputs", "assessment_input_rows", "in_loan_check_insert", "in_loan_fast", "in_loan_inputs"]

# Every application looks its applicant up by the (unique) blind index of the ID number, locking
# the row: ``Applicant.objects.select_for_update(of=("self",)).filter(id_number_index=…).first()``.
APPLICANT_BY_ID_NUMBER_LOCKED = RowReader(Applicant, by="id_number_index", lock=True)

# Written for every decision: the decision, the rule-set versions it ran on (one multi-row
# INSERT, as ``bulk_create``), and the data-source calls of its features (one multi-row INSERT).
DECISIONS = RowWriter(Decision)
DECISION_RULE_SET_VERSIONS = RowWriter(Decision.rule_set_versions.through)
DATA_SOURCE_CALLS = RowWriter(DataSourceCall)


# --- what a decision needs before it gathers features -------------------------------------------------

@lru_cache(maxsize=1)
def _inputs_sql() -> str:
    """Hand-written because it runs for every decision: the ORM took ~4 ms of CPU to build this
    union each time, the database well under 1 ms to answer it. Plain SQL (PostgreSQL and SQLite),
    joins kept few (planning a 9-table join cost PostgreSQL ~4 ms); names come from the models."""
    connection = default_connection()
    quote = connection.ops.quote_name

    def table(model):
        return quote(model._meta.db_table)

    def column(model, field):
        return quote(model._meta.get_field(field).column)

    product, active = column(RiskPolicy, "product"), column(RiskPolicy, "active")
    version, stamp = column(RuleSet, "current_version"), column(RuleSet, "updated_at")  # same on every working copy
    nulls = ", ".join(["NULL"] * 6)
    parts = [
        f"SELECT %s, '', d.id, NULL, NULL, {nulls} FROM {table(Decision)} d "
        f"WHERE d.{column(Decision, 'application')} = %s AND d.{column(Decision, 'status')} = %s",
        f"SELECT %s, '', p.id, s.{version}, s.{stamp}, c.{version}, c.{stamp}, l.{version}, l.{stamp}, "
        f"r.{version}, r.{stamp} FROM {table(RiskPolicy)} p "
        f"JOIN {table(Scorecard)} s ON s.id = p.{column(RiskPolicy, 'scorecard')} "
        f"LEFT JOIN {table(Scorecard)} c ON c.id = p.{column(RiskPolicy, 'challenger_scorecard')} "
        f"JOIN {table(LimitStrategy)} l ON l.id = p.{column(RiskPolicy, 'limit_strategy')} "
        f"JOIN {table(PricingStrategy)} r ON r.id = p.{column(RiskPolicy, 'pricing_strategy')} "
        f"WHERE p.{product} = %s AND p.{active} = %s",
    ]
    for through in (RiskPolicy.rule_sets.through, RiskPolicy.challenger_rule_sets.through):
        parts.append(
            f"SELECT %s, rs.{column(RuleSet, 'stage')}, NULL, rs.{version}, rs.{stamp}, {nulls} "
            f"FROM {table(through)} t "
            f"JOIN {table(RiskPolicy)} p ON p.id = t.{column(through, 'riskpolicy')} "
            f"JOIN {table(RuleSet)} rs ON rs.id = t.{column(through, 'ruleset')} "
            f"WHERE p.{product} = %s AND p.{active} = %s"
        )
    return " UNION ALL ".join(parts)


def assessment_input_rows(*, application_id: int, product_id: int) -> list[tuple]:
    """One round trip for what ``risk.selectors.assessment_inputs`` interprets. Rows of
    (role, stage, id, then 4 pairs of (version id, working copy's updated_at)):

    * ``decision``: the application's current decision's id;
    * ``policy``: the product's active policy's id; its scorecard, challenger scorecard, limit and
      pricing strategies;
    * ``champion`` / ``challenger``: no id; one rule set of the policy (its stage) in the first pair.
    """
    connection = default_connection()
    params = ["decision", application_id, DecisionStatus.CURRENT.value, "policy", product_id, True,
              "champion", product_id, True, "challenger", product_id, True]
    with connection.cursor() as cursor:
        execute(cursor, _inputs_sql(), params)
        return cursor.fetchall()


# --- the in-loan check of every drawdown ------------------------------------------------------------
#
# ``risk.services.inloan`` sends two statements per check on PostgreSQL: one read of everything the
# check needs before it pulls data, one write of the check with its data-source calls. Elsewhere
# (the embedded SQLite default) it reads and writes through the ORM.

# The applicant's columns the check reads: the data-source query (ID number, name, mobile, birth
# date) and the applicant features. Two Fernet decryptions instead of three (no bank account).
# In the model's order, as ``Model.from_db`` takes a subset of the columns.
IN_LOAN_APPLICANT_FIELDS = tuple(
    field.attname for field in Applicant._meta.concrete_fields
    if field.attname in {"id", "name", "id_number", "mobile", "birth_date", "sex", "monthly_income", "employment",
                         "years_at_employer", "province"})
# What ``own_list_summary`` and ``merge_own_lists`` read of a list entry (the model's order).
OWN_LIST_ENTRY_FIELDS = tuple(field.attname for field in RiskListEntry._meta.concrete_fields
                              if field.attname in {"id", "list_type", "kind", "value_masked", "reason"})


def in_loan_fast() -> bool:
    connection = default_connection()
    return connection.vendor == "postgresql"


@dataclass(frozen=True)
class InLoanInputs:
    existing_id: int | None  # the stored check of (kind, subject reference), if any
    rule_set_refs: list[tuple[int | None, str]]  # (current version id, working copy's updated_at), by code
    configs_stamp: str  # md5 of the sources' configuration rows: changes with any change to them
    applicant: Applicant | None  # IN_LOAN_APPLICANT_FIELDS loaded, the others deferred
    own_list_entries: list[RiskListEntry]  # OWN_LIST_ENTRY_FIELDS loaded
    call_ids: list[int]  # primary keys reserved for the check's data-source calls


def _table(model) -> str:
    connection = default_connection()
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name) -> str:
    connection = default_connection()
    return connection.ops.quote_name(model._meta.get_field(name).column)


@lru_cache(maxsize=1)
def _in_loan_inputs_sql() -> tuple[str, tuple]:
    """Hand-written: one round trip instead of six ORM reads (the stored check, the rule sets, the
    applicant, the source configurations, our own lists, the call ids). PostgreSQL only."""
    connection = default_connection()
    policies = RiskPolicy.rule_sets.through
    rule_set, policy = _column(policies, "ruleset"), _column(policies, "riskpolicy")
    entry = {name: f"e.{_column(RiskListEntry, name)}" for name in (*OWN_LIST_ENTRY_FIELDS, "value_index", "active",
                                                                   "expires_at")}
    applicant_fields = tuple(Applicant._meta.get_field(name) for name in IN_LOAN_APPLICANT_FIELDS)
    sql = (
        "SELECT "
        # The stored check of this subject (none for an empty reference, as the unique constraint).
        f"(SELECT c.id FROM {_table(InLoanCheck)} c WHERE c.{_column(InLoanCheck, 'kind')} = %s "
        f"AND c.{_column(InLoanCheck, 'subject_reference')} = %s "
        f"AND c.{_column(InLoanCheck, 'subject_reference')} <> '' LIMIT 1), "
        # The product's active policy's rule sets of the stage, as ``risk.selectors.in_loan_rule_sets``.
        f"(SELECT json_agg(json_build_array(rs.{_column(RuleSet, 'current_version')}, "
        f"rs.{_column(RuleSet, 'updated_at')}) ORDER BY rs.{_column(RuleSet, 'code')})::text "
        f"FROM {_table(RuleSet)} rs JOIN {_table(policies)} t ON t.{rule_set} = rs.id "
        f"JOIN {_table(RiskPolicy)} p ON p.id = t.{policy} "
        f"WHERE p.{_column(RiskPolicy, 'product')} = %s AND p.{_column(RiskPolicy, 'active')} "
        f"AND rs.{_column(RuleSet, 'stage')} = %s), "
        # Every column of the sources' configurations, hashed: the key of the per-process cache.
        f"(SELECT md5(coalesce(string_agg(to_jsonb(s)::text, ',' ORDER BY s.id), '')) "
        f"FROM {_table(DataSourceConfig)} s WHERE s.{_column(DataSourceConfig, 'source')} = ANY(%s)), "
        # Our own lists, as ``risk.datasources.adapter.own_list_hits`` by the applicant's blind indexes.
        f"(SELECT json_agg(json_build_array({', '.join(entry[name] for name in OWN_LIST_ENTRY_FIELDS)}) "
        f"ORDER BY {entry['list_type']}, {entry['kind']}, {entry['id']})::text "
        f"FROM {_table(RiskListEntry)} e WHERE {entry['active']} "
        f"AND ({entry['expires_at']} IS NULL OR {entry['expires_at']} > %s) "
        f"AND (({entry['kind']} = %s AND {entry['value_index']} = a.{_column(Applicant, 'id_number_index')}) "
        f"OR ({entry['kind']} = %s AND {entry['value_index']} = a.{_column(Applicant, 'mobile_index')}) "
        f"OR ({entry['kind']} = %s AND {entry['value_index']} = %s))), "
        # Keys for the calls, written later together with the check.
        f"ARRAY(SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)), "
        + ", ".join(f"a.{connection.ops.quote_name(field.column)}" for field in applicant_fields)
        + f" FROM (SELECT 1) one LEFT JOIN {_table(Applicant)} a ON a.id = %s"
    )
    converters = []
    for index, field in enumerate(applicant_fields):
        expression = field.get_col("a")
        found = instance_converters(field, expression, connection)
        if found:
            converters.append((index, tuple(found), expression))
    return sql, tuple(converters)


def in_loan_inputs(*, kind: str, subject_reference: str, product_id: int, stage: str, applicant_id: int,
                   sources, device_index: str | None, now, calls: int) -> InLoanInputs:
    """What ``risk.services.inloan`` reads before it pulls data, in one statement (see
    ``InLoanInputs``). ``device_index`` is the blind index of the request's device (None: none)."""
    connection = default_connection()
    sql, converters = _in_loan_inputs_sql()
    params = [kind, subject_reference, product_id, stage, list(sources), now,
              ListKind.ID_NUMBER.value, ListKind.MOBILE.value, ListKind.DEVICE.value, device_index,
              DataSourceCall._meta.db_table, DataSourceCall._meta.pk.column, calls, applicant_id]
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        row = cursor.fetchone()
    existing_id, refs, configs_stamp, entries, call_ids = row[:5]
    values = list(row[5:])
    applicant = None
    if values[0] is not None:
        for index, found, expression in converters:
            value = values[index]
            for converter in found:
                value = converter(value, expression, connection)
            values[index] = value
        applicant = Applicant.from_db(connection.alias, IN_LOAN_APPLICANT_FIELDS, values)
    return InLoanInputs(
        existing_id=existing_id,
        rule_set_refs=[(version_id, stamp) for version_id, stamp in json.loads(refs or "[]")],
        configs_stamp=configs_stamp,
        applicant=applicant,
        own_list_entries=[RiskListEntry.from_db(connection.alias, OWN_LIST_ENTRY_FIELDS, entry)
                          for entry in json.loads(entries or "[]")],
        call_ids=list(call_ids),
    )


@lru_cache(maxsize=8)
def _in_loan_check_insert_sql(calls: int) -> str:
    """The check, unless a check of the same subject is stored (``ON CONFLICT DO NOTHING``), and its
    calls in one statement: the calls are written in any case, linked to the check only when it
    was inserted (a concurrent duplicate leaves them unlinked, as ``_record``'s rollback did)."""
    connection = default_connection()
    quote = connection.ops.quote_name
    check_fields = [field for field in InLoanCheck._meta.concrete_fields if not field.primary_key]
    sql = (f"WITH c AS (INSERT INTO {_table(InLoanCheck)} ({', '.join(quote(f.column) for f in check_fields)}) "
           f"VALUES ({', '.join(['%s'] * len(check_fields))}) ON CONFLICT DO NOTHING RETURNING id)")
    if calls:
        call_fields = list(DataSourceCall._meta.concrete_fields)
        row = "(" + ", ".join("(SELECT id FROM c)" if field.name == "in_loan_check" else "%s"
                              for field in call_fields) + ")"
        sql += (f", d AS (INSERT INTO {_table(DataSourceCall)} ({', '.join(quote(f.column) for f in call_fields)}) "
                f"VALUES {', '.join([row] * calls)})")
    return sql + " SELECT id FROM c"


def _prepared(obj, *, skip) -> list:
    """The values ``Model.save`` would write for a new ``obj`` (``pre_save``, then
    ``get_db_prep_save``), leaving out the fields in ``skip``."""
    connection = default_connection()
    obj._prepare_related_fields_for_save(operation_name="save")
    return [db_value(field, field.pre_save(obj, True), connection)
            for field in obj._meta.concrete_fields if field.name not in skip]


def in_loan_check_insert(check: InLoanCheck, calls: list[DataSourceCall]) -> bool:
    """Write a new ``check`` and its ``calls`` (new, primary keys reserved by ``in_loan_inputs``) in
    one statement. Returns False, with the calls written unlinked, when a check of the same kind
    and subject reference is stored already; else sets the check's primary key and links the
    calls to it."""
    connection = default_connection()
    params = _prepared(check, skip=("id",))
    for call in calls:
        params.extend(_prepared(call, skip=("in_loan_check",)))
    with connection.cursor() as cursor:
        execute(cursor, _in_loan_check_insert_sql(len(calls)), params)
        row = cursor.fetchone()
    for call in calls:
        call._state.adding, call._state.db = False, connection.alias
        call.in_loan_check_id = row[0] if row else None
    if row is None:
        return False
    check.pk = row[0]
    check._state.adding, check._state.db = False, connection.alias
    return True
