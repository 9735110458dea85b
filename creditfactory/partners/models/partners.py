"""Partners (channels, facilitation platforms, co-lending banks) that call the API, and their
API keys."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField

__all__ = ["THROTTLE_RATE_VALIDATOR", "Partner", "PartnerApiKey", "PartnerKind"]

# DRF's rate syntax: "<count>/<period>", the period's first letter decides (s, m, h, d).
THROTTLE_RATE_VALIDATOR = RegexValidator(
    r"^[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)$",
    _("Use the form <count>/<period>, e.g. 120/min, 10/s, 5000/day."),
)


class _HistoryInPlace(HistoricalRecords):
    """simple-history with the history tables of many-to-many fields named explicitly (it names
    them after the app otherwise): the partner's history kept its tables when the model moved
    into this app."""

    def __init__(self, *args, m2m_tables: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.m2m_tables = m2m_tables

    def get_meta_options_m2m(self, through_model):
        options = super().get_meta_options_m2m(through_model)
        options["db_table"] = self.m2m_tables[through_model._meta.model_name]
        return options


class PartnerKind(models.TextChoices):
    CHANNEL = "channel", _("Channel (渠道)")
    FACILITATION_PLATFORM = "facilitation_platform", _("Loan-facilitation platform (助贷)")
    CO_LENDING_BANK = "co_lending_bank", _("Co-lending bank (联合贷)")


class Partner(TimeStampedModel):
    """An outside system that calls the partner API. Records it creates belong to its home
    ``branch`` (so staff scoping works) and to the partner (so partner scoping works).

    The signing and webhook secrets are symmetric HMAC keys: the server must be able to read
    them, so they are encrypted at rest (Fernet, ``creditfactory.core.pii``), not hashed.
    """

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Stable identifier, shown to the partner and in logs.")
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=24, choices=PartnerKind.choices, default=PartnerKind.CHANNEL)
    branch = models.ForeignKey(
        "organisations.Branch",
        verbose_name=_("home branch"),
        on_delete=models.PROTECT,
        related_name="partners",
        help_text=_("The branch that owns the applications this partner sends."),
    )
    products = models.ManyToManyField(
        "products.LoanProduct",
        verbose_name=_("allowed products"),
        related_name="partners",
        blank=True,
        help_text=_("Products this partner may originate."),
        db_table="organisations_partner_products",
    )
    is_active = models.BooleanField(_("active"), default=True, help_text=_("An inactive partner's keys stop working."))
    throttle_rate = models.CharField(
        _("rate limit"),
        max_length=32,
        blank=True,
        validators=[THROTTLE_RATE_VALIDATOR],
        help_text=_("e.g. 120/min; empty means the platform default (PARTNER_DEFAULT_THROTTLE_RATE)."),
    )
    require_signature = models.BooleanField(
        _("require request signatures"),
        default=False,
        help_text=_("Every request must carry X-CF-Timestamp and X-CF-Signature (HMAC-SHA256)."),
    )
    signing_secret = EncryptedTextField(_("request signing secret"), blank=True, editable=False)
    webhook_secret = EncryptedTextField(
        _("webhook secret"),
        blank=True,
        editable=False,
        help_text=_("Signs webhooks of endpoints that have no secret of their own."),
    )
    contact_email = models.EmailField(_("technical contact"), blank=True)
    history = _HistoryInPlace(
        m2m_fields=[products],
        excluded_fields=["signing_secret", "webhook_secret", "updated_at"],
        table_name="organisations_historicalpartner",
        m2m_tables={"partner_products": "organisations_historicalpartner_products"},
    )

    class Meta:
        db_table = "organisations_partner"
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        ordering = ["code"]
        permissions = [("issue_partner_credentials", _("Can issue partner API keys and secrets"))]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def actor_label(self) -> str:
        """How the partner appears in audit rows that have no staff user."""
        return f"partner:{self.code}"


class PartnerApiKey(models.Model):
    """An API credential. The plaintext key is shown once when issued; only its SHA-256 is
    stored (the key is 32 random bytes, so a slow password hash adds nothing). ``prefix`` — the
    first characters of the key — identifies it in admin and narrows the lookup."""

    partner = models.ForeignKey(Partner, verbose_name=_("partner"), on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=80, help_text=_("What the key is for, e.g. production, UAT."))
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("revoked by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+", editable=False,
    )

    class Meta:
        db_table = "organisations_partnerapikey"
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")
        ordering = ["partner__code", "-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
