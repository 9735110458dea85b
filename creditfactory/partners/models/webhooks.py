"""Webhooks: partner endpoints, the outbox of events, and the deliveries with their attempt log."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.pii import EncryptedTextField

__all__ = ["DeliveryStatus", "WebhookDelivery", "WebhookDeliveryAttempt", "WebhookEndpoint", "WebhookEvent"]


class WebhookEndpoint(models.Model):
    """A URL a partner registered to receive events. ``secret`` signs the deliveries; when it
    is empty (an endpoint an operator added in admin) the partner's webhook secret is used."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), default=list, help_text=_("Event names from the catalogue."))
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = EncryptedTextField(_("secret"), blank=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    deleted_at = models.DateTimeField(
        _("deleted at"), null=True, blank=True, help_text=_("Deleted by the partner; kept for the delivery log.")
    )

    class Meta:
        db_table = "core_webhookendpoint"
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["partner_id", "created_at", "id"]

    def __str__(self):
        return self.url

    @property
    def signing_secret(self) -> str:
        return self.secret or self.partner.webhook_secret


class WebhookEvent(models.Model):
    """The outbox: one row per event, written in the transaction of the change it reports."""

    uuid = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="webhook_events"
    )
    event = models.CharField(_("event"), max_length=64, db_index=True)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        db_table = "core_webhookevent"
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.event} {self.uuid}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Delivered")
    FAILED = "failed", _("Gave up")
    CANCELLED = "cancelled", _("Cancelled (endpoint removed)")


class WebhookDelivery(models.Model):
    """One event to one endpoint. A redelivery is a new row, so the log of the first stays."""

    uuid = models.UUIDField(_("delivery id"), default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(
        WebhookEvent, verbose_name=_("event"), on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # Also the lease: a worker that takes the delivery pushes it forward past the HTTP timeout,
    # so the sweep does not hand the same delivery to another worker meanwhile.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", verbose_name=_("redelivery of"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        db_table = "core_webhookdelivery"
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self):
        return str(self.uuid)


class WebhookDeliveryAttempt(models.Model):
    """The log of one HTTP attempt."""

    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveSmallIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    response_excerpt = models.TextField(_("response excerpt"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        db_table = "core_webhookdeliveryattempt"
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery_id", "number"]

    def __str__(self):
        return f"#{self.number} {self.status_code or self.error}"
