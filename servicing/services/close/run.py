"""Runs of the daily close (日终): ``close_run_start`` records a ``CloseRun`` for a date and its
chunks (ranges of loan ids); each chunk is executed once (``close_chunk_execute``: a Celery task,
or in process for ``close_date``) and counted on the run in the same transaction as its work; the
chunk that completes a stage moves the run on (``close_stage_complete``):

  close of D (chunks) → advance the business date to D+1, expire lines → start of D+1 (chunks)
  → run succeeded → the next date when the run closes up to ``until`` (catch-up, in order).

A chunk whose statement fails is retried loan by loan, so the failure names its loan; a run with
failed chunks stops before advancing the date, and a new run of the date finishes what is left
(everything already done is skipped by the watermarks). A run left unfinished by a killed worker
is resumed by starting the date again: its chunks not yet done are executed, the others skipped."""

from __future__ import annotations

import datetime
import time
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from servicing.locks import business_date_lock
from servicing.models import CloseChunk, CloseChunkStatus, CloseRun, CloseRunStatus, CloseStage, Loan, LoanStatus
from servicing.services import calendar
from servicing.services.lines import lines_expire
from servicing.services.portfolio import portfolio_snapshot

from .chunk import close_chunk
from .day_start import start_of_day_chunk
from .fastpath import chunk_bounds_sql

__all__ = ["CloseRefused", "business_date_advance", "chunk_bounds", "close_chunk_execute", "close_date",
           "close_day", "close_run_start", "close_run_summary", "close_stage_complete"]

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


def _make_chunks(run: CloseRun, stage: str) -> list[int]:
    chunks = CloseChunk.objects.bulk_create([CloseChunk(run=run, stage=stage, seq=seq, lo=lo, hi=hi)
                                             for seq, (lo, hi) in enumerate(chunk_bounds(), start=1)])
    CloseRun.objects.filter(pk=run.pk).update(stage=stage, chunks_total=len(chunks), chunks_done=0,
                                              chunks_failed=0, updated_at=timezone.now())
    return [chunk.pk for chunk in chunks]


def close_run_start(*, business_date: datetime.date, until: datetime.date | None = None,
                    actor=None) -> tuple[CloseRun, list[int]]:
    """Start closing ``business_date`` (the business date, or a date already closed: a re-run),
    or resume the unfinished run of that date. Returns the run and the chunks to execute now."""
    current = calendar.business_date()
    if business_date > current:
        raise CloseRefused(_("%(date)s cannot be closed: the business date is %(current)s.")
                           % {"date": business_date.isoformat(), "current": current.isoformat()})
    with transaction.atomic():
        run = (CloseRun.objects.filter(business_date=business_date, status=CloseRunStatus.RUNNING)
               .order_by("-id").first())
        if run is not None:  # resume: what a killed worker left undone
            if until and (run.until is None or until > run.until):
                CloseRun.objects.filter(pk=run.pk).update(until=until)
            pending = list(run.chunks.filter(stage=run.stage, status=CloseChunkStatus.PENDING)
                           .values_list("pk", flat=True))
            return run, pending
        run = CloseRun.objects.create(business_date=business_date, until=until,
                                      actor=actor if getattr(actor, "pk", None) else None)
        return run, _make_chunks(run, CloseStage.CLOSE)


def _isolate(chunk: CloseChunk, run: CloseRun, error: Exception) -> tuple[Counter, list[dict]]:
    """The chunk's statement failed: run it loan by loan, each in its own transaction, so every
    loan that can be closed is, and each that cannot is named with its error."""
    counts, failures = Counter(), []
    day = run.business_date if chunk.stage == CloseStage.CLOSE else run.business_date + ONE_DAY
    loans = (Loan.objects.filter(id__gte=chunk.lo, id__lte=chunk.hi, status__in=[LoanStatus.ACTIVE,
                                                                                 LoanStatus.OVERDUE])
             .order_by("id").values_list("id", "number"))
    for loan_id, number in loans:
        try:
            if chunk.stage == CloseStage.CLOSE:
                _result, loan_counts, _seconds = close_chunk(business_date=day, lo=loan_id, hi=loan_id)
            else:
                loan_counts, _seconds = start_of_day_chunk(business_date=day, lo=loan_id, hi=loan_id)
        except Exception as exc:  # noqa: BLE001 — recorded with its loan, shown in the back office
            failures.append({"loan": loan_id, "number": number, "error": f"{type(exc).__name__}: {exc}"[:500]})
            continue
        counts.update(loan_counts)
    if not failures:  # it failed as a whole but no loan alone does: report the chunk's error
        failures.append({"loan": None, "number": "", "error": f"{type(error).__name__}: {error}"[:500]})
    return counts, failures


