"""``Idempotency-Key``s partners sent, with the response a replay returns."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.pii import EncryptedTextField

__all__ = ["IdempotencyKey", "IdempotencyStatus"]


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class IdempotencyKey(models.Model):
    """One ``Idempotency-Key`` a partner sent. Inserted (committed) before the view runs, so a
    concurrent duplicate finds it; completed with the response in the view's own transaction,
    so the created object and the stored response commit together."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
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
        db_table = "core_idempotencykey"
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["partner", "key"], name="uniq_idempotency_partner_key")]

    def __str__(self):
        return self.key
