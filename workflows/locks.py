"""Every lock the workflows app takes, by name (Saleor's ``lock_objects`` idea): the credit flow's
process lock and what may be remembered while it is held, the application's row, and the rows and
counters of remote signing, batch imports, quality inspections and task deadlines. Nothing else
in workflows calls ``select_for_update`` or claims a row with a conditional UPDATE.

``ProcessLock(select_for_update_lock)`` is viewflow's own ``select_for_update`` lock (``SELECT …
FOR UPDATE NOWAIT`` on the process row, retried with back-off, ``FlowLockFailed`` at the end),
unchanged, with a memo for the round it guards.

While it is held, the round's steps run in one transaction that already holds the application's
row lock after the first ``application_lock``; rows read in that round cannot change under
them except through the round itself. ``round_memo()`` gives the innermost held lock's dict, in
which the steps keep such rows (the locked application, a work group) instead of reading them
again for every node of the round. It is dropped with the lock: the next round reads afresh.

Order: the process lock first, then the application's row (``application_flow_lock``), the order
the flow's own nodes take them in, so two writers never wait on each other crosswise. Remote
signing locks the application before its slot, and two slots in id order.
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager, nullcontext

from django.db import DatabaseError, transaction
from django.db.models import F
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.lock import SelectForUpdateLock, select_for_update_lock

from .fastpath import LOCKED_APPLICATION, process_data_save, process_row_lock
from .models import BatchImport, CreditApplication, QualityInspection, SigningAppointment, SigningSlot, TaskSla

__all__ = ["PROCESS_LOCK", "ProcessLock", "appointment_lock", "application_flow_lock", "application_lock",
           "application_signing_lock", "batch_import_lock", "quality_inspection_lock", "reminder_claim",
           "new_process_round", "round_cached", "round_memo", "round_process_data_save", "signing_slot_lock", "signing_slot_release", "signing_slot_take",
           "signing_slots_lock", "sla_escalation_claim"]

_held = threading.local()


def round_memo() -> dict | None:
    """The memo of the innermost process lock held by this thread, or None without one."""
    stack = getattr(_held, "stack", None)
    return stack[-1] if stack else None


def round_cached(key, load):
    """``load()``, once per locked round for ``key`` (every time outside a round)."""
    memo = round_memo()
    if memo is None:
        return load()
    if key not in memo:
        memo[key] = load()
    return memo[key]


class ProcessLock:
    """Wraps a viewflow lock (``viewflow.workflow.lock.select_for_update_lock`` for every flow
    here): the wrapped lock is taken exactly as viewflow takes it, and a fresh memo is pushed
    for as long as it is held."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    @contextmanager
    def __call__(self, flow_class, process_pk):
        with self.wrapped(flow_class, process_pk):
            stack = getattr(_held, "stack", None)
            if stack is None:
                stack = _held.stack = []
            stack.append({})
            try:
                yield
                _flush_process_data(stack[-1])
            finally:
                stack.pop()


_DIRTY = "process_data_dirty"


def round_process_data_save(process) -> None:
    """``process.data`` saved once at the end of the locked round (``workflows.fastpath.
    process_data_save``), however many steps of the round change it; at once outside a round. A
    round that finishes or cancels the process saves it whole (viewflow's ``process.save()``),
    data included, so nothing more is written then. A round that fails writes nothing (its
    transaction rolls back)."""
    memo = round_memo()
    if memo is None:
        process_data_save(process)
        return
    memo.setdefault(_DIRTY, {})[id(process)] = process


def _flush_process_data(memo: dict) -> None:
    for process in memo.pop(_DIRTY, {}).values():
        if process.finished is None:  # an End or a cancel saved it whole already
            process_data_save(process)


