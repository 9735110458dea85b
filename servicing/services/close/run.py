"""The daily close (日终), synchronous and in process: ``close_date`` closes one business date
chunk by chunk (each its own transaction), advances the business date and runs the start of the
next day; ``close_day`` closes the current date and each following one up to ``until``.

The Celery fan-out (``servicing.services.close.fanout``) runs the same chunks on workers; both
are idempotent per (loan, date, kind) through the loans' watermarks."""

from __future__ import annotations

import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from servicing.locks import business_date_lock
from servicing.services import calendar

from .chunk import close_chunk, start_of_day_chunk
from .fastpath import chunk_bounds_sql

__all__ = ["CloseRefused", "business_date_advance", "close_date", "close_day", "chunk_bounds"]

ONE_DAY = datetime.timedelta(days=1)


class CloseRefused(Exception):
    """The date cannot be closed (it is after the current business date, or ``until`` is before it)."""


def chunk_bounds(*, size: int | None = None) -> list[tuple[int, int]]:
    """The loan id ranges the close works in: about ``CLOSE_CHUNK_SIZE`` open loans each."""
    return chunk_bounds_sql(size=size or settings.CLOSE_CHUNK_SIZE)


@transaction.atomic
def business_date_advance(*, closed: datetime.date, actor=None) -> bool:
    """Move the business date from ``closed`` to the next day — only if it is still ``closed``
    (the business date row is locked): True when it moved."""
    row, _created = business_date_lock(date=closed)
    if row.date != closed:
        return False
    calendar.business_date_set(date=closed + ONE_DAY, actor=actor,
                               reason=_("Close of %(date)s") % {"date": closed.isoformat()})
    return True


def close_date(*, business_date: datetime.date, actor=None) -> dict:
    """Close ``business_date`` (the current business date, or one already closed: a re-run then
    changes nothing) for every open loan, advance the business date past it when it is the
    current one, and run the start of the next day. Returns counts per phase and
    ``rows_written`` (loans, installments, parts and journal entries the run changed)."""
    current = calendar.business_date()
    if business_date > current:
        raise CloseRefused(_("%(date)s cannot be closed: the business date is %(current)s.")
                           % {"date": business_date.isoformat(), "current": current.isoformat()})
    counts: Counter = Counter()
    bounds = chunk_bounds()
    for lo, hi in bounds:
        result, entries = close_chunk(business_date=business_date, lo=lo, hi=hi, actor=actor)
        counts.update(loans_closed=result.loans, installments_written=result.installments,
                      interest_accrued=result.interest_installments, penalty_accrued=result.penalty_installments,
                      overdue_marked=len(result.newly_overdue), status_changes=len(result.status_changes),
                      parts_written=result.parts, journal_entries=entries,
                      rows_written=result.rows_written + entries)
    advanced = business_date_advance(closed=business_date, actor=actor) if business_date == current else False
    for lo, hi in bounds:
        phase = start_of_day_chunk(business_date=business_date + ONE_DAY, lo=lo, hi=hi)
        counts.update(phase)
        counts["rows_written"] += sum(phase.values())
    return {"date": business_date, "chunks": len(bounds), "advanced": advanced, **counts}


def close_day(*, until: datetime.date | None = None, actor=None) -> list[dict]:
    """Close the current business date, and each following one up to ``until`` (inclusive), in
    order. Returns each date's counts."""
    current = calendar.business_date()
    until = until or current
    if until < current:
        raise CloseRefused(_("--until %(until)s is before the business date %(current)s.")
                           % {"until": until.isoformat(), "current": current.isoformat()})
    results = []
    day = current
    while day <= until:
        results.append(close_date(business_date=day, actor=actor))
        day += ONE_DAY
    return results
