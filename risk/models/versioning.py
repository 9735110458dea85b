"""Versioned risk configuration, the way products are versioned: admins edit a working copy
(rule set, scorecard, strategy, with its rows); publishing freezes its whole definition into an
immutable version row (a JSON snapshot); decisions record the versions they ran on, so editing
the working copy never changes how a past decision is explained or replayed.

Abstract bases only; each concrete pair lives with its concern (``rules``, ``scoring``,
``strategies``)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.models import TimeStampedModel

__all__: list[str] = []


class WorkingCopy(TimeStampedModel):
    """An editable configuration object. Concrete classes add ``current_version`` (a FK to their
    version model) and ``definition()``, the JSON a published version stores."""

    code = models.SlugField(_("code"), max_length=40, unique=True,
                            help_text=_("Stable identifier, e.g. ADMISSION_STD. Letters, digits, - and _."))
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def definition(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def has_unpublished_changes(self) -> bool:
        version = self.current_version
        return version is None or version.definition != self.definition()


class PublishedVersion(models.Model):
    """An immutable snapshot of a working copy's definition. Concrete classes add the FK to their
    working copy (``parent_field``) and a unique (parent, version) constraint."""

    version = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"), editable=False)
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("published by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    parent_field = ""

    class Meta:
        abstract = True

    def __str__(self):
        return f"{getattr(self, self.parent_field).code} v{self.version}"

    @property
    def code(self) -> str:
        return self.definition.get("code", "")

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("A published version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("A published version cannot be deleted."))
