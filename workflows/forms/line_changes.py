"""Back-office forms of credit-line changes and in-loan warnings."""

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from creditfactory.core import forms as cf_forms

from servicing.models import CreditLineChangeKind


# A rate change (调价) is the credit growth review's (workflows.services.credit_growth), not requested here.
REQUESTABLE_KINDS = [(value, label) for value, label in CreditLineChangeKind.choices
                     if value != CreditLineChangeKind.RATE]


class LineChangeForm(forms.Form):
    kind = forms.ChoiceField(label=_("Change"), choices=REQUESTABLE_KINDS)
    new_limit = cf_forms.DecimalField(label=_("New limit (CNY)"), max_digits=14, decimal_places=2, required=False,
                                   min_value=Decimal("0.01"), help_text=_("For an increase or a decrease."))
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class LineChangeDecisionForm(forms.Form):
    action = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=500, required=False,
                           help_text=_("Required when rejecting."))


class WarningDecisionForm(forms.Form):
    action = forms.ChoiceField(label=_("Decision"), choices=[("confirm", _("Confirm")), ("lift", _("Lift"))])
    note = forms.CharField(label=_("Note"), max_length=500, required=False,
                           help_text=_("Required when lifting."))


def apply_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """A service's ValidationError onto the form: on the named field when the form has it."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
