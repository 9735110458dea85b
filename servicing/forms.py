"""Back-office forms of servicing (贷后): a prepayment quote, an offline repayment (线下还款) and its
verification, a credit-balance refund and a write-off decision. Forms only parse; the services
check permissions, four eyes and the figures, and a ``RepaymentRefused`` lands on the field it
names (``refused_onto``)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from creditfactory.core import forms as cf_forms

from .models import RepaymentKind

__all__ = ["OfflineRepaymentForm", "PrepaymentQuoteForm", "ReasonForm", "RefundRequestForm", "WriteOffDecisionForm",
           "WriteOffProposalForm", "refused_onto"]

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}


class PrepaymentQuoteForm(forms.Form):
    """A GET form: today's quote to prepay a chosen principal (提前还款试算)."""

    principal = cf_forms.DecimalField(label=_("Principal to prepay (CNY)"), **MONEY)


class OfflineRepaymentForm(forms.Form):
    """A bank transfer an officer registers; it posts once a second person verifies it."""

    amount = cf_forms.DecimalField(label=_("Amount received (CNY)"), **MONEY)
    kind = forms.ChoiceField(label=_("Kind of repayment"), choices=RepaymentKind.choices,
                             initial=RepaymentKind.REGULAR)
    principal = cf_forms.DecimalField(label=_("Principal to prepay (CNY)"), required=False,
                                      help_text=_("A partial early repayment only."), **MONEY)
    reference = cf_forms.NameField(label=_("Bank transfer reference"), max_length=80,
                                   help_text=_("The bank's reference of the transfer: one registration per reference."))
    note = cf_forms.TextField(label=_("Note"), max_length=255, required=False)

    def clean(self):
        data = super().clean()
        kind, principal = data.get("kind"), data.get("principal")
        if kind == RepaymentKind.PREPAYMENT and principal is None and "principal" not in self.errors:
            self.add_error("principal", _("Name the principal to prepay."))
        if kind and kind != RepaymentKind.PREPAYMENT and principal is not None:
            self.add_error("principal", _("Only a prepayment names a principal."))
        return data


class ReasonForm(forms.Form):
    """Rejecting a registered transfer or a refund: the reason is required."""

    reason = cf_forms.TextField(label=_("Reason"), max_length=200)


class RefundRequestForm(forms.Form):
    amount = cf_forms.DecimalField(label=_("Amount to refund (CNY)"), **MONEY)
    reason = cf_forms.TextField(label=_("Reason"), max_length=255)


class WriteOffProposalForm(forms.Form):
    note = cf_forms.TextField(label=_("Why the loan should be written off"), max_length=500)


class WriteOffDecisionForm(forms.Form):
    action = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve the write-off")),
                                                             ("reject", _("Reject"))])
    note = cf_forms.TextField(label=_("Note"), max_length=500, required=False, help_text=_("Required when rejecting."))

    def clean(self):
        data = super().clean()
        if data.get("action") == "reject" and not (data.get("note") or "").strip():
            self.add_error("note", _("Say why the write-off is rejected."))
        return data


def refused_onto(form: forms.Form, exc) -> None:
    """A service's ``RepaymentRefused`` onto the form: on the field it names when the form has it."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
