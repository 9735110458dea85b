"""Our own fraud and risk lists (欺诈名单 / 风险名单) and their CSV imports.

Entries hold no plaintext: the value is a blind index (exact lookup) plus a masked copy for
display. A removed entry is deactivated, not deleted, so the list keeps its history. The
uploaded CSV of an import is kept encrypted only until the import has run.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField

__all__ = ["ImportStatus", "ListImportJob", "ListKind", "ListType", "RiskListEntry"]


class ListType(models.TextChoices):
    FRAUD = "fraud", _("Fraud list (欺诈名单)")
    RISK = "risk", _("Risk list (风险名单)")


class ListKind(models.TextChoices):
    ID_NUMBER = "id_number", _("ID number")
    MOBILE = "mobile", _("Mobile")
    DEVICE = "device", _("Device")


class RiskListEntry(TimeStampedModel):
    list_type = models.CharField(_("list"), max_length=8, choices=ListType.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=ListKind.choices)
    value_index = models.CharField(_("value index"), max_length=64, editable=False)
    value_masked = models.CharField(_("value"), max_length=64, editable=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    source = models.CharField(
        _("source"), max_length=64, default="manual", help_text=_("Where the entry came from: manual, an import…")
    )
    active = models.BooleanField(_("active"), default=True, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("added by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("risk list entry")
        verbose_name_plural = _("risk list entries")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["list_type", "kind", "value_index"], name="uniq_risk_list_entry"),
        ]
        indexes = [models.Index(fields=["kind", "value_index"], name="risk_list_lookup_idx")]

    def __str__(self):
        return f"{self.get_list_type_display()} · {self.get_kind_display()} {self.value_masked}"


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ListImportJob(TimeStampedModel):
    filename = models.CharField(_("file"), max_length=200, blank=True)
    # The uploaded rows (plain ID numbers and mobiles): encrypted, and emptied once imported.
    content = EncryptedTextField(_("content"), blank=True, default="", editable=False)
    status = models.CharField(_("status"), max_length=8, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    rejected_rows = models.JSONField(_("rejected rows"), default=list, blank=True, help_text=_("[{row, reason}]"))
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("list import")
        verbose_name_plural = _("list imports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.filename or _('import')} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        return int(self.processed * 100 / self.total) if self.total else 0
