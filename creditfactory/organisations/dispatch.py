"""Work-order dispatch (工单模式任务派发): who gets the next task of a work group.

Policies are small strategy functions. ``claim`` assigns nobody (the task waits in the shared
queue); ``round_robin`` takes the member after the one served last; ``least_loaded`` takes the
member with the fewest open tasks (ties broken by the round-robin order). The caller supplies
the open-task counts, so this module does not depend on the workflow engine.
"""

from collections.abc import Callable, Mapping

from django.contrib.auth import get_user_model
from django.db import transaction

from .locks import work_group_lock
from .models import AssignmentPolicy, WorkGroup


def _eligible_member_ids(work_group: WorkGroup) -> list[int]:
    return sorted(work_group.members.filter(is_active=True).values_list("pk", flat=True))


def _next_after(member_ids: list[int], last_id: int | None) -> int:
    for member_id in member_ids:
        if last_id is None or member_id > last_id:
            return member_id
    return member_ids[0]


def _rotation(member_ids: list[int], last_id: int | None) -> list[int]:
    """Members in round-robin order starting after ``last_id``."""
    start = member_ids.index(_next_after(member_ids, last_id))
    return member_ids[start:] + member_ids[:start]


@transaction.atomic
def pick_assignee(*, work_group: WorkGroup, open_tasks: Callable[[list[int]], Mapping[int, int]] | None = None):
    """Choose the member to assign the next task to, or ``None`` for the shared queue.

    Locks the work group row so concurrent dispatches advance the round-robin cursor one at a
    time. ``open_tasks(member_ids)`` returns {user_id: open task count} for least-loaded.
    """
    locked = work_group_lock(work_group.pk)
    if locked.policy == AssignmentPolicy.CLAIM or not locked.is_active:
        return None
    member_ids = _eligible_member_ids(locked)
    if not member_ids:
        return None
    order = _rotation(member_ids, locked.last_assigned_user_id)
    if locked.policy == AssignmentPolicy.LEAST_LOADED:
        loads = dict(open_tasks(member_ids)) if open_tasks else {}
        chosen = min(order, key=lambda member_id: (loads.get(member_id, 0), order.index(member_id)))
    else:
        chosen = order[0]
    WorkGroup.objects.filter(pk=locked.pk).update(last_assigned_user_id=chosen)
    return get_user_model().objects.get(pk=chosen)
