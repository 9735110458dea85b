"""Admin for core records: the state-change log, the SMS outbox, the sandbox gateway's inbox and
the voice-robot call outbox — all read-only logs."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .admin_mixins import ReadOnlyAdminMixin
from .messaging.services import normalise_mobile, sms_requeue
from .models import SandboxSms, SmsMessage, SmsStatus, StateTransition, VoiceCall
from .pii import blind_index


@admin.register(StateTransition)
class StateTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "content_type", "object_id", "field", "from_state", "to_state", "actor", "actor_label")
    list_filter = ("content_type", "field", "to_state")
    search_fields = ("object_id", "reason", "actor__username")
    date_hierarchy = "at"
    list_select_related = ("content_type", "actor")


# --- Messaging: the SMS outbox and the sandbox gateway's inbox ------------------------------------
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


@admin.register(VoiceCall)
class VoiceCallAdmin(MobileSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "mobile_masked", "template", "status", "provider", "attempts", "duration_seconds",
                    "cost", "finished_at")
    list_filter = ("status", "template", "provider")
    search_fields = ("provider_call_id", "dedupe_key")
    date_hierarchy = "created_at"
    fields = ("mobile_masked", "template", "language", "text", "status", "provider", "provider_call_id", "attempts",
              "duration_seconds", "cost", "error", "created_at", "last_attempt_at", "finished_at", "dedupe_key",
              "related_content_type", "related_object_id")
    readonly_fields = fields
