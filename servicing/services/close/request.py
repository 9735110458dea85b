"""Starting the daily close (日终) from the back office: an authorised person
(``servicing.run_close``) closes the current business date on the Celery workers, as the nightly
beat entry does. Starting it while the date's run is unfinished resumes that run (its chunks not
yet done are queued again; a chunk done is never done twice)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from creditfactory.core.tasks import enqueue_on_commit
from servicing.models import CloseRun
from servicing.services.calendar import business_date
from servicing.tasks import close_day_task

from .run import close_run_start

__all__ = ["RUN_PERMISSION", "close_run_request"]

RUN_PERMISSION = "servicing.run_close"


@transaction.atomic
def close_run_request(*, actor) -> CloseRun:
    """Start (or resume) the close of the current business date, recorded as started by
    ``actor``; its chunks are queued for the workers once this commits. Returns the run."""
    if not getattr(actor, "pk", None) or not actor.has_perm(RUN_PERMISSION):
        raise PermissionDenied(_("You may not start the daily close."))
    current = business_date()
    run, _chunks = close_run_start(business_date=current, actor=actor)
    # The task resumes the run just recorded (close_run_start finds it running) and fans it out.
    enqueue_on_commit(close_day_task, on_date=current.isoformat())
    return run
