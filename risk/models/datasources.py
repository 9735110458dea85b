"""Data sources (数据采集): per-source configuration and the record of every call.

``DataSourceConfig`` is what an admin edits: which provider serves a source, its timeout,
retries, cache window and price per call, and (for the sandbox) simulated latency and failure
rate. ``DataSourceCall`` is the audit and cost record of each query, including the ones served
from the per-applicant cache (cost 0, pointing to the call that paid).
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from risk.datasources import registry

__all__ = ["CallStatus", "DataSourceCall", "DataSourceConfig", "Source"]


class Source(models.TextChoices):
    BUREAU = "bureau", _("Credit bureau report (人行征信)")
    MULTI_LENDING = "multi_lending", _("Multi-lending (多头借贷)")
    FRAUD = "fraud", _("Fraud and risk lists (欺诈名单/风险名单)")
    COURT = "court", _("Court records (法院信息)")
    SCENARIO = "scenario", _("Own and scenario data (自有/场景数据)")


def provider_choices():
    # Resolved when forms and checks run, so a provider module registered later is offered.
    return registry.provider_choices()


class DataSourceConfig(TimeStampedModel):
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, unique=True)
    provider = models.CharField(
        _("provider"), max_length=32, choices=provider_choices, default="sandbox",
        help_text=_("Which implementation answers queries for this source."),
    )
    timeout_ms = models.PositiveIntegerField(
        _("timeout (ms)"), default=3000, validators=[MinValueValidator(1)],
        help_text=_("How long one attempt may take before it counts as a timeout."),
    )
    retries = models.PositiveSmallIntegerField(
        _("retries"), default=2, validators=[MaxValueValidator(5)],
        help_text=_("Further attempts after a timeout or error (0 = one attempt only)."),
    )
    cache_days = models.PositiveSmallIntegerField(
        _("cache (days)"), default=30,
        help_text=_("A result is reused for the same applicant for this many days instead of paying again; "
                    "0 disables the cache."),
    )
    cost_per_call = MoneyField(_("cost per call (CNY)"), default=Decimal("0.00"))
    sandbox_latency_ms = models.PositiveIntegerField(
        _("sandbox latency (ms)"), default=0, help_text=_("Simulated response time of the sandbox provider.")
    )
    sandbox_failure_rate = models.DecimalField(
        _("sandbox failure rate"), max_digits=4, decimal_places=3, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Share of sandbox attempts that time out: 0 never, 1 always (both deterministic)."),
    )

    class Meta:
        verbose_name = _("data source configuration")
        verbose_name_plural = _("data source configurations")
        ordering = ["source"]

    def __str__(self):
        return f"{self.get_source_display()} · {self.provider}"


class CallStatus(models.TextChoices):
    OK = "ok", _("Answered")
    CACHED = "cached", _("Served from cache")
    TIMEOUT = "timeout", _("Timed out")
    ERROR = "error", _("Failed")


class DataSourceCall(models.Model):
    applicant = models.ForeignKey(
        "risk.Applicant", verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="data_source_calls"
    )
    application = models.ForeignKey(
        "workflows.CreditApplication", verbose_name=_("application"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="data_source_calls",
    )
    in_loan_check = models.ForeignKey(
        "risk.InLoanCheck", verbose_name=_("in-loan check"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="data_source_calls",
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    provider = models.CharField(_("provider"), max_length=32)
    # HMAC of the query inputs (ID, mobile, device as the source uses them): a cached answer
    # is only reused for the same question.
    query_key = models.CharField(_("query key"), max_length=64, editable=False)
    status = models.CharField(_("status"), max_length=8, choices=CallStatus.choices)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    cost = MoneyField(_("cost (CNY)"), default=Decimal("0.00"))
    cached_from = models.ForeignKey(
        "self", verbose_name=_("served from"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="cache_hits",
    )
    result = models.JSONField(_("result (masked)"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("data source call")
        verbose_name_plural = _("data source calls")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["applicant", "source", "query_key", "-created_at"], name="risk_dscall_cache_idx"),
        ]

    def __str__(self):
        return f"{self.source} #{self.pk} ({self.status})"
