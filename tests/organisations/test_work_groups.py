from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from creditfactory.organisations import services
from creditfactory.organisations.dispatch import pick_assignee
from creditfactory.organisations.models import AssignmentPolicy, WorkGroup
from tests.factories import UserFactory, make_branch, make_staff


@pytest.fixture
def branch(db):
    return make_branch("north")


def test_members_get_work_on_queue_object_permission(branch):
    alice, bob = make_staff("alice", branch), make_staff("bob", branch)
    reviewers = services.work_group_create(code="review", name="Review", branch=branch, members=[alice])
    other = services.work_group_create(code="approve", name="Approve", branch=branch)
    assert alice.has_perm("organisations.work_on_queue", reviewers)
    assert not alice.has_perm("organisations.work_on_queue", other)
    assert not bob.has_perm("organisations.work_on_queue", reviewers)


def test_removing_a_member_revokes_the_queue_permission(branch):
    alice = make_staff("alice", branch)
    work_group = services.work_group_create(code="review", name="Review", branch=branch, members=[alice])
    services.work_group_remove_member(work_group=work_group, user=alice)
    from django.contrib.auth import get_user_model

    alice = get_user_model().objects.get(pk=alice.pk)
    assert not alice.has_perm("organisations.work_on_queue", work_group)
    assert not work_group.members.filter(pk=alice.pk).exists()


def test_queue_permission_granted_to_a_role_reaches_its_users(branch):
    role = Group.objects.create(name="night shift")
    carol = make_staff("carol", branch)
    carol.groups.add(role)
    work_group = services.work_group_create(code="night", name="Night", branch=branch)
    services.work_group_grant_queue(work_group=work_group, user_or_group=role)
    assert carol.has_perm("organisations.work_on_queue", work_group)


def test_claim_policy_assigns_nobody(branch):
    work_group = services.work_group_create(
        code="q", name="Queue", branch=branch, members=[make_staff("a", branch)], policy=AssignmentPolicy.CLAIM
    )
    assert pick_assignee(work_group=work_group) is None


def test_round_robin_cycles_through_active_members_in_order(branch):
    a, b, c = make_staff("rr-a", branch), make_staff("rr-b", branch), make_staff("rr-c", branch)
    inactive = make_staff("rr-z", branch, is_active=False)
    work_group = services.work_group_create(
        code="rr", name="RR", branch=branch, members=[c, a, b, inactive], policy=AssignmentPolicy.ROUND_ROBIN
    )
    picks = [pick_assignee(work_group=work_group).username for _ in range(7)]
    assert picks == ["rr-a", "rr-b", "rr-c", "rr-a", "rr-b", "rr-c", "rr-a"]


def test_least_loaded_picks_fewest_open_tasks_then_rotates_ties(branch):
    a, b, c = make_staff("ll-a", branch), make_staff("ll-b", branch), make_staff("ll-c", branch)
    work_group = services.work_group_create(
        code="ll", name="LL", branch=branch, members=[a, b, c], policy=AssignmentPolicy.LEAST_LOADED
    )
    loads = {a.pk: 3, b.pk: 1, c.pk: 1}
    assert pick_assignee(work_group=work_group, open_tasks=lambda ids: loads).username == "ll-b"
    assert pick_assignee(work_group=work_group, open_tasks=lambda ids: loads).username == "ll-c"
    loads[c.pk] = 5
    assert pick_assignee(work_group=work_group, open_tasks=lambda ids: loads).username == "ll-b"


def test_work_group_without_members_falls_back_to_the_queue(branch):
    work_group = services.work_group_create(code="e", name="Empty", branch=branch, policy=AssignmentPolicy.ROUND_ROBIN)
    assert pick_assignee(work_group=work_group) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_round_robin_dispatch_never_hands_out_the_same_turn_twice():
    branch = make_branch("conc")
    members = [make_staff(f"cc-{i}", branch) for i in range(4)]
    work_group = services.work_group_create(
        code="cc", name="CC", branch=branch, members=members, policy=AssignmentPolicy.ROUND_ROBIN
    )

    def dispatch(_):
        try:
            return pick_assignee(work_group=WorkGroup.objects.get(pk=work_group.pk)).username
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=4) as pool:
        picks = list(pool.map(dispatch, range(8)))
    assert sorted(picks) == sorted([m.username for m in members] * 2)


def test_work_group_changes_are_kept_in_history_with_who(branch, admin_client, admin_user):
    dave = make_staff("dave", branch)
    response = admin_client.post(
        "/admin/organisations/workgroup/add/",
        {"code": "intake", "name": "Intake", "branch": branch.pk, "description": "", "is_active": "on",
         "policy": "round_robin", "lead": dave.pk, "members": [dave.pk]},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    work_group = WorkGroup.objects.get(code="intake")
    assert dave.has_perm("organisations.work_on_queue", work_group)
    admin_client.post(
        f"/admin/organisations/workgroup/{work_group.pk}/change/",
        {"code": "intake", "name": "Intake desk", "branch": branch.pk, "description": "", "is_active": "on",
         "policy": "least_loaded", "lead": "", "members": []},
    )
    history = list(work_group.history.order_by("history_id"))
    assert [h.history_user for h in history] == [admin_user] * len(history)
    assert history[0].name == "Intake" and history[-1].name == "Intake desk"
    assert history[-1].policy == "least_loaded"
    from django.contrib.auth import get_user_model

    dave = get_user_model().objects.get(pk=dave.pk)
    assert not dave.has_perm("organisations.work_on_queue", work_group)
    assert admin_client.get(f"/admin/organisations/workgroup/{work_group.pk}/history/").status_code == 200


def test_role_permission_changes_are_recorded(admin_client, admin_user):
    from django.contrib.auth.models import Permission

    from creditfactory.organisations.models import Role

    group = Role.objects.get(code="collector").group
    before = set(group.permissions.values_list("pk", flat=True))
    added = Permission.objects.get(codename="view_loanproduct")
    response = admin_client.post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": group.name, "permissions": sorted(before | {added.pk}),
         "role-TOTAL_FORMS": "1", "role-INITIAL_FORMS": "1", "role-MIN_NUM_FORMS": "0", "role-MAX_NUM_FORMS": "1",
         "role-0-id": group.role.pk, "role-0-group": group.pk, "role-0-code": "collector",
         "role-0-description": group.role.description},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    latest = group.history.order_by("-history_id").first()
    assert latest.history_user == admin_user
    assert added.pk in {p.permission_id for p in latest.permissions.all()}
    assert admin_client.get(f"/admin/auth/group/{group.pk}/history/").status_code == 200


def test_user_factory_makes_usable_login(db, client):
    UserFactory(username="eve")
    assert client.login(username="eve", password="pass-1234-word")
