"""The daily close's runs (日终批次): one ``CloseRun`` per closing of a business date (a re-run is
a new run), split into ``CloseChunk`` rows — ranges of loan ids, one transaction and one Celery
task each — in two stages: the close of the date, then the start of the next day. A chunk's
counts and seconds per phase are stored with it; the run's figures are their sums. A chunk that
fails records the loan it failed on."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel

__all__ = ["CloseChunk", "CloseChunkStatus", "CloseRun", "CloseRunStatus", "CloseStage", "WriteOffRequest",
           "WriteOffStatus"]


class CloseRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class CloseStage(models.TextChoices):
    CLOSE = "close", _("Close of the date")
    START_OF_DAY = "start_of_day", _("Start of the next day")
    DONE = "done", _("Done")


class CloseRun(TimeStampedModel):
    business_date = models.DateField(_("business date"), db_index=True)
    until = models.DateField(_("close up to"), null=True, blank=True,
                             help_text=_("A catch-up: after this date, each following one up to here."))
    status = models.CharField(_("status"), max_length=10, choices=CloseRunStatus.choices,
                              default=CloseRunStatus.RUNNING, db_index=True)
    stage = models.CharField(_("stage"), max_length=12, choices=CloseStage.choices, default=CloseStage.CLOSE)
    chunks_total = models.PositiveIntegerField(_("chunks"), default=0)
    chunks_done = models.PositiveIntegerField(_("chunks done"), default=0)
    chunks_failed = models.PositiveIntegerField(_("chunks failed"), default=0)
    advanced = models.BooleanField(_("business date advanced"), default=False)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    counts = models.JSONField(_("rows per run-wide phase"), default=dict,
                              help_text=_("Phases run once per date (line expiry), beside the chunks' sums."))
    seconds = models.JSONField(_("seconds per run-wide phase"), default=dict)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("close-of-day run")
        verbose_name_plural = _("close-of-day runs")
        ordering = ["-business_date", "-id"]
        permissions = [("run_close", _("Can start the daily close from the back office"))]

    def __str__(self):
        return f"{self.business_date.isoformat()} #{self.pk}"


class CloseChunkStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class CloseChunk(models.Model):
    run = models.ForeignKey(CloseRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="chunks")
    stage = models.CharField(_("stage"), max_length=12, choices=CloseStage.choices)
    seq = models.PositiveIntegerField(_("chunk"))
    lo = models.BigIntegerField(_("first loan id"))
    hi = models.BigIntegerField(_("last loan id"))
    status = models.CharField(_("status"), max_length=8, choices=CloseChunkStatus.choices,
                              default=CloseChunkStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    counts = models.JSONField(_("rows per phase"), default=dict)
    seconds = models.JSONField(_("seconds per phase"), default=dict)
    rows_written = models.PositiveIntegerField(_("rows written"), default=0)
    failures = models.JSONField(_("failures"), default=list,
                                help_text=_("Each loan the chunk failed on: loan id, number and the error."))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("close-of-day chunk")
        verbose_name_plural = _("close-of-day chunks")
        ordering = ["run", "stage", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "stage", "seq"], name="servicing_close_chunk_unique")]

    def __str__(self):
        return f"{self.run} {self.stage} {self.seq} [{self.lo}–{self.hi}]"


class WriteOffStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class WriteOffRequest(TimeStampedModel):
    """A write-off (核销) proposed by the close when a loan's DPD reaches its version's
    ``write_off_dpd``; a person approves it (the write-off is posted then) or rejects it. A
    rejected request stays, with its reason, and the close proposes the loan again
    ``write_off_repropose_days`` business days after ``decided_on``."""

    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT,
                             related_name="write_off_requests")
    proposed_on = models.DateField(_("proposed on"))
    days_past_due = models.PositiveIntegerField(_("days past due"))
    status = models.CharField(_("status"), max_length=10, choices=WriteOffStatus.choices,
                              default=WriteOffStatus.PENDING, db_index=True)
    principal = MoneyField(_("principal written off"), default=0)
    interest = MoneyField(_("interest written off"), default=0)
    penalty = MoneyField(_("penalty written off"), default=0)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+",
                                    help_text=_("Empty when the daily close proposed it."))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_on = models.DateField(_("decided on business date"), null=True, blank=True,
                                  help_text=_("The business date of the approval or rejection."))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("write-off request")
        verbose_name_plural = _("write-off requests")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["loan"], condition=Q(status="pending"),
                                               name="servicing_write_off_one_pending")]
        permissions = [("approve_writeoffrequest", _("Can approve or reject write-offs"))]

    def __str__(self):
        return f"{self.loan} · {self.get_status_display()}"
