"""Admin for core records: the state-change log and the partner platform (webhooks, idempotency
keys, usage statistics) — all read-only logs."""

from django.contrib import admin, messages
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from creditfactory.organisations.scoping import BranchScopedAdminMixin

from .admin_mixins import ReadOnlyAdminMixin
from .models import (
    ApiUsage,
    IdempotencyKey,
    StateTransition,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)


@admin.register(StateTransition)
class StateTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "content_type", "object_id", "field", "from_state", "to_state", "actor", "actor_label")
    list_filter = ("content_type", "field", "to_state")
    search_fields = ("object_id", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("content_type", "actor")


# --- Partner platform -----------------------------------------------------------------------------
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
        import json

        return json.dumps(obj.event.payload, ensure_ascii=False, indent=2, default=str)

    def has_redeliver_permission(self, request):
        return request.user.has_perm("core.change_webhookdelivery")

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["redeliver"])
    def redeliver(self, request, queryset):
        from rest_framework.exceptions import ValidationError

        from .api.webhooks import webhook_redeliver

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


# --- Messaging: the SMS outbox and the sandbox gateway's inbox ------------------------------------
from django.utils.translation import gettext_lazy as _  # noqa: E402

from .messaging.services import normalise_mobile, sms_requeue  # noqa: E402
from .models import SandboxSms, SmsMessage, SmsStatus  # noqa: E402
from .pii import blind_index  # noqa: E402


class MobileSearchMixin:
    """Search by the full mobile through its blind index: the stored value is encrypted."""

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            number = normalise_mobile(search_term)
        except Exception:  # noqa: BLE001 - not a mobile: the ordinary search applies
            return queryset, may_have_duplicates
        return self.model._default_manager.filter(mobile_index=blind_index("mobile", number)), False


@admin.register(SmsMessage)
class SmsMessageAdmin(MobileSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "mobile_masked", "template", "status", "provider", "attempts", "segments", "cost",
                    "sent_at")
    list_filter = ("status", "template", "provider")
    search_fields = ("provider_message_id", "dedupe_key")
    date_hierarchy = "created_at"
    actions = ["send_again"]
    # The encrypted ``mobile`` is never shown: only its masked copy.
    fields = ("mobile_masked", "template", "language", "text", "status", "provider", "provider_message_id",
              "attempts", "segments", "cost", "error", "created_at", "last_attempt_at", "sent_at", "dedupe_key",
              "related_content_type", "related_object_id")
    readonly_fields = fields

    def has_requeue_permission(self, request):
        return request.user.has_perm("core.change_smsmessage")

    @admin.action(description=_("Send the selected failed messages again"), permissions=["requeue"])
    def send_again(self, request, queryset):
        requeued = 0
        for message in queryset.filter(status=SmsStatus.FAILED):
            sms_requeue(message=message, actor=request.user)
            requeued += 1
        self.message_user(request, _("%(count)s message(s) queued again.") % {"count": requeued})


@admin.register(SandboxSms)
class SandboxSmsAdmin(MobileSearchMixin, admin.ModelAdmin):
    list_display = ("accepted_at", "message_id", "mobile_masked", "template", "text", "segments", "cost", "attempt")
    list_filter = ("template",)
    search_fields = ("message_id", "reference")
    fields = ("message_id", "mobile_masked", "sender", "template", "text", "reference", "attempt", "segments", "cost",
              "accepted_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
