"""The collections phase of the daily close (``CLOSE_HANDOVER_HOOKS``): for one chunk of loans,
at the start of ``business_date`` (the loans are closed through the day before), in the chunk's
transaction, set-based:

1. promises to pay due by yesterday are kept (repaid in full since they were made) or broken;
2. cases whose loan is current again, paid off or written off are closed;
3. a case is opened for each overdue loan without an open one — ``INSERT … ON CONFLICT DO
   NOTHING`` on the partial unique index "one open case per loan", so a re-run (or a redelivered
   chunk after a killed worker) opens nothing twice — under its product's current strategy version;
4. open cases move to the bucket of their DPD and to the strategy step in force (never back a
   step; a broken promise escalates one step), with their history, their agency assignment and
   the webhook ``collection.stage_changed`` for partner loans;
5. each open loan's classification (五级分类) is recomputed from the thresholds, with history.

Only rows that change are written: a re-run of a date returns 0. Opening and moving read the
loan's state as of the date (``closed_through`` = the day before), so re-running an old date
after later ones were closed changes nothing."""

from __future__ import annotations

import datetime
from collections import Counter

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.translation import gettext_noop

from creditfactory.core.models import StateTransition
from creditfactory.core.texts import stored_text
from creditfactory.partners.services.webhooks import webhook_emit
from servicing.models import Loan

from ..models import AgencyAssignment, CaseStageChange, CollectionCase, Promise

__all__ = ["collection_close_phase"]

ONE_DAY = datetime.timedelta(days=1)

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


