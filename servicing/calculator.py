"""The trial calculator (试算): a schedule and its APR for given loan terms, optionally checked
against a product. Used by the API and the back-office page alike."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.translation import gettext as _

from creditfactory.core.money import percent_to_fraction
from products import engine
from products.models import ProductVersion, RateBasis
from products.validation import annual_rate_fraction

# Engine input names → calculator field names, so an engine error lands on the field the user typed.
ENGINE_FIELD_NAMES = {
    "principal": "principal",
    "annual_rate": "rate",
    "term": "term",
    "term_unit": "term_unit",
    "method": "method",
    "upfront_fee_rate": "upfront_fee_percent",
    "interest_every_months": "interest_every_months",
    "first_due_date": "first_due_date",
}


class CalculatorError(Exception):
    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(errors)


@dataclass(frozen=True)
class Quote:
    schedule: engine.Schedule
    apr: engine.AprResult
    product_version: ProductVersion | None


def _product_errors(version: ProductVersion, *, principal, term, term_unit, method, rate_percent, rate_field,
                    rate_basis) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not version.amount_min <= principal <= version.amount_max:
        errors["principal"] = [_("Product %(code)s lends %(min)s to %(max)s.")
                               % {"code": version.code, "min": version.amount_min, "max": version.amount_max}]
    if term_unit != version.term_unit:
        errors["term_unit"] = [_("Product %(code)s has terms in %(unit)s.") % {"code": version.code,
                                                                                 "unit": version.term_unit}]
    elif not version.term_min <= term <= version.term_max:
        errors["term"] = [_("Product %(code)s has terms of %(min)s to %(max)s %(unit)s.")
                          % {"code": version.code, "min": version.term_min, "max": version.term_max,
                             "unit": version.term_unit}]
    if method not in version.repayment_methods:
        errors["method"] = [_("Product %(code)s does not offer this repayment method.") % {"code": version.code}]
    if rate_basis != version.rate_basis:
        wanted = "annual_rate_percent" if version.rate_basis == RateBasis.ANNUAL else "daily_rate_percent"
        errors[rate_field] = [_("Product %(code)s quotes its rate as %(field)s.")
                              % {"code": version.code, "field": wanted}]
    elif not version.rate_min_percent <= rate_percent <= version.rate_max_percent:
        errors[rate_field] = [_("Product %(code)s prices between %(min)s %% and %(max)s %%.")
                              % {"code": version.code, "min": version.rate_min_percent.normalize(),
                                 "max": version.rate_max_percent.normalize()}]
    return errors


def schedule_calculate(
    *,
    principal: Decimal,
    rate_percent: Decimal,
    rate_basis: str,
    term: int,
    term_unit: str,
    method: str,
    start_date: date,
    upfront_fee_percent: Decimal | None = None,
    interest_every_months: int | None = None,
    first_due_date: date | None = None,
    product_version: ProductVersion | None = None,
    day_count: str | None = None,
) -> Quote:
    rate_field = "annual_rate_percent" if rate_basis == RateBasis.ANNUAL else "daily_rate_percent"
    if product_version is not None:
        errors = _product_errors(product_version, principal=principal, term=term, term_unit=term_unit, method=method,
                                 rate_percent=rate_percent, rate_field=rate_field, rate_basis=rate_basis)
        if errors:
            raise CalculatorError(errors)
        day_count = product_version.day_count
        if upfront_fee_percent is None:
            upfront_fee_percent = product_version.upfront_fee_percent
        if interest_every_months is None:
            interest_every_months = product_version.interest_every_months
    day_count = day_count or engine.DayCount.ACT_360
    try:
        terms = engine.LoanTerms(
            principal=principal,
            annual_rate=annual_rate_fraction(rate_percent=rate_percent, rate_basis=rate_basis, day_count=day_count),
            term=term,
            term_unit=engine.TermUnit(term_unit),
            method=engine.Method(method),
            start_date=start_date,
            upfront_fee_rate=percent_to_fraction(upfront_fee_percent or 0),
            first_due_date=first_due_date,
            interest_every_months=interest_every_months or 1,
            day_count=engine.DayCount(day_count),
        )
        schedule = engine.generate_schedule(terms)
    except engine.ScheduleError as exc:
        field = ENGINE_FIELD_NAMES.get(exc.field, exc.field)
        if field == "rate":
            field = rate_field
        raise CalculatorError({field: [str(exc)]}) from exc
    return Quote(schedule=schedule, apr=engine.compute_apr(schedule), product_version=product_version)
