from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin, UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from . import services
from .models import Branch, Role, StaffProfile, WorkGroup
from .scoping import BranchScopedAdminMixin


@admin.register(Branch)
class BranchAdmin(TreeAdmin, SimpleHistoryAdmin):
    form = movenodeform_factory(Branch, fields=["code", "name", "is_active"])
    list_display = ("name", "code", "is_active")
    search_fields = ("code", "name")


class RoleInline(admin.StackedInline):
    model = Role
    can_delete = False
    fields = ("code", "description", "is_standard")
    readonly_fields = ("is_standard",)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin, SimpleHistoryAdmin):
    """Roles: auth groups with a stable code; every permission change is kept in the history."""

    inlines = [RoleInline]
    list_display = ("name", "role_code", "permission_count")
    search_fields = ("name", "role__code")

    @admin.display(description=_("code"), ordering="role__code")
    def role_code(self, obj):
        return getattr(getattr(obj, "role", None), "code", "")

    @admin.display(description=_("permissions"))
    def permission_count(self, obj):
        return obj.permissions.count()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("role")


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    filter_horizontal = ("branches",)
    fields = ("employee_number", "branches")


admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(DjangoUserAdmin):
    inlines = [StaffProfileInline]


@admin.register(StaffProfile)
class StaffProfileAdmin(BranchScopedAdminMixin, SimpleHistoryAdmin):
    branch_field = "branches"
    list_display = ("user", "employee_number")
    search_fields = ("user__username", "employee_number")
    filter_horizontal = ("branches",)

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()


@admin.register(WorkGroup)
class WorkGroupAdmin(BranchScopedAdminMixin, GuardedModelAdmin, SimpleHistoryAdmin):
    """Work groups. Members get the ``work_on_queue`` object permission automatically; grant it
    to other users or whole roles with the "Object permissions" button."""

    list_display = ("code", "name", "branch", "policy", "lead", "member_count", "is_active")
    list_filter = ("policy", "is_active", "branch")
    search_fields = ("code", "name")
    filter_horizontal = ("members",)
    autocomplete_fields = ("lead",)
    list_select_related = ("branch", "lead")
    fieldsets = (
        (None, {"fields": ("code", "name", "branch", "description", "is_active")}),
        (_("Dispatch"), {"fields": ("policy", "lead", "members")}),
    )

    @admin.display(description=_("members"))
    def member_count(self, obj):
        return obj.members.count()

    def save_related(self, request, form, formsets, change):
        previous = set(form.instance.members.values_list("pk", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        services.work_group_sync_member_permissions(work_group=form.instance, previous_member_ids=previous)
