"""The risk app's prebuilt statements: every read and write of the measured origination path
(``bench/origination.py``, docs/benchmarks.md) that risk sends without building a queryset.

The ORM rebuilds and recompiles a statement on every call, which on this path cost more CPU than
PostgreSQL's own work; these are built once per process (``creditfactory.core.rows``, or
hand-written SQL where one statement replaces several queries) and each has a test proving it
reads or writes exactly what the ORM would (``tests/risk/test_fastpath.py``). Nothing else in
risk builds statements by hand: new code uses the ORM unless a benchmark in ``bench/`` shows the
need (docs/development.md).
"""

from __future__ import annotations

from functools import lru_cache

from django.db import connection

from creditfactory.core.rows import RowReader, RowWriter

from .models import (
    Applicant,
    DataSourceCall,
    Decision,
    DecisionStatus,
    LimitStrategy,
    PricingStrategy,
    RiskPolicy,
    RuleSet,
    Scorecard,
)

__all__ = ["APPLICANT_BY_ID_NUMBER_LOCKED", "DATA_SOURCE_CALLS", "DECISIONS", "DECISION_RULE_SET_VERSIONS",
           "assessment_input_rows"]

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
    params = ["decision", application_id, DecisionStatus.CURRENT.value, "policy", product_id, True,
              "champion", product_id, True, "challenger", product_id, True]
    with connection.cursor() as cursor:
        cursor.execute(_inputs_sql(), params)
        return cursor.fetchall()
