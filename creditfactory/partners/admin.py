"""Admin of the partner platform: partners and their API keys (credentials shown once), and the
read-only logs — webhook endpoints, events and deliveries, idempotency keys, usage statistics.
Every list is scoped to the admin user's branches through the partner's home branch."""

import json

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Sum
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from simple_history.admin import SimpleHistoryAdmin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.texts import stored_text
from creditfactory.organisations.scoping import BranchScopedAdminMixin, scope_queryset

from .models import (
    ApiUsage,
    IdempotencyKey,
    Partner,
    PartnerApiKey,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from .services import partners as partner_services
from .services.webhooks import webhook_redeliver


# --- Partners and API keys -------------------------------------------------------------------------
ISSUE_CREDENTIALS = "partners.issue_partner_credentials"


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
            partner_services.partner_api_key_revoke(key=key, actor=request.user,
                                                    reason=stored_text(_("revoked in admin")))
            count += 1
        self.message_user(request, _("%(count)d key(s) revoked.") % {"count": count}, messages.SUCCESS)


# --- Webhooks, idempotency keys, usage statistics ------------------------------------------------
@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(BranchScopedAdminMixin, admin.ModelAdmin):
    """Partners register endpoints through the API; operators may pause one (``is_active``).
    The secret is never shown."""

    branch_field = "partner__branch"
    list_display = ("url", "partner", "event_list", "is_active", "created_at", "deleted_at")
    list_filter = ("is_active", "partner")
    search_fields = ("url", "partner__code", "description")
    list_select_related = ("partner",)
    fields = ("partner", "url", "events", "description", "is_active", "created_at", "deleted_at")
    readonly_fields = ("partner", "url", "events", "created_at", "deleted_at")

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class WebhookDeliveryAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    fields = ("number", "started_at", "duration_ms", "status_code", "error", "response_excerpt")
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The delivery log. "Redeliver" sends the event again as a new delivery."""

    branch_field = "endpoint__partner__branch"
    list_display = ("uuid", "event_name", "partner", "endpoint", "status", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at", "created_at")
    list_filter = ("status", "event__event", "endpoint__partner")
    search_fields = ("=uuid", "=event__uuid", "endpoint__url", "endpoint__partner__code")
    date_hierarchy = "created_at"
    list_select_related = ("event", "endpoint__partner")
    readonly_fields = ("uuid", "event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code",
                       "last_error", "delivered_at", "redelivery_of", "created_at", "payload")
    fields = readonly_fields
    inlines = [WebhookDeliveryAttemptInline]
    actions = ["redeliver"]

    @admin.display(description=_("event"), ordering="event__event")
    def event_name(self, obj):
        return obj.event.event

    @admin.display(description=_("partner"))
    def partner(self, obj):
        return obj.endpoint.partner

    @admin.display(description=_("payload"))
    def payload(self, obj):
        return json.dumps(obj.event.payload, ensure_ascii=False, indent=2, default=str)

    def has_redeliver_permission(self, request):
        return request.user.has_perm("partners.change_webhookdelivery")

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        sent = skipped = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                webhook_redeliver(delivery=delivery)
                sent += 1
            except ValidationError:
                skipped += 1
        self.message_user(request, _("%(sent)d redelivery(ies) queued.") % {"sent": sent}, messages.SUCCESS)
        if skipped:
            self.message_user(
                request, _("%(n)d skipped: their endpoint is no longer active.") % {"n": skipped}, messages.WARNING
            )


class WebhookDeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ("uuid", "endpoint", "status", "attempts", "last_status_code", "delivered_at")
    readonly_fields = fields
    show_change_link = True


@admin.register(WebhookEvent)
class WebhookEventAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox: every event emitted to a partner."""

    branch_field = "partner__branch"
    list_display = ("uuid", "event", "partner", "created_at")
    list_filter = ("event", "partner")
    search_fields = ("=uuid", "partner__code")
    date_hierarchy = "created_at"
    list_select_related = ("partner",)
    fields = ("uuid", "event", "partner", "payload", "created_at")
    readonly_fields = fields
    inlines = [WebhookDeliveryInline]


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "partner__branch"
    list_display = ("key", "partner", "endpoint", "status", "response_status", "created_at", "completed_at")
    list_filter = ("status", "endpoint", "partner")
    search_fields = ("=key", "partner__code")
    date_hierarchy = "created_at"
    list_select_related = ("partner",)
    # The stored response body is not shown: it may hold applicant data or a secret.
    fields = ("key", "partner", "endpoint", "status", "request_hash", "response_status", "created_at", "locked_at",
              "completed_at")
    readonly_fields = fields


@admin.register(ApiUsage)
class ApiUsageAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Usage statistics (使用情况): calls per partner, day, endpoint and status. The heading
    shows the totals of whatever the filters select."""

    branch_field = "partner__branch"
    list_display = ("day", "partner", "method", "endpoint", "status_code", "count")
    list_filter = ("day", "partner", "endpoint", "method", "status_code")
    date_hierarchy = "day"
    list_select_related = ("partner",)
    search_fields = ("endpoint", "partner__code")
    fields = list_display
    readonly_fields = list_display

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            rows = changelist.queryset.order_by().values("status_code").annotate(calls=Sum("count"))
            by_class = {"2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0}
            for row in rows:
                group = f"{row['status_code'] // 100}xx"
                by_class[group] = by_class.get(group, 0) + row["calls"]
            total = sum(by_class.values())
            response.context_data["subtitle"] = _("%(total)s calls — 2xx %(ok)s · 4xx %(client)s · 5xx %(server)s") % {
                "total": total, "ok": by_class["2xx"], "client": by_class["4xx"], "server": by_class["5xx"]
            }
            response.context_data["usage_totals"] = {"total": total, **by_class}
        return response
