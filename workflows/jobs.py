"""The worker side of the Celery job node (``workflows.nodes.CeleryJob``): the ``workflows.job_run``
Celery task the node sends on commit, and ``run_job``, which it runs.

A job runs in three steps: under the process lock it starts the task (``on_start``); with **no
lock and no transaction held** it computes (bureau calls take seconds); under the lock again it
applies the result (``on_result``) and ``execute()``s the task, which moves the flow on. An
exception marks the task ERROR through ``activation.error(exc)``, which fires the node's
``.OnError(...)`` boundary. A busy lock (``FlowLockFailed``) or a compute asking for it
(``JobRetry``) makes the Celery task retry later.

Nothing here knows a particular flow: the message names the process and the node (its viewflow
reference), and the node carries the callables.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.fields import import_task_by_ref
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from creditfactory.core.pii import mask_text

from .fastpath import task_with_process

logger = logging.getLogger(__name__)

__all__ = ["EAGER_JOB_ROUNDS", "JobRetry", "job_run", "run_job"]

# Eager mode re-runs a job that asked to be retried at once, at most this many times.
EAGER_JOB_ROUNDS = 20


class JobRetry(Exception):
    """Raised by a job's compute function (or the runner) to run the job again later."""

    def __init__(self, *, countdown: int, attempt: int, reason: str = ""):
        super().__init__(reason or f"retry in {countdown}s")
        self.countdown, self.attempt = countdown, attempt


def _lock_countdown() -> int:
    return settings.WORKFLOW_JOB_LOCK_RETRY_SECONDS


def _locked_activation(task_class, task_pk):
    """The job task's activation, the task read with its process in one statement (twice per
    application: ``workflows.fastpath``)."""
    task = task_with_process(task_class, task_pk)
    if task is None:
        return None
    return task.flow_task.activation_class(task)


def _record_error(flow_class, process_pk, task_pk, exc: Exception, attempt: int) -> None:
    """Mark the task ERROR (firing its .OnError boundary) in a transaction of its own."""
    try:
        with flow_class.lock(process_pk):
            activation = _locked_activation(flow_class.task_class, task_pk)
            if activation is not None and activation.error.can_proceed():
                on_error = getattr(activation.flow_task, "_on_error", None)
                if on_error is not None:
                    on_error(activation, exc)
                activation.error(exc)
                _scrub(activation.task)
    except FlowLockFailed:
        raise JobRetry(countdown=_lock_countdown(), attempt=attempt, reason="lock busy") from exc


def _scrub(task) -> None:
    """viewflow keeps the failing frame's local variables with the error: drop them and mask the
    message and traceback, so no identifier of an applicant is stored in the task's data."""
    details = (task.data or {}).get("_exception")
    if details:
        details["locals"] = {}
        details["title"] = mask_text(details.get("title", ""))
        details["traceback"] = mask_text(details.get("traceback", ""))
        task.save(update_fields=["data"])


def _where(task_pk: int, process_pk: int | None, node: str | None):
    """(process id, flow node) of a job task: from the message when it names them (every message
    sent since they were added), else read."""
    if process_pk is not None and node:
        try:
            flow_task = import_task_by_ref(node)
        except (ImportError, AssertionError, AttributeError, ValueError):
            flow_task = None
        if flow_task is not None:
            return process_pk, flow_task
        logger.warning("job task %s names an unknown node %r: reading it", task_pk, node)
    row = Task._default_manager.filter(pk=task_pk).values_list("process_id", "flow_task").first()
    return (None, None) if row is None else row


def run_job(task_pk: int, *, attempt: int = 0, process_pk: int | None = None, node: str | None = None):
    """The worker side of a ``CeleryJob`` task (called by the ``workflows.job_run`` Celery task).

    ``process_pk`` and ``node`` (``get_task_ref`` of the job node), as the message carries them,
    say which flow's lock to take; the task itself is read under the lock. Returns the compute
    result, or ``None`` when there was nothing (more) to do. Raises ``JobRetry`` when the job
    must run again later (lock busy, or the compute asked for it).
    """
    process_pk, flow_task = _where(task_pk, process_pk, node)
    if flow_task is None:
        logger.warning("job task %s no longer exists", task_pk)
        return None
    flow_class = flow_task.flow_class

    # 1. start, under the lock
    try:
        with flow_class.lock(process_pk):
            activation = _locked_activation(flow_class.task_class, task_pk)
            if activation is None or activation.task.process_id != process_pk:
                return None  # gone (or not the process the message named)
            if not activation.start.can_proceed():
                return None  # finished, cancelled or failed meanwhile
            activation.start()
            if flow_task._on_start is not None:
                flow_task._on_start(activation)
    except FlowLockFailed as exc:
        raise JobRetry(countdown=_lock_countdown(), attempt=attempt, reason="lock busy") from exc

    # 2. compute, with no lock and no transaction held
    try:
        result = flow_task._compute(activation, attempt=attempt)
    except JobRetry:
        raise
    except Exception as exc:  # noqa: BLE001 - recorded on the task, routed by .OnError
        logger.warning("job task %s failed: %s", task_pk, exc)
        _record_error(flow_class, process_pk, task_pk, exc, attempt)
        return None

    # 3. apply the result and move on, under the lock again
    try:
        with flow_class.lock(process_pk):
            activation = _locked_activation(flow_class.task_class, task_pk)
            if activation is None or activation.task.status != STATUS.STARTED:
                return None  # cancelled (e.g. withdrawn) while computing
            if flow_task._on_result is not None:
                flow_task._on_result(activation, result)
            activation.execute()
    except FlowLockFailed as exc:
        raise JobRetry(countdown=_lock_countdown(), attempt=attempt, reason="lock busy") from exc
    except Exception as exc:  # noqa: BLE001
        logger.warning("job task %s could not apply its result: %s", task_pk, exc)
        _record_error(flow_class, process_pk, task_pk, exc, attempt)
        return None
    return result


# No result is stored: nothing waits for one, and the backend write costs every application.
@shared_task(bind=True, name="workflows.job_run", acks_late=True, max_retries=None, ignore_result=True)
def job_run(self, task_pk: int, attempt: int = 0, process_pk: int | None = None, node: str | None = None):
    """Run one ``CeleryJob`` flow task (dispatched on commit by ``workflows.nodes``, naming its
    process and node; a message without them has them read). Safe to run twice: a task already
    finished or cancelled is left alone. Thin: ``run_job`` does the work."""
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
