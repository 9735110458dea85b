"""Celery tasks of the workflows app. Thin: parse the arguments, call one service.

The credit flow's job task, ``workflows.job_run``, is defined with the job node's worker side in
``workflows.jobs`` (the node sends it) and imported here, so the worker's autodiscovery of this
module registers it.
"""

from dataclasses import asdict
from datetime import date, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .drawdown_jobs import drawdown_disbursement_send  # noqa: F401 - registered through this module
from .jobs import job_run  # noqa: F401 - registered (and imported by callers) through this module
from .services.batch import batch_import_process
from .services.dispatch import sla_escalate_overdue
from .services.drawdowns import drawdown_disbursements_sweep as disbursements_sweep
from .services.drawdowns import drawdown_funding_retry as funding_retry
from .services.drawdowns import drawdown_settled
from .services.documents import documents_sweep_orphans
from .services.quality import quality_sample as sample
from .services.signing import signing_send_reminders as send


@shared_task(name="workflows.signing_send_reminders", acks_late=True)
def signing_send_reminders(business_date: str | None = None) -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): text a reminder for every signing appointment of the day
    after ``business_date`` (ISO date; default today in the server's time zone). Safe to re-run."""
    day = date.fromisoformat(business_date) if business_date else timezone.localdate()
    return send(business_date=day)


@shared_task(name="workflows.documents_sweep", acks_late=True)
def documents_sweep() -> dict:
    """Daily (beat, entry ``workflows.documents-sweep``): delete stored document files that no
    document row names, once older than ``WORKFLOW_DOCUMENT_ORPHAN_HOURS``. Safe to re-run."""
    return asdict(documents_sweep_orphans())


# --- The credit flow: SLA escalation ----------------------------------------------------------------


@shared_task(name="workflows.sla_escalate", acks_late=True, ignore_result=True)
def sla_escalate() -> int:
    """Beat: escalate every open task past its SLA to its work group's lead, once."""
    return sla_escalate_overdue()


# --- Batch entry (批量录入) and quality inspection (抽样质检) -------------------------------------------


@shared_task(bind=True, name="workflows.batch_import_run", acks_late=True)
def batch_import_run(self, batch_id: int) -> dict:
    """Import the next chunk (``WORKFLOW_BATCH_CHUNK_SIZE`` rows) of batch ``batch_id`` and queue
    the chunk after it, so a large file neither runs into the task time limit nor holds a worker
    for long. Safe to deliver twice: every row is taken once, under the job's row lock."""
    while True:
        batch = batch_import_process(batch_id=batch_id, max_rows=settings.WORKFLOW_BATCH_CHUNK_SIZE)
        if batch.finished:
            break
        if not self.request.is_eager:
            queue = (self.request.delivery_info or {}).get("routing_key")
            self.apply_async(args=[batch_id], **({"queue": queue} if queue else {}))
            break
        # Eager (make run, tests): no broker to come back through, so go on here.
    return {"batch": batch.pk, "status": batch.status, "processed": batch.processed, "accepted": batch.accepted,
            "rejected": batch.rejected}


@shared_task(name="workflows.quality_sample", acks_late=True)
def quality_sample(business_date: str | None = None) -> dict:
    """Daily (beat, entry ``workflows.quality-sample``): sample the straight-through approvals of
    ``business_date`` (ISO date; default: yesterday, local time) into the QA queue. Safe to re-run."""
    day = date.fromisoformat(business_date) if business_date else timezone.localdate() - timedelta(days=1)
    result = sample(business_date=day)
    return {"business_date": day.isoformat(), "approvals": result.approvals, "sampled": result.sampled}


# --- The drawdown flow (借款) -----------------------------------------------------------------------


@shared_task(name="workflows.drawdown_disbursement_settled", acks_late=True, ignore_result=True)
def drawdown_disbursement_settled(drawdown_id: int) -> bool:
    """Dispatched by servicing (by name, ``SERVICING_DISBURSEMENT_SETTLED_TASK``) once a
    disbursement is paid or failed: book the loan or fail the drawdown. Safe to run twice."""
    return drawdown_settled(drawdown_id=drawdown_id)


@shared_task(name="workflows.drawdown_funding_retry", acks_late=True, ignore_result=True)
def drawdown_funding_retry() -> dict:
    """Beat: route the drawdowns awaiting funding again; reject those past the timeout."""
    return funding_retry()


@shared_task(name="workflows.drawdown_disbursements_sweep", acks_late=True, ignore_result=True)
def drawdown_disbursements_sweep() -> dict:
    """Beat: send, query or settle the disbursements of drawdowns stuck in disbursing."""
    return disbursements_sweep()
# --- In-loan warnings (see workflows.services.warnings) --------------------------------------------


@shared_task(name="workflows.list_entry_recheck", acks_late=True)
def list_entry_recheck(kind: str = "", value_index: str = "", entry_id=None, list_type: str = "", **_ignored) -> int:
    """Dispatched by risk on commit of a new list entry (settings.RISK_LIST_ENTRY_HANDLER_TASK):
    re-check that person's lines and apply the warnings' handling. Idempotent per entry."""
    from .services.warnings import list_entry_recheck as recheck

    return len(recheck(kind=kind, value_index=value_index, entry_id=entry_id, list_type=list_type))


@shared_task(name="workflows.warnings_monitor", acks_late=True)
def warnings_monitor() -> dict:
    """Beat (WARNING_MONITOR_MINUTES): re-check WARNING_MONITOR_SHARE_PERCENT of the active lines."""
    from .services.warnings import warnings_monitor as monitor

    return monitor(share_percent=settings.WARNING_MONITOR_SHARE_PERCENT,
                   cadence_minutes=settings.WARNING_MONITOR_MINUTES)


@shared_task(name="workflows.credit_growth_review", acks_late=True)
def credit_growth_review(on_date: str | None = None) -> dict:
    """Daily (beat, entry ``workflows.credit-growth-review``): review the credit lines whose
    cadence has come round (``workflows.services.credit_growth``). Safe to re-run on a date."""
    from .services.credit_growth import credit_growth_review as review

    return review(business_date=date.fromisoformat(on_date) if on_date else None)


@shared_task(name="workflows.collection_flows_sync", acks_late=True)
def collection_flows_sync_task() -> int:
    """Daily after the close (beat, entry ``workflows.collection-flows``): a ``CollectionFlow``
    for each open case at a human step without one. Safe to re-run: one process per case."""
    from workflows.services.collection_cases import collection_flows_sync

    return collection_flows_sync()
