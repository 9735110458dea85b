"""Field visits (外访) and legal referrals (诉讼/法务移交) of collection cases: the work of the
strategy's visit and legal steps, each its own kind of task in ``CollectionFlow``.

A visit is a contact (channel ``visit``) recorded through ``contact_record`` — so the compliance
rules hold for it, even when the borrower was not found — with its own result. A legal referral
is requested by a collector and approved or rejected by someone else (the work group's lead or a
holder of ``approve_legalreferral``); at most one is pending or approved per case."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine

from .cases import CollectionCase, Contact

__all__ = ["FieldVisit", "LEGAL_MACHINE", "LegalReferral", "LegalReferralStatus", "VisitResult"]


class VisitResult(models.TextChoices):
    VISITED = "visited", _("Visited: the borrower was met")
    NOT_FOUND = "not_found", _("Not found")
    REFUSED = "refused", _("Refused to talk")


class FieldVisit(models.Model):
    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="visits")
    contact = models.OneToOneField(Contact, verbose_name=_("contact"), on_delete=models.PROTECT,
                                   related_name="visit")
    result = models.CharField(_("result"), max_length=10, choices=VisitResult.choices)
    bucket = models.CharField(_("bucket"), max_length=8, help_text=_("The case's bucket on the visit."))

    class Meta:
        verbose_name = _("field visit")
        verbose_name_plural = _("field visits")
        ordering = ["-contact__at", "-id"]


class LegalReferralStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


LEGAL_MACHINE = StateMachine({"": frozenset({LegalReferralStatus.REQUESTED}),
                              LegalReferralStatus.REQUESTED: frozenset({LegalReferralStatus.APPROVED,
                                                                        LegalReferralStatus.REJECTED})})


class LegalReferral(TimeStampedModel):
    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="legal_referrals")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=LegalReferralStatus.choices,
                              default=LegalReferralStatus.REQUESTED)
    bucket = models.CharField(_("bucket"), max_length=8, help_text=_("The case's bucket when it was referred."))
    owed = MoneyField(_("owed"), help_text=_("What the loan owed when it was referred."))
    requested_on = models.DateField(_("requested on"), help_text=_("Business date."))
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    agency = models.ForeignKey("collections.Agency", verbose_name=_("agency"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("legal referral")
        verbose_name_plural = _("legal referrals")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_legalreferral", _("Can approve legal referrals"))]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(status__in=["requested", "approved"]),
                                               name="collections_one_live_legal_referral")]
