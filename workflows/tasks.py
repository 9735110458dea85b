"""Celery tasks of the workflows app. Thin: parse the arguments, call one service."""

from datetime import date

from celery import shared_task
from django.utils import timezone


@shared_task(name="workflows.signing_send_reminders", acks_late=True)
def signing_send_reminders(business_date: str | None = None) -> dict:
    """Daily (CELERY_BEAT_SCHEDULE): text a reminder for every signing appointment of the day
    after ``business_date`` (ISO date; default today in the server's time zone). Safe to re-run."""
    from .services.signing import signing_send_reminders as send

    day = date.fromisoformat(business_date) if business_date else timezone.localdate()
    return send(business_date=day)


@shared_task(name="workflows.documents_sweep", acks_late=True)
def documents_sweep() -> dict:
    """Daily (beat, entry ``workflows.documents-sweep``): delete stored document files that no
    document row names, once older than ``WORKFLOW_DOCUMENT_ORPHAN_HOURS``. Safe to re-run."""
    from dataclasses import asdict

    from .services.documents import documents_sweep_orphans

    return asdict(documents_sweep_orphans())


# --- The credit flow: the Celery job node and SLA escalation ---------------------------------------

# Eager mode re-runs a job that asked to be retried at once, at most this many times.
EAGER_JOB_ROUNDS = 20


# No result is stored: nothing waits for one, and the backend write costs every application.
@shared_task(bind=True, name="workflows.job_run", acks_late=True, max_retries=None, ignore_result=True)
def job_run(self, task_pk: int, attempt: int = 0, process_pk: int | None = None, node: str | None = None):
    """Run one ``CeleryJob`` flow task (dispatched on commit by ``workflows.nodes``, naming its
    process and node; a message without them has them read). Safe to run twice: a task already
    finished or cancelled is left alone."""
    from .nodes import JobRetry, run_job

    where = {"process_pk": process_pk, "node": node} if process_pk is not None and node else {}
    for _round in range(EAGER_JOB_ROUNDS):
        try:
            run_job(task_pk, attempt=attempt, **where)
        except JobRetry as exc:
            if not self.request.is_eager:
                raise self.retry(args=[task_pk], kwargs={"attempt": exc.attempt, **where},
                                 countdown=exc.countdown) from exc
            # Eager (development, tests): there is no broker to come back later, so run again now.
            attempt = exc.attempt
            continue
        return task_pk
    return None


@shared_task(name="workflows.sla_escalate", acks_late=True, ignore_result=True)
def sla_escalate() -> int:
    """Beat: escalate every open task past its SLA to its work group's lead, once."""
    from .services.dispatch import sla_escalate_overdue

    return sla_escalate_overdue()


# --- Batch entry (批量录入) and quality inspection (抽样质检) -------------------------------------------


@shared_task(bind=True, name="workflows.batch_import_run", acks_late=True)
def batch_import_run(self, batch_id: int) -> dict:
    """Import the next chunk (``WORKFLOW_BATCH_CHUNK_SIZE`` rows) of batch ``batch_id`` and queue
    the chunk after it, so a large file neither runs into the task time limit nor holds a worker
    for long. Safe to deliver twice: every row is taken once, under the job's row lock."""
    from django.conf import settings

    from .services.batch import batch_import_process

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
    from datetime import timedelta

    from .services.quality import quality_sample as sample

    day = date.fromisoformat(business_date) if business_date else timezone.localdate() - timedelta(days=1)
    result = sample(business_date=day)
    return {"business_date": day.isoformat(), "approvals": result.approvals, "sampled": result.sampled}
