"""Back-office form of quality inspection (抽样质检): the inspector's verdict and findings."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from creditfactory.core import forms as core_forms

from ..models import InspectionStatus
from .signing import apply_service_errors

__all__ = ["InspectForm", "apply_inspection_errors"]


class InspectForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), widget=forms.RadioSelect,
                               choices=[(InspectionStatus.PASSED, _("Passed")), (InspectionStatus.FAILED, _("Failed"))])
    findings = core_forms.TextField(label=_("Findings"), widget=forms.Textarea(attrs={"rows": 3}), required=False,
                               max_length=4000, help_text=_("Required when the inspection failed."))


def apply_inspection_errors(form: InspectForm, exc) -> None:
    # Who may inspect and the inspection's state are the form's own errors.
    apply_service_errors(form, exc, aliases={"actor": None, "status": None})
