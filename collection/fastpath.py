"""Hand-written SQL of the collections app: the close's set-based statements (a chunk of loans in
a few statements, never a loop over loans — the close budget is 120 s for a million loans,
docs/benchmarks.md *Collections phase of the close*). Each is written to change only rows that
differ, so a re-run of a date writes nothing. Called by ``collection.services.close``."""

from __future__ import annotations

from django.db import connection

from creditfactory.core.rows import execute

__all__ = ["ADVANCE_SQL", "CLASSIFY_SQL", "CLOSE_SQL", "OPEN_SQL", "PROMISES_SQL", "close_from_sql",
           "commission_rates_sql", "run"]

_BUCKET = """(SELECT b.code FROM collections_bucket b WHERE b.min_dpd <= {dpd}
              AND (b.max_dpd IS NULL OR {dpd} <= b.max_dpd) ORDER BY b.min_dpd DESC LIMIT 1)"""

PROMISES_SQL = """
WITH owed AS (
    SELECT p.id, p.amount,
           COALESCE((SELECT SUM(r.amount - r.credit_balance) FROM servicing_repayment r
                     WHERE r.loan_id = c.loan_id AND r.status = 'posted'
                       AND r.value_date BETWEEN p.made_on AND p.due_on), 0) AS paid
    FROM collections_promise p JOIN collections_collectioncase c ON c.id = p.case_id
    WHERE p.status = 'pending' AND p.due_on < %(day)s AND c.loan_id BETWEEN %(lo)s AND %(hi)s
)
UPDATE collections_promise p
SET status = CASE WHEN owed.paid >= owed.amount THEN 'kept' ELSE 'broken' END, paid = owed.paid,
    updated_at = now()
FROM owed WHERE p.id = owed.id AND p.status = 'pending'
RETURNING p.id, p.case_id, p.status
"""

CLOSE_SQL = """
WITH closing AS (
    SELECT c.id, c.loan_id, c.bucket, l.partner_id,
           CASE l.status WHEN 'closed' THEN 'paid_off' WHEN 'written_off' THEN 'written_off' ELSE 'cured' END
             AS reason
    FROM collections_collectioncase c JOIN servicing_loan l ON l.id = c.loan_id
    WHERE c.status = 'open' AND c.loan_id BETWEEN %(close_lo)s AND %(hi)s
      AND (l.status IN ('closed', 'written_off') OR (l.status = 'active' AND l.days_past_due = 0))
)
UPDATE collections_collectioncase c
SET status = 'closed', closed_on = %(day)s, close_reason = closing.reason, updated_at = now()
FROM closing WHERE c.id = closing.id AND c.status = 'open'
RETURNING c.id, c.loan_id, c.bucket, closing.reason, closing.partner_id, c.agency_id
"""

OPEN_SQL = """
WITH candidates AS (
    SELECT l.id AS loan_id, l.days_past_due AS dpd, """ + _BUCKET.format(dpd="l.days_past_due") + """ AS bucket,
           COALESCE(own.current_version_id, dflt.current_version_id) AS version_id
    FROM servicing_loan l
    JOIN products_productversion v ON v.id = l.product_version_id
    LEFT JOIN collections_collectionstrategy own ON own.product_id = v.product_id
    LEFT JOIN collections_collectionstrategy dflt ON dflt.product_id IS NULL
    WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status = 'overdue' AND l.days_past_due >= 1
      AND l.closed_through = %(yesterday)s
      AND NOT EXISTS (SELECT 1 FROM collections_collectioncase c WHERE c.loan_id = l.id AND c.status = 'open')
)
INSERT INTO collections_collectioncase (created_at, updated_at, loan_id, status, bucket, step, step_since,
                                        strategy_version_id, opened_on, dpd_at_open, close_reason,
                                        work_group_id, agency_id)
SELECT now(), now(), k.loan_id, 'open', COALESCE(k.bucket, ''), COALESCE(s.seq, 0), %(day)s, k.version_id,
       %(day)s, k.dpd, '', s.work_group_id, s.agency_id
FROM candidates k
LEFT JOIN LATERAL (SELECT seq, work_group_id, agency_id FROM collections_strategystep st
                   WHERE st.version_id = k.version_id AND st.from_dpd <= k.dpd
                   ORDER BY st.seq DESC LIMIT 1) s ON true
ON CONFLICT (loan_id) WHERE status = 'open' DO NOTHING
RETURNING id, loan_id, bucket, step, agency_id, dpd_at_open
"""

