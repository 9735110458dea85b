from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LoanProduct, Purpose, RepaymentMethod


class LoanProductForm(forms.ModelForm):
    repayment_methods = forms.MultipleChoiceField(
        label=_("repayment methods"), choices=RepaymentMethod.choices, widget=forms.CheckboxSelectMultiple
    )
    purposes = forms.MultipleChoiceField(
        label=_("allowed purposes"), choices=Purpose.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = LoanProduct
        fields = "__all__"
