"""One vocabulary: the choices of products and applications are the repayment engine's values."""

from django.apps import apps
from django.utils import translation

from products import engine
from products.choices import DayCount, RepaymentMethod, TermUnit
from products.forms import LoanProductForm
from products.models import LoanProduct, ProductVersion


def _values(choices) -> list[str]:
    return [value for value, _label in choices]


def test_the_choices_classes_are_the_engine_vocabulary_in_its_order():
    assert RepaymentMethod.values == [member.value for member in engine.Method]
    assert TermUnit.values == [member.value for member in engine.TermUnit]
    assert DayCount.values == [member.value for member in engine.DayCount]
    assert RepaymentMethod.values == [
        "equal_installment", "equal_principal", "interest_first", "bullet", "revolving"]
    assert TermUnit.values == ["months", "days"]
    assert DayCount.values == ["ACT/360", "ACT/365"]
    # a product's value is taken by the engine as it is
    assert [engine.Method(value) for value in RepaymentMethod] == list(engine.Method)


def test_the_model_fields_offer_exactly_the_engine_vocabulary():
    application = apps.get_model("workflows", "CreditApplication")
    for model in (LoanProduct, ProductVersion):
        assert _values(model._meta.get_field("term_unit").choices) == [m.value for m in engine.TermUnit]
        assert _values(model._meta.get_field("day_count").choices) == [m.value for m in engine.DayCount]
    assert _values(application._meta.get_field("term_unit").choices) == [m.value for m in engine.TermUnit]
    assert _values(application._meta.get_field("repayment_method").choices) == [m.value for m in engine.Method]
    assert _values(LoanProductForm.base_fields["repayment_methods"].choices) == [m.value for m in engine.Method]


def test_the_labels_stay_translated():
    with translation.override("zh-hans"):
        assert str(RepaymentMethod.EQUAL_PRINCIPAL.label) == "等额本金"
        assert str(TermUnit.DAYS.label) == "天"
        assert str(DayCount.ACT_365.label) == "ACT/365"
