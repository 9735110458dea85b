"""In-loan warnings (贷中风险预警): a hit of the in-loan warning rule set on a line's borrower
(or, raised by the daily close, of the post-loan monitoring rule set on a loan: ``loan`` set),
with the handling the rule configured, waiting in a work group's queue for a person to confirm or
lift it. The automatic part of the handling (stop pending drawdowns, freeze, reduce the limit)
is applied when the warning is raised; lifting it undoes what can be undone (unfreeze)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.models import TimeStampedModel

__all__ = ["LineWarning", "WarningAction", "WarningSource", "WarningStatus"]


class WarningAction(models.TextChoices):
    NOTIFY = "notify", _("Notify")
    STOP_DRAWDOWNS = "stop_drawdowns", _("Stop pending drawdowns")
    FREEZE = "freeze", _("Freeze the line")
    REDUCE_LIMIT = "reduce_limit", _("Reduce the limit")


class WarningSource(models.TextChoices):
    MONITORING = "monitoring", _("Monitoring job")
    LIST_ENTRY = "list_entry", _("New list entry")
    DRAWDOWN_CHECK = "drawdown_check", _("Drawdown check")
    POST_LOAN = "post_loan", _("Post-loan monitoring (daily close)")


class WarningStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CONFIRMED = "confirmed", _("Confirmed")
    LIFTED = "lifted", _("Lifted")


class LineWarning(TimeStampedModel):
    credit_line = models.ForeignKey("servicing.CreditLine", verbose_name=_("credit line"), on_delete=models.PROTECT,
                                    related_name="warnings")
    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, null=True, blank=True,
                             related_name="warnings", help_text=_("The loan a post-loan monitoring warning is about."))
    source = models.CharField(_("source"), max_length=16, choices=WarningSource.choices)
    action = models.CharField(_("handling"), max_length=16, choices=WarningAction.choices)
    rules = models.JSONField(_("rules hit"), default=list, help_text=_("Reason codes and descriptions."))
    check_reference = models.CharField(_("check record"), max_length=40, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=WarningStatus.choices, default=WarningStatus.OPEN,
                              db_index=True)
    business_date = models.DateField(_("business date"))
    handled_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("handled by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("in-loan warning")
        verbose_name_plural = _("in-loan warnings")
        ordering = ["-created_at", "-id"]
        permissions = [("handle_linewarning", _("Can confirm or lift in-loan warnings"))]
        constraints = [
            # the daily close's post-loan monitoring: one open (or confirmed) warning per line, which
            # chunks closing the line's loans at the same time cannot both raise
            models.UniqueConstraint(fields=["credit_line"], condition=models.Q(source="post_loan",
                                                                               status__in=["open", "confirmed"]),
                                    name="servicing_linewarning_one_post_loan"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · {self.credit_line}"
