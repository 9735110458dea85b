import pytest
from django.contrib.auth.models import Permission

from creditfactory.organisations import services
from creditfactory.organisations.models import WorkGroup
from creditfactory.organisations.scoping import can_see, scope_queryset, visible_branches
from tests.factories import make_branch, make_staff


@pytest.fixture
def tree(db):
    head = make_branch("head", name="Head office")
    east = make_branch("east", parent=head)
    east_city = make_branch("east-city", parent=east)
    west = make_branch("west", parent=head)
    groups = {
        code: services.work_group_create(code=f"wg-{code}", name=f"Team {code}", branch=branch)
        for code, branch in {"head": head, "east": east, "east-city": east_city, "west": west}.items()
    }
    return {"head": head, "east": east, "east-city": east_city, "west": west, "groups": groups}


def test_officer_sees_own_branch_and_descendants_only(tree):
    officer = make_staff("east-officer", tree["east"])
    visible = set(scope_queryset(WorkGroup.objects.all(), officer).values_list("code", flat=True))
    assert visible == {"wg-east", "wg-east-city"}
    assert set(visible_branches(officer).values_list("code", flat=True)) == {"east", "east-city"}


def test_second_branch_records_are_invisible(tree):
    officer = make_staff("west-officer", tree["west"])
    assert not can_see(officer, tree["groups"]["east"])
    assert can_see(officer, tree["groups"]["west"])
    assert not scope_queryset(WorkGroup.objects.filter(branch=tree["east"]), officer).exists()


def test_member_of_two_branches_sees_both_subtrees(tree):
    officer = make_staff("roaming", tree["east-city"], tree["west"])
    visible = set(scope_queryset(WorkGroup.objects.all(), officer).values_list("code", flat=True))
    assert visible == {"wg-east-city", "wg-west"}


def test_head_office_member_sees_everything_below(tree):
    officer = make_staff("hq", tree["head"])
    assert scope_queryset(WorkGroup.objects.all(), officer).count() == 4


def test_staff_without_branch_sees_nothing(tree):
    nobody = make_staff("nobody")
    assert scope_queryset(WorkGroup.objects.all(), nobody).count() == 0


def test_view_all_branches_permission_and_superuser_see_everything(tree, django_user_model):
    auditor = make_staff("auditor-x")
    auditor.user_permissions.add(Permission.objects.get(codename="view_all_branches"))
    auditor = django_user_model.objects.get(pk=auditor.pk)  # drop the permission cache
    assert scope_queryset(WorkGroup.objects.all(), auditor).count() == 4
    root = django_user_model.objects.create_superuser("su", "su@example.test", "x")
    assert scope_queryset(WorkGroup.objects.all(), root).count() == 4


def test_admin_list_is_scoped_with_the_same_mechanism(tree, client):
    officer = make_staff("admin-east", tree["east"], is_staff=True)
    officer.user_permissions.add(Permission.objects.get(codename="view_workgroup"))
    client.force_login(officer)
    response = client.get("/admin/organisations/workgroup/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "wg-east-city" in body
    assert "wg-west" not in body
    assert client.get(f"/admin/organisations/workgroup/{tree['groups']['west'].pk}/change/").status_code == 302


def test_back_office_organisation_page_is_scoped(tree, client):
    officer = make_staff("bo-west", tree["west"])
    client.force_login(officer)
    response = client.get("/organisation/structure/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Team west" in body
    assert "Team east" not in body
