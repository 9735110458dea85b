from django.contrib.auth.models import Group, Permission

from creditfactory.organisations.models import Role
from creditfactory.organisations.roles import STANDARD_ROLES, sync_standard_roles


def _perms(code):
    group = Role.objects.get(code=code).group
    return set(group.permissions.values_list("content_type__app_label", "codename"))


def test_migration_seeds_every_standard_role_as_a_group(db):
    codes = set(Role.objects.values_list("code", flat=True))
    assert codes == {
        "customer_manager", "credit_reviewer", "credit_approver", "disbursement_reviewer", "post_loan_manager",
        "collector", "risk_policy_admin", "product_admin", "auditor", "manager",
    }
    assert Group.objects.filter(role__is_standard=True).count() == 10
    assert Role.objects.get(code="credit_approver").group.name == "审批岗 Credit approver"


def test_manager_reads_the_instruments_and_changes_nothing(db):
    perms = _perms("manager")
    assert ("servicing", "view_dashboard") in perms
    assert not {codename for _app, codename in perms if not codename.startswith("view_")}


def test_product_admin_can_edit_and_publish_products_but_not_delete(db):
    perms = _perms("product_admin")
    assert ("products", "add_loanproduct") in perms
    assert ("products", "change_loanproduct") in perms
    assert ("products", "publish_loanproduct") in perms
    assert ("products", "delete_loanproduct") not in perms


def test_auditor_reads_everything_and_changes_nothing(db):
    perms = _perms("auditor")
    assert ("products", "view_loanproduct") in perms
    assert ("organisations", "view_workgroup") in perms
    assert ("core", "view_statetransition") in perms
    assert ("organisations", "view_all_branches") in perms
    assert not {codename for _app, codename in perms if not codename.startswith("view_")}


def test_reviewer_cannot_change_products(db):
    perms = _perms("credit_reviewer")
    assert ("products", "view_loanproduct") in perms
    assert ("products", "change_loanproduct") not in perms


def test_sync_is_idempotent_and_keeps_what_an_admin_granted(db):
    from django.apps import apps

    group = Role.objects.get(code="collector").group
    extra = Permission.objects.get(content_type__app_label="products", codename="view_loanproduct")
    group.permissions.add(extra)
    before = Group.objects.count()
    sync_standard_roles(apps)
    sync_standard_roles(apps)
    assert Group.objects.count() == before
    assert group.permissions.filter(pk=extra.pk).exists()
    assert len(STANDARD_ROLES) == Role.objects.filter(is_standard=True).count()


def test_a_renamed_role_is_still_found_by_code(db):
    from django.apps import apps

    role = Role.objects.get(code="collector")
    role.group.name = "催收专员"
    role.group.save()
    sync_standard_roles(apps)
    assert Role.objects.get(code="collector").group.name == "催收专员"
    assert not Group.objects.filter(name="催收员 Collector").exists()
