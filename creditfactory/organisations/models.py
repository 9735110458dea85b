"""The lender's organisation: branches (a tree), staff membership, roles and work groups."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords
from treebeard.mp_tree import MP_Node

from creditfactory.core.models import TimeStampedModel


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
    # Round-robin position: the member id assigned last. Advanced under the row lock (locks.py).
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