ADVANCE_SQL = """
WITH cur AS (
    SELECT c.id, c.bucket AS old_bucket, c.step AS old_step, c.agency_id AS old_agency, c.strategy_version_id,
           l.days_past_due AS dpd, """ + _BUCKET.format(dpd="l.days_past_due") + """ AS new_bucket,
           LEAST(
               COALESCE((SELECT MAX(seq) FROM collections_strategystep st
                         WHERE st.version_id = c.strategy_version_id), 0),
               GREATEST(c.step + CASE WHEN c.id = ANY(%(escalate)s) THEN 1 ELSE 0 END,
                        COALESCE((SELECT MAX(seq) FROM collections_strategystep st
                                  WHERE st.version_id = c.strategy_version_id
                                    AND st.from_dpd <= l.days_past_due), 0))) AS new_step
    FROM collections_collectioncase c JOIN servicing_loan l ON l.id = c.loan_id
    WHERE c.status = 'open' AND c.loan_id BETWEEN %(lo)s AND %(hi)s
      AND l.status = 'overdue' AND l.closed_through = %(yesterday)s
), moved AS (
    SELECT cur.*, st.work_group_id, st.agency_id AS new_agency
    FROM cur LEFT JOIN collections_strategystep st ON st.version_id = cur.strategy_version_id
                                                  AND st.seq = cur.new_step
    WHERE COALESCE(cur.new_bucket, '') <> cur.old_bucket OR cur.new_step <> cur.old_step
)
UPDATE collections_collectioncase c
SET bucket = COALESCE(moved.new_bucket, ''), step = moved.new_step,
    step_since = CASE WHEN moved.new_step <> moved.old_step THEN %(day)s ELSE c.step_since END,
    work_group_id = COALESCE(moved.work_group_id, c.work_group_id),
    agency_id = CASE WHEN moved.new_step <> moved.old_step THEN moved.new_agency ELSE c.agency_id END,
    updated_at = now()
FROM moved WHERE c.id = moved.id
RETURNING c.id, c.loan_id, moved.old_bucket, c.bucket, moved.old_step, c.step, moved.old_agency, c.agency_id,
          moved.dpd
"""

CLASSIFY_SQL = """
WITH cur AS (
    SELECT l.id AS loan_id, l.days_past_due AS dpd, COALESCE(k.classification, 'normal') AS old,
           COALESCE((SELECT t.classification FROM collections_classificationthreshold t
                     WHERE t.min_dpd <= l.days_past_due ORDER BY t.min_dpd DESC LIMIT 1), 'normal') AS new
    FROM servicing_loan l LEFT JOIN collections_loanclass k ON k.loan_id = l.id
    WHERE l.id BETWEEN %(lo)s AND %(hi)s AND l.status IN ('active', 'overdue')
      AND l.closed_through = %(yesterday)s
      -- a current loan never classified is normal and stays so: only the others are looked at
      AND (l.days_past_due > 0 OR k.loan_id IS NOT NULL)
), changed AS (
    SELECT * FROM cur WHERE old <> new
), stored AS (
    INSERT INTO collections_loanclass (loan_id, classification, since)
    SELECT loan_id, new, %(day)s FROM changed
    ON CONFLICT (loan_id) DO UPDATE SET classification = EXCLUDED.classification, since = EXCLUDED.since
    RETURNING loan_id
)
INSERT INTO collections_classificationchange (loan_id, business_date, from_class, to_class, dpd)
SELECT loan_id, %(day)s, old, new, dpd FROM changed
ON CONFLICT (loan_id, business_date) DO NOTHING
"""


def run(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount



def close_from_sql(*, lo: int) -> int:
    """Where closing cases starts: the chunks cover open loans only, from the first one to the
    last loan id, so the first chunk also closes the cases of loans below it (paid off or written
    off before every open loan)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM servicing_loan WHERE status IN ('active', 'overdue') "
                       "AND id < %s)", [lo])
        return lo if cursor.fetchone()[0] else 0


def commission_rates_sql(*, case_ids: list[int]) -> dict:
    """{case id: the commission rate of its step in force, else its agency's default}."""
    return dict(run("""
        SELECT c.id, COALESCE(st.commission_percent, a.commission_percent)
        FROM collections_collectioncase c JOIN collections_agency a ON a.id = c.agency_id
        LEFT JOIN collections_strategystep st ON st.version_id = c.strategy_version_id AND st.seq = c.step
        WHERE c.id = ANY(%(ids)s)""", {"ids": case_ids}))
