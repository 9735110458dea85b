"""The daily close's set-based statements (hand-written SQL lives only in fastpath modules).

``close_chunk_sql`` is one statement over a range of loan ids: it computes every installment's
interest and penalty delta and its new status, updates the installments, the loans (balances,
watermarks, DPD, status, next due date) and the funder parts (split by share with a window
function: the non-lead parts round their share half up, the lead takes the rest), and returns
what the general ledger needs (totals per funder × product) and what must be logged. The loans
it touches are those of the range with a watermark before the date, locked beforehand by the
caller (``servicing.locks.loans_lock_range``), so the statement's snapshot sees every repayment
that committed before the lock and none can commit during it.

Arithmetic is relative (``x = x + delta``), each delta is computed once and guarded by the
watermarks ``accrued_through`` / ``penalty_through`` / ``closed_through``: a re-run of the date
finds no loan with a watermark before it and writes nothing. The formulas are docs/servicing.md
§ "The daily close" (issue 16 §1); ``ROUND(x, 2)`` on a positive numeric is ROUND_HALF_UP.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

__all__ = ["ChunkResult", "chunk_bounds_sql", "chunk_session_sql", "close_chunk_sql", "fees_falling_due_sql", "installments_due_sql",
           "monitoring_features_sql", "monitoring_loans_sql", "warnings_insert_sql"]

# The loans of the range that still have work for date D (any watermark before D).
_PENDING = """
    l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue') AND l.value_date <= %(d)s
    AND (l.closed_through IS NULL OR l.closed_through < %(d)s OR l.accrued_through IS NULL
         OR l.accrued_through < %(d)s OR l.penalty_through IS NULL OR l.penalty_through < %(d)s)