@contextmanager
def new_process_round():
    """The round that starts a process whose row this transaction has just inserted: nobody else
    can see the row before the commit, let alone move the process, so viewflow's lock (a
    savepoint and ``SELECT … FOR UPDATE NOWAIT``) would guard nothing. The round's memo, as under
    the lock (``round_cached``, ``round_process_data_save``). Must run in that transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("new_process_round runs in the transaction that inserted the process")
    stack = getattr(_held, "stack", None)
    if stack is None:
        stack = _held.stack = []
    stack.append({})
    try:
        yield
        _flush_process_data(stack[-1])
    finally:
        stack.pop()


class PrebuiltSelectForUpdateLock(SelectForUpdateLock):
    """viewflow's ``SelectForUpdateLock`` (``SELECT … FOR UPDATE NOWAIT`` on the process row in a
    transaction, retried with viewflow's back-off, ``FlowLockFailed`` after the last attempt), its
    statement built once per process (``workflows.fastpath.process_row_lock``) instead of a
    queryset compiled for every round."""

    @contextmanager
    def __call__(self, flow_class, process_pk):
        for attempt in range(self.attempts):
            with transaction.atomic():
                try:
                    process_row_lock(flow_class.process_class, process_pk)
                except DatabaseError:
                    if attempt != self.attempts - 1:
                        time.sleep((((attempt + 1) * random.random()) + 2**attempt) / 2.5)
                    else:
                        raise FlowLockFailed(f"Lock failed for {flow_class}") from None
                else:
                    yield
                    break


# Every flow's ``lock_impl``: viewflow's select_for_update lock (without it a Split/Join gets
# stuck), its statement prebuilt, with a memo of the rows a locked round has read.
PROCESS_LOCK = ProcessLock(PrebuiltSelectForUpdateLock(nowait=True, attempts=select_for_update_lock.attempts))


# --- the application -------------------------------------------------------------------------------------


def application_lock(application_id: int) -> CreditApplication:
    """The application's row, locked, with its product version, product and partner (one prebuilt
    statement, ``workflows.fastpath``). Under the process lock the row is read once per locked round
    (``round_cached``): every later step of the round gets the same instance, which holds the
    round's own changes. Outside a round it is read afresh every time."""

    def load():
        application = LOCKED_APPLICATION.get(application_id)
        if application is None:
            raise CreditApplication.DoesNotExist(f"No credit application {application_id}.")
        application.product_code = application.product_version.product.code
        return application

    return round_cached(("application", application_id), load)


@contextmanager
def application_flow_lock(flow_class, application_id: int):
    """``flow_class``'s process lock on the application's process (when it has one), then the
    application's row in a transaction: yields the locked application. ``FlowLockFailed``
    (another request is moving the same process) propagates: try again."""
    process_id = CreditApplication.objects.values_list("process_id", flat=True).get(pk=application_id)
    with (flow_class.lock(process_id) if process_id else nullcontext()), transaction.atomic():
        yield application_lock(application_id)


def application_signing_lock(application_id: int) -> CreditApplication:
    """The application's row (with its branch, read, not locked), while an appointment is booked:
    one booking at a time per application."""
    # of=("self",): the joined branch row must not be locked, or every booking of a branch queues.
    return CreditApplication.objects.select_for_update(of=("self",)).select_related("branch").get(pk=application_id)


# --- remote signing ----------------------------------------------------------------------------------------


def appointment_lock(appointment_id: int) -> SigningAppointment:
    """A signing appointment (its row alone) with its schedule."""
    return (SigningAppointment.objects.select_for_update(of=("self",)).select_related("schedule")
            .get(pk=appointment_id))


def signing_slot_lock(*, schedule, start) -> SigningSlot:
    """The counter row of ``schedule``'s slot starting at ``start``."""
    return SigningSlot.objects.select_for_update().get(schedule=schedule, start=start)


def signing_slots_lock(*, schedule, starts) -> list[SigningSlot]:
    """The counter rows of several slots of ``schedule``, locked in id order (two appointments
    swapping slots cannot deadlock)."""
    return list(SigningSlot.objects.select_for_update().filter(schedule=schedule, start__in=starts).order_by("pk"))


def signing_slot_take(slot_id: int, *, capacity: int) -> bool:
    """One more booking of the slot if a place is left (``booked < capacity``); False when full."""
    return bool(SigningSlot.objects.filter(pk=slot_id, booked__lt=capacity).update(booked=F("booked") + 1))


def signing_slot_release(slot_id: int) -> None:
    """Give a booked place of the slot back (never below zero)."""
    SigningSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def reminder_claim(appointment: SigningAppointment, *, statuses, now) -> bool:
    """Claim the reminder of an appointment still active (one of ``statuses``) at the same time and
    not reminded yet, by setting ``reminder_sent_at``; False when someone else did (or it moved)."""
    return bool(SigningAppointment.objects.filter(
        pk=appointment.pk, reminder_sent_at__isnull=True, status__in=statuses, slot_start=appointment.slot_start,
    ).update(reminder_sent_at=now))


# --- batch imports, quality inspections, task deadlines -------------------------------------------------------


def batch_import_lock(batch_id: int) -> BatchImport:
    """A batch import (its row alone) with the officer and branch it was made by: one row at a time."""
    # of=("self",): the officer's user row and the branch row are read, not locked.
    return BatchImport.objects.select_for_update(of=("self",)).select_related("created_by", "branch").get(pk=batch_id)


def quality_inspection_lock(inspection_id: int) -> QualityInspection:
    """A quality inspection (its row alone) with its application."""
    return (QualityInspection.objects.select_for_update(of=("self",)).select_related("application")
            .get(pk=inspection_id))


def sla_escalation_claim(sla_id: int, *, now, lead_id: int | None) -> bool:
    """Claim the escalation of a task deadline not escalated yet; False when it was already."""
    return bool(TaskSla.objects.filter(pk=sla_id, escalated_at__isnull=True).update(
        escalated_at=now, escalated_to_id=lead_id))
