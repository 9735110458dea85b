"""Usage statistics (使用情况): calls per partner, day, endpoint, method and status."""

from django.db import models
from django.utils.translation import gettext_lazy as _

__all__ = ["ApiUsage"]


class ApiUsage(models.Model):
    """Calls per partner, day, endpoint (the URL pattern), method and status. Incremented with
    one ``INSERT … ON CONFLICT DO UPDATE SET count = count + 1``."""

    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField(_("day"))
    endpoint = models.CharField(_("endpoint"), max_length=200)
    method = models.CharField(_("method"), max_length=8)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    count = models.BigIntegerField(_("calls"), default=0)

    class Meta:
        db_table = "core_apiusage"
        verbose_name = _("API usage")
        verbose_name_plural = _("API usage")
        ordering = ["-day", "partner_id", "endpoint", "method", "status_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "day", "endpoint", "method", "status_code"], name="uniq_api_usage_bucket"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.method} {self.endpoint} {self.status_code}: {self.count}"