"""

CLOSE_CHUNK = f"""
WITH lo AS (
    SELECT l.id, l.status, l.principal_outstanding, l.repayment_method, l.value_date, l.maturity_date,
           l.next_due_date, v.product_id, v.grace_days, v.penalty_compound,
           CASE WHEN l.day_count = 'ACT/365' THEN 365 ELSE 360 END AS basis,
           CASE WHEN l.rate_basis = 'daily' THEN 100
                ELSE 100 * CASE WHEN l.day_count = 'ACT/365' THEN 365 ELSE 360 END END AS rate_divisor,
           l.rate_percent,
           COALESCE(l.penalty_rate_percent, 0) AS penalty_rate,
           (l.accrued_through IS NULL OR l.accrued_through < %(d)s) AS do_int,
           COALESCE(l.accrued_through, l.value_date - 1) AS int_from,
           (l.penalty_through IS NULL OR l.penalty_through < %(d)s) AS do_pen,
           GREATEST(COALESCE(l.penalty_through, %(d)s - 1), l.value_date - 1) AS pen_from,
           (l.closed_through IS NULL OR l.closed_through < %(d)s) AS do_close
    FROM servicing_loan l JOIN products_productversion v ON v.id = l.product_version_id
    WHERE {_PENDING}
),
-- interest: installment methods land on the scheduled interest (cumulative target); revolving
-- adds a day's interest on the principal outstanding at this close for each day not yet accrued
acc AS (
    SELECT i.id, i.loan_id, i.number, i.due_date, i.status, i.principal, i.principal_paid, i.interest_paid,
           i.fee, i.fee_paid, i.penalty_accrued, i.penalty_paid, i.interest_accrued,
           lo.grace_days, lo.penalty_compound, lo.basis, lo.penalty_rate, lo.do_pen, lo.pen_from,
           CASE
             WHEN NOT lo.do_int THEN 0
             WHEN lo.repayment_method = 'revolving' THEN
               CASE WHEN i.due_date = lo.maturity_date
                    THEN (%(d)s - lo.int_from) * ROUND(lo.principal_outstanding * lo.rate_percent / lo.rate_divisor, 2) ELSE 0 END
             WHEN i.period_start <= %(d)s AND i.due_date > lo.int_from AND i.due_date > i.period_start THEN
               GREATEST(ROUND(i.interest * LEAST(%(d)s - i.period_start + 1, i.due_date - i.period_start)
                              / (i.due_date - i.period_start), 2) - i.interest_accrued, 0)
             ELSE 0
           END AS d_int
    FROM servicing_installment i JOIN lo ON lo.id = i.loan_id
    WHERE i.loan_id BETWEEN %(lo)s AND %(hi)s
      AND ((i.due_date > lo.int_from AND i.period_start <= %(d)s)
           OR (i.due_date <= %(d)s AND i.status <> 'paid')
           OR (lo.repayment_method = 'revolving' AND i.due_date = lo.maturity_date))
),
unpaid AS (
    SELECT acc.*,
           (acc.due_date <= %(d)s AND (acc.principal_paid < acc.principal
              OR acc.interest_paid < acc.interest_accrued + acc.d_int OR acc.fee_paid < acc.fee
              OR acc.penalty_paid < acc.penalty_accrued)) AS late
    FROM acc
),
-- penalty: f(X) = days counted through the close of X: 0 within grace, else X − due + 1
calc AS (
    SELECT u.*,
           CASE WHEN u.late AND u.do_pen THEN
             ((CASE WHEN %(d)s - u.due_date < u.grace_days THEN 0 ELSE %(d)s - u.due_date + 1 END)
              - (CASE WHEN GREATEST(u.pen_from, u.due_date - 1) - u.due_date < u.grace_days THEN 0
                      ELSE GREATEST(u.pen_from, u.due_date - 1) - u.due_date + 1 END))
             * (ROUND((u.principal - u.principal_paid) * u.penalty_rate / (100 * u.basis), 2)
                + CASE WHEN u.penalty_compound
                       THEN ROUND(GREATEST(u.interest_accrued + u.d_int - u.interest_paid, 0) * u.penalty_rate
                                  / (100 * u.basis), 2)
                       ELSE 0 END)
           ELSE 0 END AS d_pen,
           CASE WHEN u.late THEN 'overdue' ELSE u.status END AS new_status
    FROM unpaid u
),
ins AS (
    UPDATE servicing_installment i
    SET interest_accrued = i.interest_accrued + c.d_int, penalty_accrued = i.penalty_accrued + c.d_pen,
        status = c.new_status
    FROM calc c
    WHERE i.id = c.id AND (c.d_int <> 0 OR c.d_pen <> 0 OR c.new_status <> c.status)
    RETURNING i.id, i.loan_id, c.d_int, c.d_pen, (c.new_status = 'overdue' AND c.status <> 'overdue') AS newly
),
per_loan AS (
    SELECT ins.loan_id, SUM(ins.d_int) AS d_int, SUM(ins.d_pen) AS d_pen FROM ins GROUP BY ins.loan_id
),
dpd AS (SELECT c.loan_id, MIN(c.due_date) AS earliest FROM calc c WHERE c.late GROUP BY c.loan_id),
upd AS (
    UPDATE servicing_loan l
    SET interest_receivable = l.interest_receivable + COALESCE(p.d_int, 0),
        penalty_receivable = l.penalty_receivable + COALESCE(p.d_pen, 0),
        accrued_through = CASE WHEN lo.do_int THEN %(d)s ELSE l.accrued_through END,
        penalty_through = CASE WHEN lo.do_pen THEN %(d)s ELSE l.penalty_through END,
        closed_through = CASE WHEN lo.do_close THEN %(d)s ELSE l.closed_through END,
        days_past_due = CASE WHEN lo.do_close THEN COALESCE(%(d)s + 1 - dpd.earliest, 0) ELSE l.days_past_due END,
        status = CASE WHEN NOT lo.do_close THEN l.status WHEN dpd.earliest IS NULL THEN 'active'
                      ELSE 'overdue' END,
        next_due_date = CASE WHEN lo.do_close AND l.next_due_date <= %(d)s
                             THEN (SELECT MIN(n.due_date) FROM servicing_installment n
                                   WHERE n.loan_id = l.id AND n.due_date > %(d)s)
                             ELSE l.next_due_date END
    FROM lo LEFT JOIN per_loan p ON p.loan_id = lo.id LEFT JOIN dpd ON dpd.loan_id = lo.id
    WHERE l.id = lo.id
    RETURNING l.id, lo.status AS old_status, l.status AS new_status
),
shares AS (
    SELECT pt.id, pt.funder_id, lo.product_id, pt.lead, p.d_int, p.d_pen,
           ROUND(p.d_int * pt.share_percent / 100, 2) AS i_share,
           ROUND(p.d_pen * pt.share_percent / 100, 2) AS p_share,
           SUM(CASE WHEN pt.lead THEN 0 ELSE ROUND(p.d_int * pt.share_percent / 100, 2) END)
               OVER (PARTITION BY pt.loan_id) AS i_others,
           SUM(CASE WHEN pt.lead THEN 0 ELSE ROUND(p.d_pen * pt.share_percent / 100, 2) END)
               OVER (PARTITION BY pt.loan_id) AS p_others
    FROM servicing_loanpart pt JOIN per_loan p ON p.loan_id = pt.loan_id JOIN lo ON lo.id = pt.loan_id
    WHERE pt.loan_id BETWEEN %(lo)s AND %(hi)s
),
split AS (
    SELECT s.id, s.funder_id, s.product_id,
           CASE WHEN s.lead THEN s.d_int - s.i_others ELSE s.i_share END AS i_part,
           CASE WHEN s.lead THEN s.d_pen - s.p_others ELSE s.p_share END AS p_part
    FROM shares s
),
parts AS (
    UPDATE servicing_loanpart pt
    SET interest_receivable = pt.interest_receivable + x.i_part,
        penalty_receivable = pt.penalty_receivable + x.p_part
    FROM split x
    WHERE pt.id = x.id AND (x.i_part <> 0 OR x.p_part <> 0)
    RETURNING x.funder_id, x.product_id, x.i_part, x.p_part
)
SELECT
    (SELECT json_agg(json_build_array(t.funder_id, t.product_id, t.i::text, t.p::text))
       FROM (SELECT funder_id, product_id, SUM(i_part) AS i, SUM(p_part) AS p FROM parts
             GROUP BY funder_id, product_id) t),
    (SELECT json_agg(json_build_array(id, old_status, new_status)) FROM upd WHERE old_status <> new_status),
    (SELECT json_agg(json_build_array(id, loan_id)) FROM ins WHERE newly),
    (SELECT COUNT(*) FROM upd),
    (SELECT COUNT(*) FROM ins),
    (SELECT COUNT(*) FROM ins WHERE d_int <> 0),
    (SELECT COUNT(*) FROM ins WHERE d_pen <> 0),
    (SELECT COUNT(*) FROM parts)
