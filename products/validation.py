"""Validation of a product's parameters: ranges, method/product fit, and the APR cap.

Pure policy over an object with the ``ProductTerms`` attributes (no queries), returning
``{field: [messages]}`` so admin forms and the API show each error beside its field.
"""

from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from creditfactory.core.money import percent_to_fraction

from . import engine
from .choices import DEFAULT_ALLOCATION_ORDER, Component, ProductType, Purpose, RateBasis, RepaymentMethod, TermUnit

# The methods scheduled in months (the engine refuses a term in days for them).
MONTHLY_METHODS = frozenset(method for method in engine.Method if not method.is_single_payment)
# A representative principal for the APR check: the APR barely depends on the amount, and a
# round figure keeps fen rounding from moving it.
_APR_PROBE_START = date(2026, 1, 15)


def annual_rate_fraction(*, rate_percent: Decimal, rate_basis: str, day_count: str) -> Decimal:
    """A product rate as an annual fraction: daily rates × 360 (ACT/360) or × 365 (ACT/365)."""
    fraction = percent_to_fraction(rate_percent)
    if rate_basis == RateBasis.DAILY:
        return engine.daily_to_annual(fraction, day_count=engine.DayCount(day_count))
    return fraction


def _range_errors(terms, errors):
    def check(low_field, high_field, label):
        low, high = getattr(terms, low_field), getattr(terms, high_field)
        if low is not None and high is not None and low > high:
            errors.setdefault(high_field, []).append(
                _("%(label)s: the maximum (%(high)s) is below the minimum (%(low)s).")
                % {"label": label, "high": high, "low": low}
            )

    if terms.amount_min is not None and terms.amount_min <= 0:
        errors.setdefault("amount_min", []).append(_("The minimum amount must be positive."))
    if terms.term_min is not None and terms.term_min < 1:
        errors.setdefault("term_min", []).append(_("The minimum term must be at least 1."))
    if terms.rate_min_percent is not None and terms.rate_min_percent < 0:
        errors.setdefault("rate_min_percent", []).append(_("Rates cannot be negative."))
    check("amount_min", "amount_max", _("Amount"))
    check("term_min", "term_max", _("Term"))
    check("age_min", "age_max", _("Applicant age"))
    low, default, high = terms.rate_min_percent, terms.rate_default_percent, terms.rate_max_percent
    if None not in (low, default, high):
        if not low <= default <= high:
            errors.setdefault("rate_default_percent", []).append(
                _("The default rate (%(default)s %%) must lie between the minimum (%(low)s %%) and the maximum "
                  "(%(high)s %%).") % {"default": default, "low": low, "high": high}
            )
    for field in ("upfront_fee_percent", "prepayment_fee_percent"):
        value = getattr(terms, field)
        if value is not None and not Decimal(0) <= value < Decimal(100):
            errors.setdefault(field, []).append(_("A fee must be between 0 and 100 %."))
    if terms.apr_cap_percent is not None and terms.apr_cap_percent <= 0:
        errors.setdefault("apr_cap_percent", []).append(_("The APR cap must be positive."))
    if terms.penalty_rate_multiplier is not None and terms.penalty_rate_multiplier < 1:
        errors.setdefault("penalty_rate_multiplier", []).append(
            _("Penalty interest cannot be below the contract rate (multiplier ≥ 1).")
        )
    order = getattr(terms, "allocation_order", None)
    if order is not None and (not isinstance(order, list) or sorted(map(str, order)) != sorted(Component.values)):
        errors.setdefault("allocation_order", []).append(
            _("The allocation order names each of %(components)s exactly once.")
            % {"components": ", ".join(str(Component(c).label) for c in DEFAULT_ALLOCATION_ORDER)}
        )
    retry = getattr(terms, "collection_retry_days", None)
    if retry is not None and (not isinstance(retry, list)
                              or not all(isinstance(day, int) and not isinstance(day, bool) and 1 <= day <= 90
                                         for day in retry)
                              or len(set(retry)) != len(retry)):
        errors.setdefault("collection_retry_days", []).append(
            _("List the retry days as distinct whole numbers of days after the due date, from 1 to 90.")
        )


