"""Partner API plumbing: idempotency keys, webhooks (outbox and deliveries), usage statistics."""

import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.pii import EncryptedTextField

__all__ = [
    "ApiUsage",
    "DeliveryStatus",
    "IdempotencyKey",
    "IdempotencyStatus",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookEndpoint",
    "WebhookEvent",
]


# --- Idempotency ----------------------------------------------------------------------------------
class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a partner sent. Inserted (committed) before the view runs, so a
    concurrent duplicate finds it; completed with the response in the view's own transaction,
    so the created object and the stored response commit together."""

    partner = models.ForeignKey(
        "organisations.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=255)
    endpoint = models.CharField(_("endpoint"), max_length=200, help_text=_("URL route name of the first request."))
    request_hash = models.CharField(
        _("request fingerprint"), max_length=64, help_text=_("SHA-256 of method, path and canonical body.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS
    )
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    # JSON text rather than jsonb (jsonb reorders keys; a replay must return the same bytes),
    # encrypted: a stored response may hold applicant data or a freshly issued secret.
    response_body = EncryptedTextField(_("response body"), blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    locked_at = models.DateTimeField(_("locked at"), help_text=_("When the request holding the key started."))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="uniq_idempotency_partner_key")]

    def __str__(self):
        return self.key


# --- Webhooks -------------------------------------------------------------------------------------
class WebhookEndpoint(models.Model):
    """A URL a partner registered to receive events. ``secret`` signs the deliveries; when it
    is empty (an endpoint an operator added in admin) the partner's webhook secret is used."""

    partner = models.ForeignKey(
        "organisations.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="webhook_endpoints"
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
        "organisations.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="webhook_events"
    )
    event = models.CharField(_("event"), max_length=64, db_index=True)
    payload = models.JSONField(_("payload"), encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
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
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery_id", "number"]

    def __str__(self):
        return f"#{self.number} {self.status_code or self.error}"


# --- Usage statistics -----------------------------------------------------------------------------
class ApiUsage(models.Model):
    """Calls per partner, day, endpoint (the URL pattern), method and status. Incremented with
    one ``INSERT … ON CONFLICT DO UPDATE SET count = count + 1``."""

    partner = models.ForeignKey(
        "organisations.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    method = models.CharField(_("method"), max_length=8)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    count = models.BigIntegerField(_("calls"), default=0)

    class Meta:
        verbose_name = _("API usage")
        verbose_name_plural = _("API usage")
        ordering = ["-day", "partner_id", "endpoint", "method", "status_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "day", "endpoint", "method", "status_code"], name="uniq_api_usage_bucket"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.method} {self.endpoint} {self.status_code}: {self.count}"
