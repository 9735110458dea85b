"""Serializers of the remote-signing endpoints (partner and staff API). The endpoints are thin:
validate with an input serializer, call one service or selector, answer with an output
serializer. Service errors are ``ValidationError``s naming the field (``SlotFull`` may be
answered as 409)."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..models import SigningAppointment
from ..selectors.signing import MAX_RANGE_DAYS

__all__ = [
    "SigningAppointmentSerializer",
    "SigningBookInputSerializer",
    "SigningCancelInputSerializer",
    "SigningFreeSlotQuerySerializer",
    "SigningFreeSlotSerializer",
    "SigningRescheduleInputSerializer",
]


class SigningFreeSlotQuerySerializer(serializers.Serializer):
    """Query string of "list free slots": ``?date_from=2026-11-23&date_to=2026-11-29`` (inclusive,
    default the coming 7 days, at most 62 days)."""

    date_from = serializers.DateField(required=False, help_text=_("First day, inclusive (default today)."))
    date_to = serializers.DateField(required=False, help_text=_("Last day, inclusive (default 6 days later)."))

    def validate(self, attrs):
        date_from = attrs.get("date_from") or timezone.localdate()
        date_to = attrs.get("date_to") or date_from + timedelta(days=6)
        if date_to < date_from:
            raise serializers.ValidationError({"date_to": [_("The end date is before the start date.")]})
        if (date_to - date_from).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"date_to": [_("Ask for at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS}]})
        return {"date_from": date_from, "date_to": date_to}


class SigningFreeSlotSerializer(serializers.Serializer):
    """One bookable slot (a ``selectors.signing.FreeSlot``)."""

    start = serializers.DateTimeField(read_only=True)
    end = serializers.DateTimeField(read_only=True)
    remaining = serializers.IntegerField(read_only=True, help_text=_("Places still free in this slot."))


class SigningBookInputSerializer(serializers.Serializer):
    slot_start = serializers.DateTimeField(
        help_text=_("Start of a free slot, ISO 8601 with offset, e.g. 2026-11-24T09:30:00+08:00."))


class SigningRescheduleInputSerializer(serializers.Serializer):
    slot_start = serializers.DateTimeField(help_text=_("Start of the new slot."))
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SigningCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why the appointment is cancelled."))


class SigningAppointmentSerializer(serializers.ModelSerializer):
    """An appointment as a partner sees it: no officer, notes or recording reference."""

    application = serializers.CharField(source="application.number", read_only=True)

    class Meta:
        model = SigningAppointment
        fields = ["id", "application", "status", "slot_start", "slot_end", "channel", "result", "reschedule_count",
                  "created_at", "updated_at"]
        read_only_fields = fields
