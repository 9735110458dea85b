"""Writes to the organisation: branches, staff membership, work groups and queue rights."""

from django.db import transaction
from guardian.shortcuts import assign_perm, get_perms, remove_perm

from .models import AssignmentPolicy, Branch, StaffProfile, WorkGroup

WORK_ON_QUEUE = "organisations.work_on_queue"


@transaction.atomic
def branch_create(*, code: str, name: str, parent: Branch | None = None) -> Branch:
    if parent is None:
        return Branch.objects.add_root({"code": code, "name": name})
    return Branch.objects.add_child(Branch.objects.get(pk=parent.pk), {"code": code, "name": name})


@transaction.atomic
def staff_join_branch(*, user, branch: Branch) -> StaffProfile:
    profile, _created = StaffProfile.objects.get_or_create(user=user)
    profile.branches.add(branch)
    return profile


@transaction.atomic
def work_group_create(
    *, code: str, name: str, branch: Branch, policy: str = AssignmentPolicy.CLAIM, lead=None, members=()
) -> WorkGroup:
    work_group = WorkGroup.objects.create(code=code, name=name, branch=branch, policy=policy, lead=lead)
    for user in members:
        work_group_add_member(work_group=work_group, user=user)
    if lead is not None:
        work_group_add_member(work_group=work_group, user=lead)
    return work_group


@transaction.atomic
def work_group_add_member(*, work_group: WorkGroup, user) -> None:
    work_group.members.add(user)
    assign_perm(WORK_ON_QUEUE, user, work_group)


@transaction.atomic
def work_group_remove_member(*, work_group: WorkGroup, user) -> None:
    work_group.members.remove(user)
    if "work_on_queue" in get_perms(user, work_group) and user.pk != work_group.lead_id:
        remove_perm(WORK_ON_QUEUE, user, work_group)


@transaction.atomic
def work_group_grant_queue(*, work_group: WorkGroup, user_or_group) -> None:
    """Let a user or a whole role (auth group) work on the queue without being a member."""
    assign_perm(WORK_ON_QUEUE, user_or_group, work_group)


@transaction.atomic
def work_group_revoke_queue(*, work_group: WorkGroup, user_or_group) -> None:
    remove_perm(WORK_ON_QUEUE, user_or_group, work_group)


@transaction.atomic
def work_group_sync_member_permissions(*, work_group: WorkGroup, previous_member_ids=frozenset()) -> None:
    """After an admin edited the member list: members and the lead hold the queue permission,
    removed members lose the one they got by membership."""
    current = set(work_group.members.values_list("pk", flat=True))
    if work_group.lead_id:
        current.add(work_group.lead_id)
    for user in work_group.members.model.objects.filter(pk__in=current):
        assign_perm(WORK_ON_QUEUE, user, work_group)
    for user in work_group.members.model.objects.filter(pk__in=set(previous_member_ids) - current):
        remove_perm(WORK_ON_QUEUE, user, work_group)
