"""Back-office form of batch entry (批量录入): the file, the branch (when the officer works at
several) and the officer's confirmation of the applicants' consents. The service checks the file
itself; its ``ValidationError``s are put back on the fields they name."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..selectors.batch import officer_branches
from .signing import apply_service_errors

__all__ = ["BatchImportForm", "apply_batch_errors"]


class BatchImportForm(forms.Form):
    file = forms.FileField(label=_("CSV or Excel (.xlsx) file"))
    branch = forms.ModelChoiceField(label=_("Branch of the applications"), queryset=None)
    consent_credit_report = forms.BooleanField(
        label=_("Every applicant in the file consented to the credit report query (征信授权)"))
    consent_personal_information = forms.BooleanField(
        label=_("Every applicant in the file consented to personal information processing"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.branches = officer_branches(user)
        if len(self.branches) == 1:
            # One branch: nothing to choose.
            del self.fields["branch"]
        else:
            self.fields["branch"].queryset = self.branches

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.WORKFLOW_BATCH_MAX_BYTES:
            raise forms.ValidationError(gettext("The file is larger than %(max)s KB; split it.")
                                        % {"max": settings.WORKFLOW_BATCH_MAX_BYTES // 1024})
        return upload

    def clean(self):
        cleaned = super().clean()
        if not self.branches:
            raise forms.ValidationError(gettext("You work at no branch: ask an administrator to add you to one."))
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        upload = data["file"]
        return dict(
            branch=data["branch"] if "branch" in self.fields else self.branches[0],
            filename=upload.name, content=upload.read(),
            consents={"credit_report": data["consent_credit_report"],
                      "personal_information": data["consent_personal_information"]},
        )


def apply_batch_errors(form: BatchImportForm, exc) -> None:
    apply_service_errors(form, exc, aliases={"consents": "consent_credit_report"})
