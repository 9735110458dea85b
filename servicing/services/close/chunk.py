"""One chunk of the daily close: a range of loan ids, one transaction.

The loans of the range still to be closed are locked in id order (``loans_lock_range``), one
set-based statement (``fastpath.close_chunk_sql``) marks overdue installments, accrues interest
and penalty on installments, loans and funder parts and moves the loans' watermarks, DPD and
status; then, in the same transaction, the general ledger gets the chunk's aggregated entries
(``ledger_accrue_aggregate``: one per funder × product) and every loan status change is logged.
A chunk commits whole or not at all, so the books reconcile at every commit, and a re-run finds
its loans' watermarks at the date and writes nothing."""

from __future__ import annotations

import datetime
import time

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.models import StateTransition
from creditfactory.core.texts import stored_text
from creditfactory.partners.services.webhooks import webhook_emit
from products.models import LoanProduct
from servicing.locks import loans_lock_range
from servicing.models import EntryKind, Funder, Installment, Loan, LoanStatus
from servicing.services.ledger import LedgerError, ledger_accrue_aggregate

from .fastpath import ChunkResult, chunk_session_sql, close_chunk_sql

__all__ = ["chunk_name", "close_chunk"]

_REASONS = {
    LoanStatus.OVERDUE: gettext_noop("Close of %(date)s: an installment is overdue."),
    LoanStatus.ACTIVE: gettext_noop("Close of %(date)s: nothing is overdue any more."),
}


def chunk_name(*, lo: int, hi: int) -> str:
    """The chunk's part of its ledger references: its id range."""
    return f"{lo}-{hi}"


def _post_aggregates(result: ChunkResult, *, business_date: datetime.date, chunk: str, actor) -> int:
    funders = Funder.objects.in_bulk({row[0] for row in result.totals})
    products = LoanProduct.objects.in_bulk({row[1] for row in result.totals})
    posted = 0
    for kind, column in ((EntryKind.ACCRUAL, 2), (EntryKind.PENALTY, 3)):
        totals = {(funders[row[0]], products[row[1]]): row[column] for row in result.totals if row[column]}
        if not totals:
            continue
        entries = ledger_accrue_aggregate(business_date=business_date, kind=kind, totals=totals, chunk=chunk,
                                          actor=actor)
        written = {(entry.funder_id, entry.product_id): entry for entry in entries}
        for (funder, product), amount in totals.items():
            entry = written[(funder.pk, product.pk)]
            if sum(line.debit for line in entry.lines.all()) != amount:  # a reference posted before
                raise LedgerError(_("Entry %(reference)s exists with another amount than %(amount)s.")
                                  % {"reference": entry.reference, "amount": amount})
        posted += len(entries)
    return posted


def _log_status_changes(result: ChunkResult, *, business_date: datetime.date, actor) -> None:
    if not result.status_changes:
        return
    content_type = ContentType.objects.get_for_model(Loan)
    user = actor if getattr(actor, "pk", None) else None
    StateTransition.objects.bulk_create([
        StateTransition(content_type=content_type, object_id=str(loan_id), field="status", from_state=old,
                        to_state=new, actor=user, actor_label="" if user else "system",
                        reason=stored_text(_REASONS[new], date=business_date.isoformat()))
        for loan_id, old, new in result.status_changes])


def _emit_overdue(result: ChunkResult, *, business_date: datetime.date) -> int:
    """``installment.overdue`` once per installment: the statement reports an installment only on
    the close that moved it to overdue, in the transaction that moved it."""
    if not result.newly_overdue:
        return 0
    rows = {row.pk: row for row in Installment.objects.filter(pk__in=[i for i, _loan in result.newly_overdue],
                                                               loan__partner__isnull=False)
            .select_related("loan__partner")}
    for installment in rows.values():
        loan = installment.loan
        webhook_emit(partner=loan.partner, event="installment.overdue", payload={
            "loan": loan.pk, "number": loan.number, "installment": installment.number,
            "due_date": installment.due_date.isoformat(), "overdue_on": business_date.isoformat(),
            "dpd": loan.days_past_due})
    return len(rows)


@transaction.atomic
def close_chunk(*, business_date: datetime.date, lo: int, hi: int, actor=None) -> tuple[ChunkResult, dict, dict]:
    """Close ``business_date`` for the open loans with ids ``lo``…``hi``, in one transaction.
    Returns what the statement did, the counts per phase and the seconds per phase; nothing
    written when it was done already."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(phase):
        nonlocal started
        now = time.perf_counter()
        seconds[phase] = seconds.get(phase, 0.0) + now - started
        started = now

    chunk_session_sql()
    locked = loans_lock_range(lo=lo, hi=hi, business_date=business_date)
    lap("lock")
    if not locked:
        return ChunkResult(), {}, seconds
    result = close_chunk_sql(business_date=business_date, lo=lo, hi=hi)
    lap("accrue")  # overdue marking, DPD, interest, penalty and statuses: one statement
    entries = _post_aggregates(result, business_date=business_date, chunk=chunk_name(lo=lo, hi=hi), actor=actor)
    lap("ledger")
    _log_status_changes(result, business_date=business_date, actor=actor)
    webhooks = _emit_overdue(result, business_date=business_date)
    lap("statuses")
    counts = {"loans": result.loans, "installments": result.installments, "parts": result.parts,
              "overdue": len(result.newly_overdue), "interest": result.interest_installments,
              "penalty": result.penalty_installments, "status_changes": len(result.status_changes),
              "journal_entries": entries, "webhooks": webhooks}
    return result, counts, seconds
