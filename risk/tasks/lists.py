"""Risk tasks: the CSV import of list entries (thin: the work is in ``risk.services.lists``)."""

from celery import shared_task

from risk.services.lists import list_import_process

__all__ = ["list_import_run"]


@shared_task(name="risk.list_import_run", acks_late=True)
def list_import_run(job_id: int) -> dict:
    """Run or resume list import ``job_id``; safe to deliver twice."""
    job = list_import_process(job_id=job_id)
    return {"job": job.pk, "status": job.status, "accepted": job.accepted, "rejected": job.rejected}