def _count(run_id: int, *, failed: bool) -> bool:
    """Count a finished chunk on its run (in the chunk's transaction); True for the chunk that
    finishes the stage. The run's row lock serialises the counting, so exactly one sees the end."""
    field = "chunks_failed" if failed else "chunks_done"
    CloseRun.objects.filter(pk=run_id).update(**{field: F(field) + 1}, updated_at=timezone.now())
    done, failed_count, total = CloseRun.objects.filter(pk=run_id).values_list(
        "chunks_done", "chunks_failed", "chunks_total").get()
    return done + failed_count == total


def close_chunk_execute(*, chunk_id: int) -> bool:
    """Execute one chunk once (a second call, a redelivered task, finds it done and does nothing).
    True when it was the chunk that completed its stage: the caller then calls
    ``close_stage_complete``."""
    CloseChunk.objects.filter(pk=chunk_id, status=CloseChunkStatus.PENDING).update(
        attempts=F("attempts") + 1, started_at=timezone.now())
    chunk = CloseChunk.objects.select_related("run").get(pk=chunk_id)
    run = chunk.run
    try:
        with transaction.atomic():
            # claim: only one execution of a chunk gets past this (the row lock serialises them)
            if not CloseChunk.objects.filter(pk=chunk_id, status=CloseChunkStatus.PENDING).update(
                    status=CloseChunkStatus.DONE, finished_at=timezone.now()):
                return False
            if chunk.stage == CloseStage.CLOSE:
                _result, counts, seconds = close_chunk(business_date=run.business_date, lo=chunk.lo, hi=chunk.hi,
                                                       actor=run.actor)
            else:
                counts, seconds = start_of_day_chunk(business_date=run.business_date + ONE_DAY, lo=chunk.lo,
                                                     hi=chunk.hi)
            rows = sum(counts.get(name, 0) for name in _WRITTEN[chunk.stage])
            CloseChunk.objects.filter(pk=chunk_id).update(counts=counts, seconds=_rounded(seconds),
                                                          rows_written=rows)
            return _count(run.pk, failed=False)
    except Exception as error:  # noqa: BLE001 — isolated loan by loan below
        counts, failures = _isolate(chunk, run, error)
        with transaction.atomic():
            if not CloseChunk.objects.filter(pk=chunk_id, status=CloseChunkStatus.PENDING).update(
                    status=CloseChunkStatus.FAILED, failures=failures, counts=dict(counts),
                    finished_at=timezone.now()):
                return False
            return _count(run.pk, failed=True)


# What counts as rows written, per stage (the books: loans, installments, parts, entries, …).
_WRITTEN = {
    CloseStage.CLOSE: ("loans", "installments", "parts", "journal_entries"),
    CloseStage.START_OF_DAY: ("due", "fees", "reminders", "write_off", "monitoring", "handover"),
}


def _rounded(seconds: dict) -> dict:
    return {name: round(value, 4) for name, value in seconds.items()}


def _finish(run: CloseRun, *, status: str) -> None:
    CloseRun.objects.filter(pk=run.pk).update(stage=CloseStage.DONE, status=status, finished_at=timezone.now(),
                                              updated_at=timezone.now())


def close_stage_complete(*, run_id: int) -> tuple[CloseRun | None, list[int]]:
    """Move a run on once every chunk of its stage is done (idempotent: a second call, or one
    before the stage is complete, does nothing). Returns the run to go on with — the same one, or
    the next date's in a catch-up — and the chunks to execute now; (None, []) when nothing follows."""
    with transaction.atomic():
        run = CloseRun.objects.filter(pk=run_id).first()
        complete = run is not None and run.status == CloseRunStatus.RUNNING and (
            run.chunks_done + run.chunks_failed == run.chunks_total)
        # the conditional update is the claim: one caller moves a stage on
        if not complete or not CloseRun.objects.filter(pk=run_id, stage=run.stage,
                                                       status=CloseRunStatus.RUNNING).update(
                updated_at=timezone.now()):
            return None, []
        if run.chunks_failed:
            _finish(run, status=CloseRunStatus.FAILED)
            return None, []
        if run.stage == CloseStage.CLOSE:
            return run, _open_the_next_day(run)
        _snapshots(run)
        _finish(run, status=CloseRunStatus.SUCCEEDED)
    if run.until and run.business_date < run.until:
        return close_run_start(business_date=run.business_date + ONE_DAY, until=run.until, actor=run.actor)
    return None, []


