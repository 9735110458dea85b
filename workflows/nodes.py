"""Flow nodes of our own, built on viewflow's public node API (viewflow stays unmodified).

* ``CeleryJob`` — a background job run by a Celery worker (the open-source wheel has no Celery
  node). The task row is created and the job (``workflows.jobs.job_run``) dispatched with
  ``transaction.on_commit``; the worker takes the process lock briefly to start the task,
  computes with **no lock and no transaction held** (bureau calls take seconds), then takes the
  lock again to apply the result and ``execute()`` (``workflows.jobs.run_job``). An exception
  marks the task ERROR through ``activation.error(exc)``, which fires an ``.OnError(...)``
  boundary. ``FlowLockFailed`` and ``JobRetry`` become Celery retries.
* ``QueueView`` — a human task whose claim and execute rights follow the work group stored on
  the task (``owner_permission_obj``), not a callable re-evaluated later: an admin re-routing a
  node must not take a pending task away from the queue it was created in. It also supports
  ``FourEyes``: users who may never take the task (e.g. the reviewer of an approval).
* ``Wait`` — a Handle (resumed by a service) with an ``onCreate`` hook, like ``View`` has.
* Thin subclasses of the stock nodes whose task pages honour branch scoping.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils.timezone import now
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.base import Edge
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.flow import mixins as flow_mixins
from viewflow.workflow.flow import views as flow_views
from viewflow.workflow.nodes import AbstractJob, AbstractJobActivation
from viewflow.workflow.flow.nodes import ErrorBoundary
from viewflow.workflow.nodes.handle import HandleActivation
from viewflow.workflow.signals import flow_finished, flow_started, task_finished, task_started
from viewflow.workflow.status import STATUS

from creditfactory.organisations.scoping import scope_queryset, sees_all_branches

from .fastpath import error_boundaries_disarm, open_tasks_count, process_save
from .jobs import job_run
from .locks import new_process_round
from .models import CreditApplication

__all__ = ["NewProcessStartHandle", "OnceEnd", "OnceFunction", "deferred_create", "BranchingFunction", "BranchingJob", "BranchingWait", "CeleryJob", "End", "Function", "If", "QueueView",
           "StartHandle", "Switch", "Wait", "process_in_scope"]


# --- branch-scoped task pages ----------------------------------------------------------------------


def process_in_scope(user, process_id) -> bool:
    """Whether ``user`` may see the application of the process ``process_id`` (its branch is one
    of theirs, ``organisations.scoping``). A process with no id yet (a start) exposes nothing."""
    if process_id is None or sees_all_branches(user):
        return True
    return scope_queryset(CreditApplication.objects.filter(process_id=process_id), user).exists()


# Every right viewflow's frontend asks a node for before it shows or changes a task: the task
# pages (detail, assign, unassign, reassign, execute, undo, cancel, revive), the bulk assign and
# unassign of the queue and inbox, and our own services (claim, decide, reassign).
SCOPED_RIGHTS = ("can_view", "can_assign", "can_unassign", "can_execute", "can_undo", "can_cancel", "can_revive")


def _scoped_right(name: str):
    def right(self, user, task=None):
        parent = getattr(super(ScopedNodeMixin, self), name, None)
        if parent is None or not parent(user, task):
            return False
        return task is None or process_in_scope(user, task.process_id)

    right.__name__ = name
    right.__doc__ = f"viewflow's ``{name}``, and only on an application of the user's branches."
    return right


class ScopedNodeMixin:
    """Branch scoping of every node: each right is the node's own and the task's application
    belongs to a branch the user may see. Put first in the bases, so it wraps the node's rights
    (a user of another branch gets 403 from every task page, whatever the node allows)."""


for _name in SCOPED_RIGHTS:
    setattr(ScopedNodeMixin, _name, _scoped_right(_name))


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
        error_boundaries_disarm(self.flow_class.task_class, boundary_ref=get_task_ref(self),
                                process_pk=host_task.process_id, host_task_pk=host_task.pk)


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


# --- human tasks and waiting points ----------------------------------------------------------------


def _is_owner(task, user) -> bool:
    return bool(task.owner_id) and user is not None and task.owner_id == getattr(user, "pk", None)


class _QueueNode(flow.View):
    """A human task in a work group's queue (see the module docstring); scoped in ``QueueView``."""

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


class QueueView(ScopedNodeMixin, _QueueNode):
    """A human task in a work group's queue, branch-scoped."""


def linked_create(activation_class, flow_task, prev_activation, token, data=None, seed=None):
    """viewflow's ``Activation.create`` (the task saved, then linked to the previous task) with the
    INSERT and the link in one statement (``FlowTask.insert_linked``)."""
    task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token)
    task.data = data if data is not None else {}
    task.seed = seed
    if hasattr(task, "insert_linked"):
        task.insert_linked(previous=prev_activation.task)
    else:
        task.save()
        task.previous.add(prev_activation.task)
    return activation_class(task)


