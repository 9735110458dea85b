from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .choices import DEFAULT_ALLOCATION_ORDER, Component
from .models import LoanProduct, Purpose, RepaymentMethod


class AllocationOrderWidget(forms.MultiWidget):
    """Four selects side by side: what a repayment pays first, second, third and fourth."""

    def __init__(self, attrs=None):
        super().__init__([forms.Select(choices=Component.choices) for _position in Component.values], attrs)

    def decompress(self, value):
        return list(value) if value else list(DEFAULT_ALLOCATION_ORDER)


class AllocationOrderField(forms.MultiValueField):
    widget = AllocationOrderWidget

    def __init__(self, **kwargs):
        fields = [forms.ChoiceField(choices=Component.choices) for _position in Component.values]
        super().__init__(fields=fields, require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list):
        order = [value for value in (data_list or []) if value]
        if not order:
            return list(DEFAULT_ALLOCATION_ORDER)
        if sorted(order) != sorted(Component.values):
            raise ValidationError(_("Choose each component once: penalty interest, fee, interest and principal."))
        return order


class DayListField(forms.CharField):
    """Whole numbers of days, comma separated ("1, 3, 7")."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(day) for day in value)
        return value

    def to_python(self, value):
        text = (super().to_python(value) or "").replace("，", ",")
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError as exc:
            raise ValidationError(_("Enter whole numbers of days separated by commas, e.g. 1, 3, 7.")) from exc


class LoanProductForm(forms.ModelForm):
    repayment_methods = forms.MultipleChoiceField(
        label=capfirst(_("repayment methods")), choices=RepaymentMethod.choices, widget=forms.CheckboxSelectMultiple
    )
    purposes = forms.MultipleChoiceField(
        label=capfirst(_("allowed purposes")), choices=Purpose.choices, widget=forms.CheckboxSelectMultiple
    )
    drawdown_review_purposes = forms.MultipleChoiceField(
        label=capfirst(_("purposes needing disbursement review")), choices=Purpose.choices,
        widget=forms.CheckboxSelectMultiple, required=False,
        help_text=_("Drawdowns for these purposes always need a disbursement review."))
    allocation_order = AllocationOrderField(
        label=capfirst(_("allocation order")), help_text=_("What a repayment pays first, second, third and fourth."))
    collection_retry_days = DayListField(
        label=capfirst(_("collection retry days")), required=False,
        help_text=_("Days after the due date on which a failed scheduled debit (代扣) is tried again, e.g. 1, 3, 7."))

    class Meta:
        model = LoanProduct
        fields = "__all__"