def _open_the_next_day(run: CloseRun) -> list[int]:
    """Close stage complete (in the caller's transaction): advance the business date if the run
    closed the current one, expire the lines whose validity ended, write the portfolio aggregates
    of the closed date, make the start-of-day chunks."""
    seconds, counts = dict(run.seconds), dict(run.counts)
    started = time.perf_counter()
    advanced = (business_date_advance(closed=run.business_date, actor=run.actor)
                if calendar.business_date() == run.business_date else False)
    seconds["advance"] = time.perf_counter() - started
    started = time.perf_counter()
    counts["lines_expired"] = lines_expire(on_date=run.business_date + ONE_DAY)
    seconds["lines_expired"] = time.perf_counter() - started
    # the dashboard's and the cockpit's nightly figures: the portfolio as the close left it
    started = time.perf_counter()
    counts.update(portfolio_snapshot(business_date=run.business_date))
    seconds["portfolio"] = time.perf_counter() - started
    CloseRun.objects.filter(pk=run.pk).update(advanced=advanced, counts=counts, seconds=_rounded(seconds))
    return _make_chunks(run, CloseStage.START_OF_DAY)


def _snapshots(run: CloseRun) -> None:
    """Start of the next day complete (in the caller's transaction): the nightly aggregates of the
    apps above servicing (``CLOSE_SNAPSHOT_HOOKS``, e.g. the loans' classification, which the
    start of day's hand-over wrote). Only when the run has just opened the current business date:
    a re-run of an older date leaves the figures written at the time."""
    if calendar.business_date() != run.business_date + ONE_DAY or not settings.CLOSE_SNAPSHOT_HOOKS:
        return
    seconds, counts = dict(run.seconds), dict(run.counts)
    started = time.perf_counter()
    for path in settings.CLOSE_SNAPSHOT_HOOKS:
        counts.update(import_string(path)(business_date=run.business_date) or {})
    seconds["snapshots"] = time.perf_counter() - started
    CloseRun.objects.filter(pk=run.pk).update(counts=counts, seconds=_rounded(seconds))


def close_run_summary(run: CloseRun) -> dict:
    """A run's figures: per phase the rows and seconds summed over its chunks, chunks done and
    failed, ``rows_written`` (loans, installments, parts, entries, … the run changed)."""
    run.refresh_from_db()
    counts, seconds, rows, failures = Counter(run.counts), Counter(run.seconds), 0, []
    for chunk in run.chunks.all():
        counts.update(chunk.counts)
        seconds.update(chunk.seconds)
        rows += chunk.rows_written
        failures.extend(chunk.failures)
    chunks = run.chunks.values_list("stage", "status")
    return {"date": run.business_date, "run": run.pk, "status": run.status, "advanced": run.advanced,
            "chunks": sum(1 for stage, _status in chunks if stage == CloseStage.CLOSE),
            "chunks_failed": sum(1 for _stage, status in chunks if status == CloseChunkStatus.FAILED),
            "rows_written": rows + counts.get("lines_expired", 0), "failures": failures,
            "seconds": {name: round(value, 3) for name, value in seconds.items()}, **counts}


def _drive(run: CloseRun | None, chunk_ids: list[int]) -> list[CloseRun]:
    """Execute a run in process, chunk by chunk, and each run that follows it (catch-up)."""
    runs = []
    while run is not None:
        if not runs or runs[-1].pk != run.pk:
            runs.append(run)
        for chunk_id in chunk_ids:
            close_chunk_execute(chunk_id=chunk_id)
        run, chunk_ids = close_stage_complete(run_id=run.pk)
    return runs


def close_date(*, business_date: datetime.date, actor=None) -> dict:
    """Close ``business_date`` in process (the current business date, or one already closed: a
    re-run then changes nothing), advance the business date past it when it is the current one,
    and run the start of the next day. Returns the run's figures (``close_run_summary``)."""
    [run] = _drive(*close_run_start(business_date=business_date, actor=actor))
    return close_run_summary(run)


def close_day(*, until: datetime.date | None = None, actor=None) -> list[dict]:
    """Close the current business date, and each following one up to ``until`` (inclusive), in
    order, in process. Returns each date's figures."""
    current = calendar.business_date()
    until = until or current
    if until < current:
        raise CloseRefused(_("--until %(until)s is before the business date %(current)s.")
                           % {"until": until.isoformat(), "current": current.isoformat()})
    return [close_run_summary(run) for run in _drive(*close_run_start(business_date=current, until=until,
                                                                       actor=actor))]