"""


def chunk_session_sql() -> None:
    """For the rest of the chunk's transaction: no JIT compilation. The close's statements are
    planned with costs that cross ``jit_above_cost`` on a large book, and compiling them takes
    longer (0.1–0.2 s a statement, measured on 5,000-loan chunks) than they save."""
    if connection.vendor != "postgresql":  # SQLite (``make run``) compiles nothing
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


@dataclass
class ChunkResult:
    """What one statement of the close did to a range of loans."""

    totals: list[tuple[int, int, Decimal, Decimal]] = field(default_factory=list)  # funder, product, int., pen.
    status_changes: list[tuple[int, str, str]] = field(default_factory=list)  # loan, from, to
    newly_overdue: list[tuple[int, int]] = field(default_factory=list)  # installment, loan
    loans: int = 0
    installments: int = 0
    interest_installments: int = 0
    penalty_installments: int = 0
    parts: int = 0

    @property
    def rows_written(self) -> int:
        return self.loans + self.installments + self.parts


def close_chunk_sql(*, business_date: datetime.date, lo: int, hi: int) -> ChunkResult:
    """Run the close of ``business_date`` over loan ids ``lo``…``hi`` (the caller's transaction;
    the loans locked by it first)."""
    with connection.cursor() as cursor:
        cursor.execute(CLOSE_CHUNK, {"d": business_date, "lo": lo, "hi": hi})
        totals, changes, overdue, loans, installments, n_int, n_pen, parts = cursor.fetchone()
    return ChunkResult(
        totals=[(f, p, Decimal(i), Decimal(pen)) for f, p, i, pen in totals or []],
        status_changes=[tuple(row) for row in changes or []], newly_overdue=[tuple(row) for row in overdue or []],
        loans=loans, installments=installments, interest_installments=n_int, penalty_installments=n_pen, parts=parts)


INSTALLMENTS_DUE = """
UPDATE servicing_installment i SET status = 'due'
FROM servicing_loan l
WHERE l.id = i.loan_id AND i.loan_id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue')
  AND i.due_date = %(d)s AND i.status = 'pending'
