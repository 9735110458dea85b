"""The business date (营业日): one row for the whole system. Every money event carries it as its
value date; line expiry, drawdown value dates and loan schedules read it, never the clock. Only
``servicing.services.calendar`` writes it (``business_date_set``, the daily close)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

__all__ = ["BusinessDate"]


class BusinessDate(models.Model):
    # A singleton: the primary key is always 1 (a check constraint says so).
    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    date = models.DateField(_("business date"))
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("changed by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("business date")
        verbose_name_plural = _("business date")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="servicing_business_date_singleton")]

    def __str__(self):
        return self.date.isoformat()