def _run(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def _transitions(rows: list[tuple], *, field: str, reason: str, business_date: datetime.date,
                 content_type: ContentType) -> list[StateTransition]:
    text = stored_text(reason, date=business_date.isoformat())
    return [StateTransition(content_type=content_type, object_id=str(pk), field=field, from_state=old,
                            to_state=new, actor_label="system", reason=text) for pk, old, new in rows]


def _assignments(moves: list[tuple[int, int | None, int | None]], *, business_date: datetime.date) -> int:
    """End the agency assignment of each case whose agency changed and start the new one, at the
    commission rate of the step in force (else the agency's)."""
    if not moves:
        return 0
    ended = AgencyAssignment.objects.filter(case_id__in=[case for case, old, _new in moves if old],
                                            end__isnull=True).update(end=business_date)
    new = [(case, agency) for case, _old, agency in moves if agency]
    if not new:
        return ended
    rates = dict(_run("""
        SELECT c.id, COALESCE(st.commission_percent, a.commission_percent)
        FROM collections_collectioncase c JOIN collections_agency a ON a.id = c.agency_id
        LEFT JOIN collections_strategystep st ON st.version_id = c.strategy_version_id AND st.seq = c.step
        WHERE c.id = ANY(%(ids)s)""", {"ids": [case for case, _agency in new]}))
    AgencyAssignment.objects.bulk_create([
        AgencyAssignment(case_id=case, agency_id=agency, commission_percent=rates[case], start=business_date)
        for case, agency in new])
    return ended + len(new)


def _webhooks(events: list[tuple[int, str, str, str]], *, business_date: datetime.date) -> int:
    """``collection.stage_changed`` for each partner loan whose case opened, moved or closed."""
    if not events:
        return 0
    loans = {loan.pk: loan for loan in Loan.objects.filter(pk__in={e[0] for e in events}, partner__isnull=False)
             .select_related("partner").only("id", "number", "days_past_due", "partner")}
    sent = 0
    for loan_id, case_id, status, old_bucket, new_bucket in events:
        loan = loans.get(loan_id)
        if loan is None:
            continue
        webhook_emit(partner=loan.partner, event="collection.stage_changed", payload={
            "loan": loan.pk, "number": loan.number, "case": case_id, "status": status,
            "from_bucket": old_bucket or None, "to_bucket": new_bucket or None, "dpd": loan.days_past_due,
            "date": business_date.isoformat()})
        sent += 1
    return sent


def _close_from(lo: int) -> int:
    """Where closing cases starts: the chunks cover open loans only, from the first one to the
    last loan id, so the first chunk also closes the cases of loans below it (paid off or written
    off before every open loan)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM servicing_loan WHERE status IN ('active', 'overdue') "
                       "AND id < %s)", [lo])
        return lo if cursor.fetchone()[0] else 0


def collection_close_phase(*, business_date: datetime.date, lo: int, hi: int) -> int:
    """The collections hand-over of the close for loans ``lo``…``hi`` at the start of
    ``business_date`` (inside the chunk's transaction). Returns the rows it wrote (0 on a re-run)."""
    params = {"day": business_date, "yesterday": business_date - ONE_DAY, "lo": lo, "hi": hi,
              "close_lo": _close_from(lo)}
    counts: Counter = Counter()
    case_type = ContentType.objects.get_for_model(CollectionCase)
    transitions: list[StateTransition] = []
    changes: list[CaseStageChange] = []
    events: list[tuple] = []

    promises = _run(PROMISES_SQL, params)
    counts["promises"] = len(promises)
    if promises:
        promise_type = ContentType.objects.get_for_model(Promise)
        text = stored_text(gettext_noop("Close of %(date)s: promise evaluated."), date=business_date.isoformat())
        transitions += [StateTransition(content_type=promise_type, object_id=str(pk), field="status",
                                        from_state="pending", to_state=status, actor_label="system", reason=text)
                        for pk, _case, status in promises]
    escalate = sorted({case for _pk, case, status in promises if status == "broken"})

    closed = _run(CLOSE_SQL, params)
    counts["closed"] = len(closed)
    transitions += _transitions([(pk, "open", "closed") for pk, *_rest in closed], field="status",
                                reason=gettext_noop("Close of %(date)s: the loan is no longer overdue."),
                                business_date=business_date, content_type=case_type)
    events += [(loan, pk, "closed", bucket, "") for pk, loan, bucket, _reason, _partner, _agency in closed]
    moves = [(pk, agency, None) for pk, _loan, _bucket, _reason, _partner, agency in closed if agency]

    opened = _run(OPEN_SQL, params)
    counts["opened"] = len(opened)
    transitions += _transitions([(pk, "", "open") for pk, *_rest in opened], field="status",
                                reason=gettext_noop("Close of %(date)s: the loan is overdue."),
                                business_date=business_date, content_type=case_type)
    changes += [CaseStageChange(case_id=pk, business_date=business_date, from_bucket="", to_bucket=bucket,
                                from_step=None, to_step=step, dpd=dpd)
                for pk, _loan, bucket, step, _agency, dpd in opened]
    events += [(loan, pk, "open", "", bucket) for pk, loan, bucket, _step, _agency, _dpd in opened]
    moves += [(pk, None, agency) for pk, _loan, _bucket, _step, agency, _dpd in opened if agency]

    advanced = _run(ADVANCE_SQL, {**params, "escalate": escalate})
    counts["advanced"] = len(advanced)
    transitions += _transitions([(pk, old, new) for pk, _loan, old, new, *_rest in advanced if old != new],
                                field="bucket", reason=gettext_noop("Close of %(date)s: days past due."),
                                business_date=business_date, content_type=case_type)
    changes += [CaseStageChange(case_id=pk, business_date=business_date, from_bucket=old_bucket,
                                to_bucket=new_bucket, from_step=old_step, to_step=new_step, dpd=dpd)
                for pk, _loan, old_bucket, new_bucket, old_step, new_step, _oa, _na, dpd in advanced]
    events += [(loan, pk, "open", old_bucket, new_bucket)
               for pk, loan, old_bucket, new_bucket, *_rest in advanced if old_bucket != new_bucket]
    moves += [(pk, old_agency, new_agency) for pk, _l, _ob, _nb, _os, _ns, old_agency, new_agency, _d in advanced
              if old_agency != new_agency]

    counts["assignments"] = _assignments(moves, business_date=business_date)
    CaseStageChange.objects.bulk_create(changes)
    StateTransition.objects.bulk_create(transitions)
    counts["classified"] = _run(CLASSIFY_SQL, params)
    counts["webhooks"] = _webhooks(events, business_date=business_date)
    return (counts["promises"] + counts["closed"] + counts["opened"] + counts["advanced"] + counts["assignments"]
            + counts["classified"])