class WaitActivation(HandleActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        activation = linked_create(cls, flow_task, prev_activation, token, data=data, seed=seed)
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


# --- tasks inserted once ------------------------------------------------------------------------------


def deferred_create(activation_class, flow_task, prev_activation, token, data=None, seed=None, **fields):
    """``Activation.create`` without the INSERT: the task is inserted at its first save, with the
    status it has by then, and linked to the previous task then (``FlowTask.defer_insert``). For
    nodes that complete, schedule or fail in the round that creates them (never a waiting one)."""
    task = flow_task.flow_class.task_class(process=prev_activation.process, flow_task=flow_task, token=token,
                                           **fields)
    task.data = data if data is not None else {}
    task.seed = seed
    task.defer_insert(previous=prev_activation.task)
    return activation_class(task)


# --- branching nodes -------------------------------------------------------------------------------


def _branch_create_next(activation):
    """``create_next`` of a branching node's activation: the first case whose condition holds, else
    the default. (Defined on each activation class: viewflow looks the overridden transition up
    past the class that overrides it.)"""
    yield activation.flow_task.branch_next(activation)._create(activation, activation.task.token)


class BranchingMixin:
    """A node that picks the next node itself, as a ``Switch`` after it would, with no Switch task:
    ``.Case(node, cond)`` … ``.Default(node)`` instead of ``.Next(node)``. The conditions are asked
    when the node completes, in its round and transaction (where a Switch right after it would have
    been activated), with the node's own activation (``cond(activation) -> bool``). The Switch's
    activation, its task row, its ``previous`` link and its savepoint are saved on every process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._cases = []

    def Case(self, node, cond):  # noqa: N802 - viewflow's fluent style
        self._cases.append((node, cond))
        return self

    def Default(self, node):  # noqa: N802 - viewflow's fluent style
        self._cases.append((node, None))
        return self

    def _resolve(self, instance):
        super()._resolve(instance)
        self._cases = [(this.resolve(instance, node), this.resolve(instance, cond)) for node, cond in self._cases]

    def _outgoing(self):
        for node, cond in self._cases:
            yield Edge(src=self, dst=node, edge_class="cond_true" if cond else "default")

    def branch_next(self, activation):
        for node, cond in self._cases:
            if cond is None or cond(activation):
                return node
        raise FlowRuntimeError(f"No next task available for {self.name}")


class BranchingJobActivation(CeleryJobActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        # Inserted when ``activate`` schedules it, in the same round (SCHEDULED at once).
        return deferred_create(cls, flow_task, prev_activation, token, data=data, seed=seed,
                               external_task_id=str(uuid.uuid4()))

    @Activation.status.super()
    def create_next(self):
        return _branch_create_next(self)


class BranchingJob(BranchingMixin, CeleryJob):
    """A ``CeleryJob`` that branches (``BranchingMixin``)."""

    activation_class = BranchingJobActivation


class BranchingFunctionActivation(flow.Function.activation_class):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        return deferred_create(cls, flow_task, prev_activation, token, data=data, seed=seed)

    @Activation.status.super()
    def create_next(self):
        return _branch_create_next(self)


class BranchingFunction(BranchingMixin, flow.Function):
    """viewflow's ``Function`` that branches (``BranchingMixin``)."""

    activation_class = BranchingFunctionActivation


class BranchingWaitActivation(WaitActivation):
    @Activation.status.super()
    def create_next(self):
        return _branch_create_next(self)


class BranchingWait(BranchingMixin, Wait):
    """A ``Wait`` that branches (``BranchingMixin``): resumed by a service, it goes on to the case
    its conditions pick."""

    activation_class = BranchingWaitActivation


# --- a start without the lock round --------------------------------------------------------------------


class NewProcessStartActivation(flow.StartHandle.activation_class):
    @Activation.status.super()
    def execute(self):
        """As viewflow's: the process saved, then the start completed and the next nodes activated —
        in the caller's transaction (one if there is none) and without the process lock: the row
        was inserted a moment ago by this transaction (``workflows.locks.new_process_round``)."""
        task_started.send(sender=self.flow_class, process=self.process, task=self.task)
        with transaction.atomic(savepoint=False):
            process_save(self.process)
            with new_process_round():
                self.complete()
                flow_started.send(sender=self.flow_class, process=self.process, task=self.task)
                self.activate_next()


class NewProcessStartHandle(flow.StartHandle):
    """viewflow's ``StartHandle`` whose start round takes no lock and no savepoint
    (``NewProcessStartActivation``): two statements fewer per process and a savepoint less."""

    activation_class = NewProcessStartActivation


class OnceFunctionActivation(flow.Function.activation_class):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        return deferred_create(cls, flow_task, prev_activation, token, data=data, seed=seed)


class OnceFunction(flow.Function):
    """viewflow's ``Function`` whose task row is inserted once, done (``deferred_create``)."""

    activation_class = OnceFunctionActivation


class OnceEndActivation(flow.End.activation_class):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        return deferred_create(cls, flow_task, prev_activation, token, data=data, seed=seed)

    @Activation.status.super()
    def activate(self):
        """viewflow's ``End.activate``, its two statements (the open tasks counted, the finished
        process saved) prebuilt (``workflows.fastpath``): every process ends here."""
        with self.exception_guard(), transaction.atomic(savepoint=True):
            self.task.started = now()
            task_started.send(sender=self.flow_class, process=self.process, task=self.task)
            active_tasks_count = open_tasks_count(self.flow_class.task_class, process_pk=self.process.pk,
                                                  other_than=self.task.pk)
            if active_tasks_count == 0:
                self.process.status = STATUS.DONE
                self.process.finished = now()
                process_save(self.process)
            task_finished.send(sender=self.flow_class, process=self.process, task=self.task)
            if active_tasks_count == 0:
                flow_finished.send(sender=self.flow_class, process=self.process, task=self.task)


class OnceEnd(flow.End):
    """viewflow's ``End`` whose task row is inserted once, done (``deferred_create``)."""

    activation_class = OnceEndActivation
