"""Batch entry of applications (批量录入): one upload of a CSV or Excel file, worked through row
by row by a Celery task, and what became of each row.

``BatchImport`` is the job: who uploaded what for which branch, the rows still to do (encrypted:
they carry ID numbers and mobiles; emptied when the job ends), the counts the progress page
shows. ``BatchImportRow`` is the outcome of one data row: the application it created, or the
field-named errors it was rejected with. Identifiers are kept only masked.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField
from creditfactory.organisations.models import Branch

__all__ = ["BatchImport", "BatchImportRow", "BatchStatus"]


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class BatchImport(TimeStampedModel):
    filename = models.CharField(_("file"), max_length=200, blank=True)
    file_format = models.CharField(_("format"), max_length=8, default="csv")
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="+",
                               help_text=_("The branch the created applications belong to."))
    # The parsed rows as JSON ([{"row": n, "values": {column: text}}]): encrypted, emptied at the end.
    content = EncryptedTextField(_("content"), blank=True, default="", editable=False)
    status = models.CharField(_("status"), max_length=8, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    accepted = models.PositiveIntegerField(_("accepted"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT,
                                   related_name="+")
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("batch import")
        verbose_name_plural = _("batch imports")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.filename or _('batch')} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (BatchStatus.DONE, BatchStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == BatchStatus.DONE:
            return 100
        return int(self.processed * 100 / self.total) if self.total else 0


class BatchImportRow(models.Model):
    """One data row of an import: accepted (``application``) or rejected (``errors``)."""

    batch = models.ForeignKey(BatchImport, verbose_name=_("batch import"), on_delete=models.CASCADE,
                              related_name="rows")
    row = models.PositiveIntegerField(_("row"), help_text=_("The line in the file (the header is line 1)."))
    application = models.OneToOneField("workflows.CreditApplication", verbose_name=_("application"), null=True,
                                       blank=True, on_delete=models.PROTECT, related_name="batch_row")
    errors = models.JSONField(_("errors"), default=list, blank=True, help_text=_("[{field, message}]"))
    external_reference = models.CharField(_("reference"), max_length=64, blank=True)
    applicant_name = models.CharField(_("applicant name"), max_length=100, blank=True)
    id_number_masked = models.CharField(_("ID number (masked)"), max_length=32, blank=True)
    mobile_masked = models.CharField(_("mobile (masked)"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("batch import row")
        verbose_name_plural = _("batch import rows")
        ordering = ["batch", "row"]
        constraints = [models.UniqueConstraint(fields=["batch", "row"], name="workflows_batch_row_unique")]

    def __str__(self):
        return f"{self.batch_id} · {self.row}"

    @property
    def accepted(self) -> bool:
        return self.application_id is not None
