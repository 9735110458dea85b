"""Outbound messages: the SMS outbox and the sandbox gateway's inbox.

``SmsMessage`` is written in the caller's transaction by ``creditfactory.core.messaging.sms_send``
and delivered by a Celery task after commit, so a rolled-back business change never texts
anyone. The recipient's mobile is encrypted at rest, found again through its blind index and
shown masked. ``SandboxSms`` is what the sandbox provider "delivered": demo and tests read it as
the phone's inbox.

``VoiceCall`` is the voice robot's outbox (语音机器人外呼), written and delivered the same way:
a call is placed after commit and ends answered, unanswered or failed; what it was about
(``related``) learns the result through ``VOICE_RESULT_HOOKS``.
"""

from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..fields import MoneyField
from ..pii import EncryptedTextField, blind_index, mask_mobile
from .base import TimeStampedModel

__all__ = ["SandboxSms", "SmsMessage", "SmsStatus", "VoiceCall", "VoiceCallStatus"]


class SmsStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class ProtectedMobileMixin(models.Model):
    """The mobile three ways: encrypted value, blind index for lookups, masked copy for display."""

    mobile = EncryptedTextField(_("mobile"))
    mobile_index = models.CharField(_("mobile index"), max_length=64, db_index=True, editable=False)
    mobile_masked = models.CharField(_("mobile"), max_length=32, editable=False)

    class Meta:
        abstract = True

    def refresh_mobile(self) -> None:
        self.mobile_index = blind_index("mobile", self.mobile) if self.mobile else ""
        self.mobile_masked = mask_mobile(self.mobile) if self.mobile else ""


class SmsMessage(ProtectedMobileMixin, TimeStampedModel):
    """One text message in the outbox (短信发送流水), from queued to sent or failed."""

    template = models.CharField(_("template"), max_length=64, db_index=True)
    language = models.CharField(_("language"), max_length=8)
    text = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=8, choices=SmsStatus.choices, default=SmsStatus.QUEUED, db_index=True
    )
    provider = models.CharField(_("provider"), max_length=32)
    provider_message_id = models.CharField(_("provider message ID"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    segments = models.PositiveSmallIntegerField(
        _("billed segments"), default=0, help_text=_("Long messages are split and billed per segment.")
    )
    # Gateways price below the fen (e.g. 0.045 CNY a segment), so four decimals here.
    cost = MoneyField(_("cost (CNY)"), decimal_places=4, max_digits=12, default=0)
    error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("deduplication key"), max_length=160, null=True, blank=True, unique=True,
        help_text=_("A second send with the same key returns the first message instead of texting again."),
    )
    related_content_type = models.ForeignKey(
        ContentType, verbose_name=_("related type"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    related_object_id = models.CharField(_("related object ID"), max_length=64, blank=True)
    related = GenericForeignKey("related_content_type", "related_object_id")

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS outbox")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["related_content_type", "related_object_id"])]

    def __str__(self):
        return f"{self.template} → {self.mobile_masked} ({self.status})"

    def save(self, *args, **kwargs):
        self.refresh_mobile()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "mobile" in update_fields:
            kwargs["update_fields"] = list(dict.fromkeys([*update_fields, "mobile_index", "mobile_masked"]))
        super().save(*args, **kwargs)


class SandboxSms(ProtectedMobileMixin):
    """A message the sandbox gateway accepted: the demo's and the tests' view of the phone."""

    message_id = models.CharField(_("gateway message ID"), max_length=64, unique=True)
    sender = models.CharField(_("signature"), max_length=32)
    template = models.CharField(_("template"), max_length=64)
    text = models.TextField(_("text"))
    reference = models.CharField(_("client reference"), max_length=64, blank=True, db_index=True)
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    segments = models.PositiveSmallIntegerField(_("segments"), default=1)
    cost = MoneyField(_("cost (CNY)"), decimal_places=4, max_digits=12, default=0)
    accepted_at = models.DateTimeField(_("accepted at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("sandbox SMS")
        verbose_name_plural = _("sandbox SMS inbox")
        ordering = ["-accepted_at", "-id"]

    def __str__(self):
        return f"{self.message_id} → {self.mobile_masked}"

    def save(self, *args, **kwargs):
        self.refresh_mobile()
        super().save(*args, **kwargs)


class VoiceCallStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    ANSWERED = "answered", _("Answered")
    NO_ANSWER = "no_answer", _("No answer")
    FAILED = "failed", _("Failed")


class VoiceCall(ProtectedMobileMixin, TimeStampedModel):
    """One robot call in the voice outbox (语音外呼流水), from queued to answered, unanswered or
    failed (unreachable, or busy on every attempt)."""

    template = models.CharField(_("template"), max_length=64, db_index=True)
    language = models.CharField(_("language"), max_length=8)
    text = models.TextField(_("script"))
    status = models.CharField(_("status"), max_length=10, choices=VoiceCallStatus.choices,
                              default=VoiceCallStatus.QUEUED, db_index=True)
    provider = models.CharField(_("provider"), max_length=32)
    provider_call_id = models.CharField(_("provider call ID"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), default=0)
    cost = MoneyField(_("cost (CNY)"), decimal_places=4, max_digits=12, default=0)
    error = models.TextField(_("last error"), blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    dedupe_key = models.CharField(
        _("deduplication key"), max_length=160, null=True, blank=True, unique=True,
        help_text=_("A second call with the same key returns the first call instead of calling again."),
    )
    related_content_type = models.ForeignKey(
        ContentType, verbose_name=_("related type"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    related_object_id = models.CharField(_("related object ID"), max_length=64, blank=True)
    related = GenericForeignKey("related_content_type", "related_object_id")

    class Meta:
        verbose_name = _("voice call")
        verbose_name_plural = _("voice call outbox")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["related_content_type", "related_object_id"],
                                name="core_voicecall_related")]

    def __str__(self):
        return f"{self.template} → {self.mobile_masked} ({self.status})"

    def save(self, *args, **kwargs):
        self.refresh_mobile()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "mobile" in update_fields:
            kwargs["update_fields"] = list(dict.fromkeys([*update_fields, "mobile_index", "mobile_masked"]))
        super().save(*args, **kwargs)
