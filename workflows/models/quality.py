"""Quality inspection (抽样质检): a sample of the straight-through approvals of a day, checked
afterwards by a person.

One ``QualityInspection`` per sampled application (an application is sampled at most once);
``status`` moves pending → passed | failed through ``creditfactory.core.state.change_state``
(``INSPECTION_MACHINE``), so the inspector, the time and the findings are in the state log.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine

__all__ = ["INSPECTION_MACHINE", "InspectionStatus", "QualityInspection"]


class InspectionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


INSPECTION_MACHINE = StateMachine({
    InspectionStatus.PENDING: frozenset({InspectionStatus.PASSED, InspectionStatus.FAILED}),
})


class QualityInspection(TimeStampedModel):
    application = models.OneToOneField("workflows.CreditApplication", verbose_name=_("application"),
                                       on_delete=models.PROTECT, related_name="quality_inspection")
    business_date = models.DateField(
        _("business date"), db_index=True,
        help_text=_("The day of the straight-through approvals this sample was taken from."))
    status = models.CharField(_("status"), max_length=8, choices=InspectionStatus.choices,
                              default=InspectionStatus.PENDING)
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("inspector"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    findings = models.TextField(_("findings"), blank=True)
    inspected_at = models.DateTimeField(_("inspected at"), null=True, blank=True)

    class Meta:
        verbose_name = _("quality inspection")
        verbose_name_plural = _("quality inspections")
        ordering = ["business_date", "id"]
        indexes = [models.Index(fields=["status", "business_date"])]

    def __str__(self):
        return f"QA {self.business_date:%Y-%m-%d} · {self.application_id}"
