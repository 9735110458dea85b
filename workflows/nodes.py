"""Flow nodes of our own, built on viewflow's public node API (viewflow stays unmodified).

* ``CeleryJob`` — a background job run by a Celery worker (the open-source wheel has no Celery
  node). The task row is created and the job dispatched with ``transaction.on_commit``; the
  worker takes the process lock briefly to start the task, computes with **no lock and no
  transaction held** (bureau calls take seconds), then takes the lock again to apply the result
  and ``execute()``. An exception marks the task ERROR through ``activation.error(exc)``, which
  fires an ``.OnError(...)`` boundary. ``FlowLockFailed`` and ``JobRetry`` become Celery retries.
* ``QueueView`` — a human task whose claim and execute rights follow the work group stored on
  the task (``owner_permission_obj``), not a callable re-evaluated later: an admin re-routing a
  node must not take a pending task away from the queue it was created in. It also supports
  ``FourEyes``: users who may never take the task (e.g. the reviewer of an approval).
* ``Wait`` — a Handle (resumed by a service) with an ``onCreate`` hook, like ``View`` has.
* Thin subclasses of the stock nodes whose task pages honour branch scoping.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.conf import settings
from django.db import connection, transaction
from django.utils.timezone import now
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.fields import get_task_ref, import_task_by_ref
from viewflow.workflow.flow import mixins as flow_mixins
from viewflow.workflow.flow import views as flow_views
from viewflow.workflow.nodes import AbstractJob, AbstractJobActivation
from viewflow.workflow.flow.nodes import ErrorBoundary
from viewflow.workflow.nodes.handle import HandleActivation
from viewflow.workflow.status import STATUS

from creditfactory.core.pii import mask_text
from creditfactory.core.rows import RowReader
from creditfactory.organisations.scoping import scope_queryset

logger = logging.getLogger(__name__)

__all__ = ["CeleryJob", "End", "Function", "If", "JobRetry", "QueueView", "StartHandle", "Switch", "Wait",
           "run_job"]


class JobRetry(Exception):
    """Raised by a job's compute function (or the runner) to run the job again later."""

    def __init__(self, *, countdown: int, attempt: int, reason: str = ""):
        super().__init__(reason or f"retry in {countdown}s")
        self.countdown, self.attempt = countdown, attempt


# --- branch-scoped task pages ----------------------------------------------------------------------


class ScopedNodeMixin:
    """A task page is visible to users who may see the application's branch."""

    def can_view(self, user, task):
        if not super().can_view(user, task):
            return False
        from .models import CreditApplication

        return scope_queryset(CreditApplication.objects.filter(process_id=task.process_id), user).exists()


class StartHandle(ScopedNodeMixin, flow.StartHandle):
    pass


class Function(ScopedNodeMixin, flow.Function):
    pass


class Switch(ScopedNodeMixin, flow.Switch):
    pass


class If(ScopedNodeMixin, flow.If):
    pass


class End(ScopedNodeMixin, flow.End):
    pass


# --- Celery job ------------------------------------------------------------------------------------


class CeleryJobActivation(AbstractJobActivation):
    @Activation.status.transition(source=STATUS.NEW, target=STATUS.SCHEDULED)
    def activate(self):
        """Persist SCHEDULED and send the job once the creating transaction commits."""
        self.task.save(update_fields=["status"])  # the row was inserted a moment ago by create()
        from .tasks import job_run

        # The message names the node and the process, so the worker takes the right lock without
        # reading the task first.
        task_id, external_id = self.task.pk, self.task.external_task_id
        where = {"process_pk": self.task.process_id, "node": get_task_ref(self.flow_task)}
        transaction.on_commit(lambda: job_run.apply_async(args=[task_id], kwargs=where, task_id=external_id))

    @Activation.status.transition(source=[STATUS.SCHEDULED, STATUS.STARTED], target=STATUS.STARTED)
    def start(self):
        # As viewflow's, saving only what it changes (the status is set before the call).
        self.task.started = now()
        self.task.save(update_fields=["status", "started"])

    @Activation.status.transition(
        source=[STATUS.NEW, STATUS.SCHEDULED, STATUS.STARTED, STATUS.ERROR], target=STATUS.CANCELED
    )
    def cancel(self):
        # A worker still computing finds the task cancelled when it comes back and drops its result.
        self.task.finished = now()
        self.task.save()


class JobErrorBoundary(ErrorBoundary):
    """viewflow's error boundary of a job, disarmed in one statement when the job finishes (on
    every application): viewflow reads each armed task and cancels it, which is a move from NEW
    to CANCELED that sets ``finished`` and nothing else (no hook, no signal), so a conditional
    UPDATE of the armed tasks still NEW is the same change."""

    def _on_host_finished(self, **signal_kwargs):
        host_task = signal_kwargs["task"]
        if host_task.flow_task != self._attached_to:
            return
        # The queryset update ``filter(flow_task=self, process_id=…, previous=host_task,
        # status=NEW).update(status=CANCELED, finished=now())``, its statement built once per
        # process (this runs for every application).
        with connection.cursor() as cursor:
            cursor.execute(_disarm_sql(self.flow_class.task_class), [
                STATUS.CANCELED, now(), get_task_ref(self), host_task.process_id, host_task.pk, STATUS.NEW,
            ])