"""


def installments_due_sql(*, business_date: datetime.date, lo: int, hi: int) -> int:
    """Start of day ``business_date``: the installments falling due on it move pending → due."""
    with connection.cursor() as cursor:
        cursor.execute(INSTALLMENTS_DUE, {"d": business_date, "lo": lo, "hi": hi})
        return cursor.rowcount


FEES_FALLING_DUE = """
SELECT i.id, i.loan_id, i.number, i.fee - i.fee_paid
FROM servicing_installment i JOIN servicing_loan l ON l.id = i.loan_id
WHERE i.loan_id BETWEEN %(lo)s AND %(hi)s AND l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue')
  AND i.fee > i.fee_paid
  AND i.due_date <= %(d)s AND i.status <> 'paid'
  AND NOT EXISTS (SELECT 1 FROM servicing_journalentry e WHERE e.loan_id = l.id AND e.kind = 'fee'
                  AND e.reference LIKE l.number || '/fee/' || i.number || '/%%')
ORDER BY i.loan_id, i.number
"""


def fees_falling_due_sql(*, business_date: datetime.date, lo: int, hi: int) -> list[tuple[int, int, int, Decimal]]:
    """(installment, loan, number, fee) of installments due on or before ``business_date`` whose
    fee has not been posted as receivable yet (``<loan>/fee/<installment>/<funder>``)."""
    with connection.cursor() as cursor:
        cursor.execute(FEES_FALLING_DUE, {"d": business_date, "lo": lo, "hi": hi})
        return cursor.fetchall()


CHUNK_BOUNDS = """
SELECT id FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM servicing_loan WHERE status IN ('active', 'overdue')
) t WHERE (n - 1) %% %(size)s = 0 ORDER BY id
"""


def chunk_bounds_sql(*, size: int) -> list[tuple[int, int]]:
    """Loan id ranges of about ``size`` open loans each, covering every open loan: [(lo, hi), …]."""
    with connection.cursor() as cursor:
        cursor.execute(CHUNK_BOUNDS, {"size": size})
        starts = [row[0] for row in cursor.fetchall()]
        if not starts:
            return []
        cursor.execute("SELECT MAX(id) FROM servicing_loan")
        last = cursor.fetchone()[0]
    return [(start, (starts[k + 1] - 1) if k + 1 < len(starts) else last) for k, start in enumerate(starts)]


# Post-loan monitoring (start of day): the features the close computes from its books, per loan of
# the range whose product has a post-loan rule set — the borrower's worst DPD over their open
# loans and the loans they repaid — grouped into distinct (product, features) tuples, so the rule
# set is evaluated once per tuple, not once per loan.
_MONITORED = """
WITH c AS (
    SELECT l.id, l.number, l.credit_line_id, l.applicant_id, v.product_id
    FROM servicing_loan l JOIN products_productversion v ON v.id = l.product_version_id
    WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue') AND v.product_id = ANY(%(products)s)
),
b AS (
    SELECT o.applicant_id,
           COALESCE(MAX(o.days_past_due) FILTER (WHERE o.status IN ('active', 'overdue')), 0) AS max_dpd,
           COUNT(*) FILTER (WHERE o.status = 'closed') AS repaid
    FROM servicing_loan o WHERE o.applicant_id IN (SELECT applicant_id FROM c) GROUP BY o.applicant_id
)
"""

MONITORING_FEATURES = _MONITORED + """
SELECT c.product_id, b.max_dpd, b.repaid, COUNT(*) FROM c JOIN b ON b.applicant_id = c.applicant_id
GROUP BY c.product_id, b.max_dpd, b.repaid
"""

# The open-warning test runs on the few loans that hit only, one index probe each (a scalar
# subquery is never turned into a join: with the statistics of an empty warning table, taken
# before the night's inserts, the planner otherwise scans every open warning once per loan).
MONITORING_LOANS = _MONITORED + """,
hit AS MATERIALIZED (
    SELECT c.id, c.number, c.credit_line_id, c.product_id, b.max_dpd, b.repaid
    FROM c JOIN b ON b.applicant_id = c.applicant_id
    WHERE (c.product_id, b.max_dpd, b.repaid) IN (
              SELECT * FROM unnest(%(t_product)s::bigint[], %(t_dpd)s::integer[], %(t_repaid)s::bigint[]))
)
SELECT DISTINCT ON (h.credit_line_id) h.id, h.number, h.credit_line_id, h.product_id, h.max_dpd, h.repaid
FROM hit h
WHERE (SELECT 1 FROM servicing_linewarning w WHERE w.credit_line_id = h.credit_line_id AND w.source = 'post_loan'
       AND w.status IN ('open', 'confirmed') LIMIT 1) IS NULL
