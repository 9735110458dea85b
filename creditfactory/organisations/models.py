"""The lender's organisation: branches (a tree), staff membership, roles, work groups, and the
partners (channels, facilitation platforms, co-lending banks) that call the API."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField


class Branch(MP_Node):
    """An organisation unit (head office → branch → sub-branch). Staff see the records of the
    branches they belong to and of every branch below them."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    node_order_by = ["code"]

    class Meta:
        verbose_name = _("branch")
        verbose_name_plural = _("branches")
        permissions = [("view_all_branches", _("Can see the records of every branch"))]

    def __str__(self):
        return f"{self.name} ({self.code})"


class StaffProfile(TimeStampedModel):
    """A member of staff: which branches they belong to."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="staff_profile"
    )
    branches = models.ManyToManyField(Branch, verbose_name=_("branches"), related_name="staff", blank=True)
    employee_number = models.CharField(_("employee number"), max_length=32, blank=True)
    history = HistoricalRecords(m2m_fields=[branches])

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return str(self.user)


class Role(models.Model):
    """Stable identity of a role (an auth group), so code can refer to a role an admin renamed."""

    group = models.OneToOneField(Group, verbose_name=_("group"), on_delete=models.CASCADE, related_name="role")
    code = models.SlugField(_("code"), max_length=48, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_standard = models.BooleanField(
        _("standard role"), default=False, help_text=_("Created by the platform; permissions may still be edited.")
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["code"]

    def __str__(self):
        return self.group.name


class AssignmentPolicy(models.TextChoices):
    CLAIM = "claim", _("Shared queue: staff claim tasks")
    ROUND_ROBIN = "round_robin", _("Round-robin auto-assignment")
    LEAST_LOADED = "least_loaded", _("Least-loaded auto-assignment")


class WorkGroup(TimeStampedModel):
    """A team that handles one or more business nodes (工作组业务节点). Who may work on its queue is
    a guardian object permission ``organisations.work_on_queue`` on the work group, granted to
    users or roles; members get it when they join."""

    code = models.SlugField(_("code"), max_length=48, unique=True)
    name = models.CharField(_("name"), max_length=120)
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="work_groups")
    policy = models.CharField(
        _("assignment policy"), max_length=16, choices=AssignmentPolicy.choices, default=AssignmentPolicy.CLAIM
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="work_groups", blank=True
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_work_groups",
        help_text=_("Receives SLA escalations and may reassign tasks."),
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Round-robin position: the member id assigned last. Advanced under select_for_update.
    last_assigned_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    history = HistoricalRecords(m2m_fields=[members], excluded_fields=["last_assigned_user_id", "updated_at"])

    class Meta:
        verbose_name = _("work group")
        verbose_name_plural = _("work groups")
        ordering = ["code"]
        permissions = [("work_on_queue", _("Can work on the tasks of this work group's queue"))]

    def __str__(self):
        return self.name


# Role (auth group) permission changes are audited like our own models: the historical model
# lives in this app, with the permission set captured on every change.
register(Group, app="creditfactory.organisations", m2m_fields=["permissions"])


# --- Partners (业务接口) -------------------------------------------------------------------------
# DRF's rate syntax: "<count>/<period>", the period's first letter decides (s, m, h, d).
THROTTLE_RATE_VALIDATOR = RegexValidator(
    r"^[1-9]\d*/(s|sec|second|m|min|minute|h|hour|d|day)$",
    _("Use the form <count>/<period>, e.g. 120/min, 10/s, 5000/day."),
)


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
        Branch,
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
    history = HistoricalRecords(
        m2m_fields=[products], excluded_fields=["signing_secret", "webhook_secret", "updated_at"]
    )

    class Meta:
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
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")
        ordering = ["partner__code", "-created_at"]

    def __str__(self):
        return f"{self.prefix}… ({self.name})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