@lru_cache(maxsize=None)
def _disarm_sql(task_class) -> str:
    quote = connection.ops.quote_name
    meta = task_class._meta
    previous = meta.get_field("previous").remote_field.through._meta
    table, through = quote(meta.db_table), quote(previous.db_table)
    source = quote(previous.get_field("from_task").column)  # the boundary task …
    target = quote(previous.get_field("to_task").column)  # … follows the job task
    column = {name: quote(meta.get_field(name).column) for name in ("status", "finished", "flow_task", "process")}
    return (
        f"UPDATE {table} SET {column['status']} = %s, {column['finished']} = %s "
        f"WHERE {quote(meta.pk.column)} IN (SELECT p.{source} FROM {through} p JOIN {table} t "
        f"ON t.{quote(meta.pk.column)} = p.{source} WHERE t.{column['flow_task']} = %s "
        f"AND t.{column['process']} = %s AND p.{target} = %s AND t.{column['status']} = %s)"
    )


class CeleryJob(ScopedNodeMixin, flow_mixins.NodeDetailMixin, flow_mixins.NodeReviveMixin, AbstractJob):
    """``CeleryJob(compute, on_start=None, on_result=None, on_error=None)``.

    ``compute(activation, attempt=n) -> result`` runs on the worker without the lock;
    ``on_start(activation)`` and ``on_result(activation, result)`` run under the lock, in the
    transaction that starts and completes the task; ``on_error(activation, exc)`` under the lock
    just before the task is marked ERROR (which fires ``.OnError``). All may be ``this.<method>``.
    """

    activation_class = CeleryJobActivation
    index_view_class = flow_views.IndexTaskView
    detail_view_class = flow_views.DetailTaskView
    revive_view_class = flow_views.ReviveTaskView

    def __init__(self, compute, *, on_start=None, on_result=None, on_error=None, **kwargs):
        super().__init__(**kwargs)
        self._compute, self._on_start, self._on_result = compute, on_start, on_result
        self._on_error = on_error

    def OnError(self, then, code=None, interrupting=True, title=None):  # noqa: N802 - viewflow's fluent style
        """As viewflow's ``OnError``, with ``JobErrorBoundary``."""
        boundary = JobErrorBoundary(None, code=code, interrupting=interrupting).Next(then)
        if title is not None:
            boundary.Annotation(title=title)
        self._boundary_specs.append(("error", boundary))
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._compute = this.resolve(instance, self._compute)
        self._on_start = this.resolve(instance, self._on_start)
        self._on_result = this.resolve(instance, self._on_result)
        self._on_error = this.resolve(instance, self._on_error)


def _lock_countdown() -> int:
    return settings.WORKFLOW_JOB_LOCK_RETRY_SECONDS


_TASK_READERS: dict[type, RowReader] = {}


def _locked_activation(task_class, task_pk):
    """The job task's activation, the task read with its process in one statement (twice per
    application, so the statement is built once per process: ``core.rows``)."""
    reader = _TASK_READERS.get(task_class)
    if reader is None:
        reader = _TASK_READERS[task_class] = RowReader(task_class, related=("process",))
    task = reader.get(task_pk)
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
    from viewflow.workflow.models import Task

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


# --- human tasks and waiting points ----------------------------------------------------------------


def _is_owner(task, user) -> bool:
    return bool(task.owner_id) and user is not None and task.owner_id == getattr(user, "pk", None)


class QueueView(ScopedNodeMixin, flow.View):
    """A human task in a work group's queue (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._excluded = None

    def FourEyes(self, excluded):  # noqa: N802 - viewflow's fluent style
        """``excluded(task) -> set of user ids`` who may neither claim nor execute the task."""
        self._excluded = excluded
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._excluded = this.resolve(instance, self._excluded)

    def excluded_user_ids(self, task) -> set[int]:
        return set(self._excluded(task)) if self._excluded is not None else set()

    def has_queue_permission(self, user, task) -> bool:
        """The permission stored on the task, against the work group stored on the task."""
        if user is None or not user.is_authenticated or not user.is_active:
            return False
        if not task.owner_permission:
            return True
        work_group = task.owner_permission_obj
        if work_group is not None and user.has_perm(task.owner_permission, work_group):
            return True
        return user.has_perm(task.owner_permission)

    def can_assign(self, user, task):
        if task.owner_id or user is None or user.is_anonymous:
            return False
        if user.pk in self.excluded_user_ids(task):
            return False
        return self.has_queue_permission(user, task)

    def can_execute(self, user, task):
        return _is_owner(task, user) and user.pk not in self.excluded_user_ids(task)

    def is_lead(self, user, task) -> bool:
        work_group = task.owner_permission_obj
        return bool(work_group is not None and user is not None and getattr(work_group, "lead_id", None)
                    and work_group.lead_id == user.pk)

    def can_unassign(self, user, task):
        if task.owner_id is None or user is None or user.is_anonymous:
            return False
        return _is_owner(task, user) or self.is_lead(user, task) or self.flow_class.instance.has_manage_permission(user)


class WaitActivation(HandleActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        activation = super().create(flow_task, prev_activation, token, data=data, seed=seed)
        if flow_task._on_create is not None:
            flow_task._on_create(activation)
        return activation


class Wait(ScopedNodeMixin, flow.Handle):
    """A waiting point resumed by a service (``node.run(task)``), with an ``onCreate`` hook."""

    activation_class = WaitActivation

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_create = None

    def onCreate(self, ref):  # noqa: N802 - viewflow's naming
        self._on_create = ref
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._on_create = this.resolve(instance, self._on_create)
