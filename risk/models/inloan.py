"""Risk models: in-loan checks (贷中审核 / 贷中预警) — the record of each drawdown check and each
warning check: who, which product, the refreshed data (multi-lending, lists, court), every rule's
result, the reasons and what the check concluded. Servicing and the flows refer to a check by its
``reference``; risk refers to the credit line and the drawdown only by their ids and numbers, so
it imports nothing above it."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from risk.rules import WarningAction

__all__ = ["InLoanCheck", "InLoanCheckKind", "InLoanOutcome"]


class InLoanCheckKind(models.TextChoices):
    DRAWDOWN = "drawdown", _("Drawdown check")
    WARNING = "warning", _("Warning check")


class InLoanOutcome(models.TextChoices):
    PASS = "pass", _("Pass")
    REFER = "refer", _("Refer to manual review")
    REJECT = "reject", _("Reject")
    FREEZE = "freeze", _("Reject and freeze the line")


class InLoanCheck(models.Model):
    reference = models.CharField(_("check reference"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=InLoanCheckKind.choices)
    # What the caller identifies the check by (the drawdown number, a monitoring run's key):
    # asking again with the same one returns this record instead of pulling the data again.
    subject_reference = models.CharField(_("requested for"), max_length=64, blank=True)
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.PROTECT,
                                  related_name="in_loan_checks")
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.PROTECT,
                                related_name="+")
    product_version = models.ForeignKey("products.ProductVersion", verbose_name=_("product version"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+")
    credit_line_id = models.BigIntegerField(_("credit line"), null=True, blank=True)
    amount = MoneyField(_("amount"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=8, choices=InLoanOutcome.choices, blank=True)
    hit = models.BooleanField(_("warning raised"), default=False)
    action = models.CharField(_("warning handling"), max_length=16, choices=WarningAction.choices, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    rule_results = models.JSONField(_("rule results"), default=list, blank=True)
    snapshot = models.JSONField(_("data"), default=dict, blank=True,
                                help_text=_("The features the rules read and each source's masked answer."))
    unavailable_sources = models.JSONField(_("sources that did not answer"), default=list, blank=True)
    versions = models.JSONField(_("rule set versions"), default=list, blank=True)
    data_cost = MoneyField(_("data cost (CNY)"), default=0)
    created_at = models.DateTimeField(_("checked at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("in-loan check")
        verbose_name_plural = _("in-loan checks")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject_reference"], condition=~Q(subject_reference=""),
                                    name="risk_inloancheck_unique_subject"),
        ]

    def __str__(self):
        return self.reference