ORDER BY h.credit_line_id, h.id
"""

# One open post-loan warning per line (the partial unique index): a line another chunk raised one
# for meanwhile is skipped, not an error.
WARNINGS_INSERT = """
INSERT INTO servicing_linewarning (created_at, updated_at, credit_line_id, loan_id, source, action, rules,
                                   check_reference, status, business_date, note)
SELECT now(), now(), w.line, w.loan, 'post_loan', w.action, w.rules::jsonb, w.reference, 'open', %(d)s, ''
FROM unnest(%(lines)s::bigint[], %(loans)s::bigint[], %(actions)s::text[], %(rules)s::text[],
            %(references)s::text[]) AS w(line, loan, action, rules, reference)
ON CONFLICT DO NOTHING
RETURNING id, loan_id, action, rules
"""


def monitoring_features_sql(*, lo: int, hi: int, products: list[int]) -> list[tuple[int, int, int, int]]:
    """(product, worst DPD of the borrower's open loans, loans repaid, loans) per distinct tuple."""
    with connection.cursor() as cursor:
        cursor.execute(MONITORING_FEATURES, {"lo": lo, "hi": hi, "products": products})
        return cursor.fetchall()


def monitoring_loans_sql(*, lo: int, hi: int, products: list[int],
                         tuples: list[tuple[int, int, int]]) -> list[tuple[int, str, int, int, int, int]]:
    """(loan, number, line, product, worst DPD, repaid) of the range's loans whose features are one
    of ``tuples``, the first of each line, for the lines with no open or confirmed post-loan warning."""
    with connection.cursor() as cursor:
        cursor.execute(MONITORING_LOANS, {"lo": lo, "hi": hi, "products": products,
                                          "t_product": [t[0] for t in tuples], "t_dpd": [t[1] for t in tuples],
                                          "t_repaid": [t[2] for t in tuples]})
        return cursor.fetchall()


def warnings_insert_sql(*, business_date: datetime.date, rows: list[tuple[int, int, str, str, str]]) -> list[tuple]:
    """Insert post-loan warnings ``(line, loan, action, rules JSON, reference)``, skipping a line
    that has an open one; returns (id, loan, action, rules) of those inserted."""
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.execute(WARNINGS_INSERT, {"d": business_date, "lines": [r[0] for r in rows],
                                         "loans": [r[1] for r in rows], "actions": [r[2] for r in rows],
                                         "rules": [r[3] for r in rows], "references": [r[4] for r in rows]})
        return cursor.fetchall()
