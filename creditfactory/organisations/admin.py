from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin, UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group, User
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory

from . import partners as partner_services, services
from .models import Branch, Partner, PartnerApiKey, Role, StaffProfile, WorkGroup
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


# --- Partners and API keys ----------------------------------------------------------------------
ISSUE_CREDENTIALS = "organisations.issue_partner_credentials"


def _show_once(request, label, value):
    # A secret is displayed in this one message and never again (keys are stored hashed).
    messages.warning(
        request,
        format_html('{} <code style="user-select:all">{}</code> — {}', label, value,
                    _("copy it now, it will not be shown again.")),
    )


class PartnerApiKeyInline(admin.TabularInline):
    model = PartnerApiKey
    extra = 0
    can_delete = False
    fields = ("prefix", "name", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Partner)
class PartnerAdmin(BranchScopedAdminMixin, SimpleHistoryAdmin):
    """Partners of the API. Secrets never appear in the form: "Issue an API key" and the rotate
    actions show a new value once."""

    list_display = ("code", "name", "kind", "branch", "is_active", "require_signature", "rate_limit", "active_keys")
    list_filter = ("kind", "is_active", "require_signature", "branch")
    search_fields = ("code", "name", "contact_email")
    filter_horizontal = ("products",)
    list_select_related = ("branch",)
    readonly_fields = ("signing_secret_status", "created_at", "updated_at")
    inlines = [PartnerApiKeyInline]
    actions = ["issue_api_key", "rotate_signing_secret", "rotate_webhook_secret"]
    fieldsets = (
        (None, {"fields": ("code", "name", "kind", "branch", "contact_email", "is_active")}),
        (_("Products"), {"fields": ("products",)}),
        (_("Security and limits"), {"fields": ("throttle_rate", "require_signature", "signing_secret_status")}),
        (_("Audit"), {"fields": ("created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # The code identifies the partner in logs, statistics and webhooks: fixed once created.
        return (*self.readonly_fields, "code") if obj is not None else self.readonly_fields

    @admin.display(description=_("rate limit"))
    def rate_limit(self, obj):
        return obj.throttle_rate or _("default (%(rate)s)") % {"rate": settings.PARTNER_DEFAULT_THROTTLE_RATE}

    @admin.display(description=_("active keys"))
    def active_keys(self, obj):
        return obj.api_keys.filter(revoked_at__isnull=True).count()

    @admin.display(description=_("signing secret"))
    def signing_secret_status(self, obj):
        return _("set") if obj and obj.signing_secret else _("not set")

    def has_issue_credentials_permission(self, request):
        return request.user.has_perm(ISSUE_CREDENTIALS)

    def save_model(self, request, obj, form, change):
        new_secrets = []
        if not obj.webhook_secret:
            obj.webhook_secret = partner_services.new_secret()
        if obj.require_signature and not obj.signing_secret:
            obj.signing_secret = partner_services.new_secret()
            new_secrets.append(obj.signing_secret)
        super().save_model(request, obj, form, change)
        for secret in new_secrets:
            _show_once(request, _("Request signing secret for %(code)s:") % {"code": obj.code}, secret)

    @admin.action(description=_("Issue an API key"), permissions=["issue_credentials"])
    def issue_api_key(self, request, queryset):
        for partner in queryset:
            key, plaintext = partner_services.partner_api_key_issue(
                partner=partner, name=_("issued in admin"), actor=request.user
            )
            _show_once(request, _("New API key for %(code)s:") % {"code": partner.code}, plaintext)

    @admin.action(description=_("Rotate the request signing secret"), permissions=["issue_credentials"])
    def rotate_signing_secret(self, request, queryset):
        for partner in queryset:
            secret = partner_services.partner_signing_secret_rotate(partner=partner, actor=request.user)
            _show_once(request, _("New signing secret for %(code)s:") % {"code": partner.code}, secret)

    @admin.action(description=_("Rotate the webhook secret"), permissions=["issue_credentials"])
    def rotate_webhook_secret(self, request, queryset):
        for partner in queryset:
            secret = partner_services.partner_webhook_secret_rotate(partner=partner, actor=request.user)
            _show_once(request, _("New webhook secret for %(code)s:") % {"code": partner.code}, secret)


class RevokedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(BranchScopedAdminMixin, admin.ModelAdmin):
    """API keys: the prefix identifies a key, the hash is never shown. Adding a key issues it
    and shows the plaintext once."""

    branch_field = "partner__branch"
    list_display = ("prefix_display", "partner", "name", "created_at", "created_by", "last_used_at", "revoked_at")
    list_filter = (RevokedFilter, "partner")
    search_fields = ("prefix", "name", "partner__code", "partner__name")
    list_select_related = ("partner", "created_by")
    readonly_fields = ("partner", "name", "prefix_display", "created_at", "created_by", "last_used_at",
                       "revoked_at", "revoked_by")
    actions = ["revoke_keys"]

    @admin.display(description=_("key"), ordering="prefix")
    def prefix_display(self, obj):
        return f"{obj.prefix}…"

    def get_fields(self, request, obj=None):
        return ("partner", "name") if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partner":
            from .scoping import scope_queryset

            kwargs["queryset"] = scope_queryset(Partner.objects.filter(is_active=True), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request):
        return request.user.has_perm(ISSUE_CREDENTIALS)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm(ISSUE_CREDENTIALS)

    def save_model(self, request, obj, form, change):
        key, plaintext = partner_services.partner_api_key_issue(
            partner=obj.partner, name=obj.name, actor=request.user
        )
        obj.pk, obj.prefix, obj.created_at = key.pk, key.prefix, key.created_at
        _show_once(request, _("New API key for %(code)s:") % {"code": obj.partner.code}, plaintext)

    @admin.action(description=_("Revoke the selected keys"), permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            partner_services.partner_api_key_revoke(key=key, actor=request.user, reason=_("revoked in admin"))
            count += 1
        self.message_user(request, _("%(count)d key(s) revoked.") % {"count": count}, messages.SUCCESS)
