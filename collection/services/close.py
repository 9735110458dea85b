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
from django.db.models import F
from django.utils.translation import gettext_noop

from creditfactory.core.models import StateTransition
from creditfactory.core.texts import stored_text
from creditfactory.partners.services.webhooks import webhook_emit
from servicing.models import Loan

from .. import fastpath
from ..models import AgencyAssignment, CaseStageChange, CollectionCase, Promise

__all__ = ["collection_close_phase"]

ONE_DAY = datetime.timedelta(days=1)


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
    rates = fastpath.commission_rates_sql(case_ids=[case for case, _agency in new])
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


def _owed(loan_ids) -> dict[int, object]:
    """{loan id: what it owes now — principal, interest, penalty and fee}: the amount a case
    enters a bucket with (the dashboard's recovery by bucket)."""
    if not loan_ids:
        return {}
    return dict(Loan.objects.filter(pk__in=loan_ids).values_list(
        "id", F("principal_outstanding") + F("interest_receivable") + F("penalty_receivable") + F("fee_receivable")))


def collection_close_phase(*, business_date: datetime.date, lo: int, hi: int) -> int:
    """The collections hand-over of the close for loans ``lo``…``hi`` at the start of
    ``business_date`` (inside the chunk's transaction). Returns the rows it wrote (0 on a re-run)."""
    params = {"day": business_date, "yesterday": business_date - ONE_DAY, "lo": lo, "hi": hi,
              "close_lo": fastpath.close_from_sql(lo=lo)}
    counts: Counter = Counter()
    case_type = ContentType.objects.get_for_model(CollectionCase)
    transitions: list[StateTransition] = []
    changes: list[CaseStageChange] = []
    events: list[tuple] = []

    promises = fastpath.run(fastpath.PROMISES_SQL, params)
    counts["promises"] = len(promises)
    if promises:
        promise_type = ContentType.objects.get_for_model(Promise)
        text = stored_text(gettext_noop("Close of %(date)s: promise evaluated."), date=business_date.isoformat())
        transitions += [StateTransition(content_type=promise_type, object_id=str(pk), field="status",
                                        from_state="pending", to_state=status, actor_label="system", reason=text)
                        for pk, _case, status in promises]
    escalate = sorted({case for _pk, case, status in promises if status == "broken"})

    closed = fastpath.run(fastpath.CLOSE_SQL, params)
    counts["closed"] = len(closed)
    transitions += _transitions([(pk, "open", "closed") for pk, *_rest in closed], field="status",
                                reason=gettext_noop("Close of %(date)s: the loan is no longer overdue."),
                                business_date=business_date, content_type=case_type)
    events += [(loan, pk, "closed", bucket, "") for pk, loan, bucket, _reason, _partner, _agency in closed]
    moves = [(pk, agency, None) for pk, _loan, _bucket, _reason, _partner, agency in closed if agency]

    opened = fastpath.run(fastpath.OPEN_SQL, params)
    counts["opened"] = len(opened)
    transitions += _transitions([(pk, "", "open") for pk, *_rest in opened], field="status",
                                reason=gettext_noop("Close of %(date)s: the loan is overdue."),
                                business_date=business_date, content_type=case_type)
    events += [(loan, pk, "open", "", bucket) for pk, loan, bucket, _step, _agency, _dpd in opened]
    moves += [(pk, None, agency) for pk, _loan, _bucket, _step, agency, _dpd in opened if agency]

    advanced = fastpath.run(fastpath.ADVANCE_SQL, {**params, "escalate": escalate})
    counts["advanced"] = len(advanced)
    owed_by_loan = _owed({row[1] for row in opened} | {row[1] for row in advanced})
    changes += [CaseStageChange(case_id=pk, business_date=business_date, from_bucket="", to_bucket=bucket,
                                from_step=None, to_step=step, dpd=dpd, owed=owed_by_loan[loan])
                for pk, loan, bucket, step, _agency, dpd in opened]
    transitions += _transitions([(pk, old, new) for pk, _loan, old, new, *_rest in advanced if old != new],
                                field="bucket", reason=gettext_noop("Close of %(date)s: days past due."),
                                business_date=business_date, content_type=case_type)
    changes += [CaseStageChange(case_id=pk, business_date=business_date, from_bucket=old_bucket,
                                to_bucket=new_bucket, from_step=old_step, to_step=new_step, dpd=dpd,
                                owed=owed_by_loan[loan])
                for pk, loan, old_bucket, new_bucket, old_step, new_step, _oa, _na, dpd in advanced]
    events += [(loan, pk, "open", old_bucket, new_bucket)
               for pk, loan, old_bucket, new_bucket, *_rest in advanced if old_bucket != new_bucket]
    moves += [(pk, old_agency, new_agency) for pk, _l, _ob, _nb, _os, _ns, old_agency, new_agency, _d in advanced
              if old_agency != new_agency]

    counts["assignments"] = _assignments(moves, business_date=business_date)
    CaseStageChange.objects.bulk_create(changes)
    StateTransition.objects.bulk_create(transitions)
    counts["classified"] = fastpath.run(fastpath.CLASSIFY_SQL, params)
    counts["webhooks"] = _webhooks(events, business_date=business_date)
    return (counts["promises"] + counts["closed"] + counts["opened"] + counts["advanced"] + counts["assignments"]
            + counts["classified"])