def _method_errors(terms, errors):
    methods = list(terms.repayment_methods or [])
    known = set(RepaymentMethod.values)
    if not methods:
        errors.setdefault("repayment_methods", []).append(_("Choose at least one repayment method."))
    unknown = [m for m in methods if m not in known]
    if unknown:
        errors.setdefault("repayment_methods", []).append(
            _("Unknown repayment method(s): %(methods)s.") % {"methods": ", ".join(map(str, unknown))}
        )
    if RepaymentMethod.REVOLVING in methods and terms.product_type != ProductType.REVOLVING_LINE:
        errors.setdefault("repayment_methods", []).append(
            _("Revolving daily interest (随借随还) is only allowed on a revolving line product.")
        )
    if terms.term_unit == TermUnit.DAYS:
        monthly = sorted(set(methods) & MONTHLY_METHODS)
        if monthly:
            errors.setdefault("repayment_methods", []).append(
                _("%(methods)s need a term in months; this product's term is in days.")
                % {"methods": ", ".join(str(RepaymentMethod(m).label) for m in monthly)}
            )
    if RepaymentMethod.INTEREST_FIRST in methods and terms.interest_every_months not in (1, 3):
        errors.setdefault("interest_every_months", []).append(_("Interest is paid every 1 or 3 months."))
    purposes = list(terms.purposes or [])
    if not purposes:
        errors.setdefault("purposes", []).append(_("Choose at least one allowed purpose."))
    bad_purposes = [p for p in purposes if p not in set(Purpose.values)]
    if bad_purposes:
        errors.setdefault("purposes", []).append(
            _("Unknown purpose(s): %(purposes)s.") % {"purposes": ", ".join(map(str, bad_purposes))}
        )


def worst_case_apr(terms) -> tuple[Decimal, dict]:
    """The highest IRR-annualised rate the product allows: maximum rate with its fee, over every
    allowed method at the shortest and longest term (a fee weighs most on the shortest)."""
    annual = annual_rate_fraction(
        rate_percent=terms.rate_max_percent, rate_basis=terms.rate_basis, day_count=terms.day_count
    )
    fee = percent_to_fraction(terms.upfront_fee_percent or 0)
    worst: tuple[Decimal, dict] | None = None
    principal = max(Decimal("10000.00"), Decimal(terms.amount_min))
    principal = min(principal, Decimal(terms.amount_max))
    for method in terms.repayment_methods:
        for term in sorted({terms.term_min, terms.term_max}):
            schedule = engine.generate_schedule(
                engine.LoanTerms(
                    principal=principal,
                    annual_rate=annual,
                    term=term,
                    term_unit=engine.TermUnit(terms.term_unit),
                    method=engine.Method(method),
                    start_date=_APR_PROBE_START,
                    upfront_fee_rate=fee,
                    interest_every_months=terms.interest_every_months or 1,
                    day_count=engine.DayCount(terms.day_count),
                )
            )
            apr = engine.compute_apr(schedule).nominal_percent
            if worst is None or apr > worst[0]:
                worst = (apr, {"method": method, "term": term})
    return worst if worst else (Decimal(0), {})


def validate_product_terms(terms) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    required = ("amount_min", "amount_max", "term_min", "term_max", "rate_min_percent", "rate_default_percent",
                "rate_max_percent")
    if any(getattr(terms, name) is None for name in required):
        return errors  # field-level "required" errors come from the form/serializer
    _range_errors(terms, errors)
    _method_errors(terms, errors)
    if errors:
        return errors
    apr, case = worst_case_apr(terms)
    if apr > terms.apr_cap_percent:
        errors.setdefault("rate_max_percent", []).append(
            _("The worst-case APR is %(apr)s %% (%(method)s, %(term)s %(unit)s at the maximum rate of %(rate)s %% "
              "with an upfront fee of %(fee)s %%), above the APR cap of %(cap)s %%.")
            % {
                "apr": f"{apr:.2f}",
                "method": RepaymentMethod(case["method"]).label,
                "term": case["term"],
                "unit": terms.term_unit,
                "rate": f"{terms.rate_max_percent.normalize():f}",
                "fee": f"{Decimal(terms.upfront_fee_percent or 0).normalize():f}",
                "cap": f"{terms.apr_cap_percent:.2f}",
            }
        )
    return errors
