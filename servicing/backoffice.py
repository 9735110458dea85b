"""Back-office pages of servicing: the trial calculator (试算) for staff."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.urls import path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView
from viewflow.urls import AppMenuMixin, Viewset

from products.models import RepaymentMethod, TermUnit
from products.selectors import active_products

from .calculator import CalculatorError, schedule_calculate
from .charts import INTEREST_COLOUR, PRINCIPAL_COLOUR, principal_interest_svg
from .serializers import CALCULATOR_METHODS, CalculatorInputSerializer

INPUT_FIELDS = ("product", "principal", "annual_rate_percent", "daily_rate_percent", "term", "term_unit", "method",
                "start_date", "first_due_date", "upfront_fee_percent", "interest_every_months")


class CalculatorView(LoginRequiredMixin, TemplateView):
    """A GET form, so a calculation has a URL staff can share; validated by the API's serializer."""

    template_name = "servicing/calculator.html"

    def get_context_data(self, **kwargs):
        params = {name: self.request.GET.get(name, "").strip() for name in INPUT_FIELDS}
        submitted = any(params.values())
        errors, quote = {}, None
        if submitted:
            data = {name: value for name, value in params.items() if value}
            serializer = CalculatorInputSerializer(data=data)
            if serializer.is_valid():
                try:
                    quote = schedule_calculate(**serializer.calculation_kwargs())
                except CalculatorError as exc:
                    errors = exc.errors
            else:
                errors = {name: [str(m) for m in messages] for name, messages in serializer.errors.items()}
        return super().get_context_data(
            params=params,
            errors=errors,
            non_field_errors=errors.get("non_field_errors", []),
            quote=quote,
            chart=mark_safe(principal_interest_svg(quote.schedule.installments)) if quote else "",  # noqa: S308
            principal_colour=PRINCIPAL_COLOUR,
            interest_colour=INTEREST_COLOUR,
            products=active_products(),
            methods=[(m.value, RepaymentMethod(m).label) for m in CALCULATOR_METHODS],
            term_units=TermUnit.choices,
            **kwargs,
        )


class CalculatorViewset(AppMenuMixin, Viewset):
    title = _("Trial calculator")
    icon = "calculate"
    app_name = "calculator"
    index_path = path("", CalculatorView.as_view(), name="index")
