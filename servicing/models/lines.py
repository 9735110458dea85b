"""Credit lines (授信额度) and their changes (额度变更).

``CreditLine``: the line granted when an application is approved — limit, rate, grade, validity,
status, linked to the risk decision it was granted on. Status changes go through
``creditfactory.core.state.change_state`` (``LINE_MACHINE``); every field change is in the line's
history.

Two balances, both held with conditional UPDATEs in ``servicing.locks`` (never check-then-act):
``held`` — reserved by drawdowns not yet disbursed (TigerBeetle's *pending*); ``used`` — drawn
principal: for a revolving line (循环额度) the outstanding drawn principal (repayments give it
back), for a one-off line everything ever drawn. Available = limit − used − held; the database
refuses used + held > limit.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine
from products.models import RateBasis

__all__ = [
    "CHANGE_MACHINE", "CreditLine", "CreditLineChange", "CreditLineChangeKind", "CreditLineChangeSource",
    "CreditLineChangeStatus", "CreditLineStatus", "LINE_MACHINE",
]


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    TERMINATED = "terminated", _("Terminated")
    EXPIRED = "expired", _("Expired")


_L = CreditLineStatus
LINE_MACHINE = StateMachine({
    _L.ACTIVE: frozenset({_L.FROZEN, _L.TERMINATED, _L.EXPIRED}),
    _L.FROZEN: frozenset({_L.ACTIVE, _L.TERMINATED, _L.EXPIRED}),
})


class CreditLine(TimeStampedModel):
    application = models.OneToOneField(
        "workflows.CreditApplication", verbose_name=_("application"), on_delete=models.PROTECT,
        related_name="credit_line",
    )
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("applicant"), on_delete=models.PROTECT,
                                  related_name="credit_lines")
    enterprise = models.ForeignKey("risk.Enterprise", verbose_name=_("enterprise"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="credit_lines")
    product_version = models.ForeignKey("products.ProductVersion", verbose_name=_("product version"),
                                        on_delete=models.PROTECT, related_name="credit_lines")
    decision = models.ForeignKey("risk.Decision", verbose_name=_("risk decision"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="credit_lines",
                                 help_text=_("Empty when the automated assessment failed and staff decided."))
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="credit_lines")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="credit_lines")
    limit = MoneyField(_("limit"))
    used = MoneyField(_("used"), default=0,
                      help_text=_("Drawn principal: outstanding for a revolving line, ever drawn for a one-off line."))
    held = MoneyField(_("held"), default=0, help_text=_("Reserved by drawdowns not yet disbursed."))
    revolving = models.BooleanField(_("revolving"), default=True,
                                    help_text=_("Copied from the product version when granted: repaid principal "
                                                "becomes available again."))
    rate_percent = PercentField(_("rate (%)"))
    rate_basis = models.CharField(_("rate quoted as"), max_length=8, choices=RateBasis.choices)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=12, choices=CreditLineStatus.choices,
                              default=CreditLineStatus.ACTIVE, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(limit__gt=0), name="servicing_line_limit_positive"),
            models.CheckConstraint(condition=Q(used__gte=0) & Q(held__gte=0) & Q(used__lte=F("limit") - F("held")),
                                   name="servicing_line_used_within_limit"),
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="servicing_line_validity"),
        ]

    def __str__(self):
        return f"CL{self.pk:08d}" if self.pk else "CL (new)"

    @property
    def available(self):
        return max(self.limit - self.used - self.held, 0)


class CreditLineChangeKind(models.TextChoices):
    INCREASE = "increase", _("Increase the limit (提额)")
    DECREASE = "decrease", _("Decrease the limit (降额)")
    FREEZE = "freeze", _("Freeze (冻结)")
    UNFREEZE = "unfreeze", _("Unfreeze (解冻)")
    TERMINATE = "terminate", _("Terminate (中止)")
    RATE = "rate", _("Change the rate (调价)")


class CreditLineChangeSource(models.TextChoices):
    OFFICER = "officer", _("Officer")
    PARTNER = "partner", _("Partner")
    RULE = "rule", _("Risk rule")
    SYSTEM = "system", _("System")


class CreditLineChangeStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPLIED = "applied", _("Applied")
    REJECTED = "rejected", _("Rejected")


_C = CreditLineChangeStatus
CHANGE_MACHINE = StateMachine({
    _C.REQUESTED: frozenset({_C.APPLIED, _C.REJECTED}),
})


class CreditLineChange(TimeStampedModel):
    """A change to a line, requested by an officer, a partner or a rule and run through the
    ``CreditLineChangeFlow`` (approval per the product's node configuration, or applied directly).
    Before and after are recorded when it is applied."""

    number = models.CharField(_("change number"), max_length=32, unique=True)
    credit_line = models.ForeignKey(CreditLine, verbose_name=_("credit line"), on_delete=models.PROTECT,
                                    related_name="changes")
    kind = models.CharField(_("kind"), max_length=12, choices=CreditLineChangeKind.choices)
    new_limit = MoneyField(_("new limit"), null=True, blank=True)
    new_rate_percent = PercentField(_("new rate (%)"), null=True, blank=True,
                                    help_text=_("In the line's rate basis; with an increase, a decrease or a rate "
                                                "change (credit growth lowers it with a limit increase)."))
    reason = models.CharField(_("reason"), max_length=500)
    source = models.CharField(_("requested by"), max_length=8, choices=CreditLineChangeSource.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by (staff)"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="credit_line_changes")
    status = models.CharField(_("status"), max_length=12, choices=CreditLineChangeStatus.choices,
                              default=CreditLineChangeStatus.REQUESTED, db_index=True)
    limit_before = MoneyField(_("limit before"), null=True, blank=True)
    limit_after = MoneyField(_("limit after"), null=True, blank=True)
    rate_before = PercentField(_("rate before (%)"), null=True, blank=True)
    rate_after = PercentField(_("rate after (%)"), null=True, blank=True)
    status_before = models.CharField(_("line status before"), max_length=12, choices=CreditLineStatus.choices,
                                     blank=True)
    status_after = models.CharField(_("line status after"), max_length=12, choices=CreditLineStatus.choices,
                                    blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    business_date = models.DateField(_("business date"))
    warning = models.ForeignKey("servicing.LineWarning", verbose_name=_("warning"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="changes")

    class Meta:
        verbose_name = _("credit line change")
        verbose_name_plural = _("credit line changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=["increase", "decrease"]) | Q(new_limit__gt=0),
                name="servicing_change_limit_needs_new_limit"),
            models.CheckConstraint(condition=~Q(kind="rate") | Q(new_rate_percent__gt=0),
                                   name="servicing_change_rate_needs_new_rate"),
        ]

    def __str__(self):
        return self.number
