"""Limit strategy (额度授信策略) and risk-based pricing (风险定价). Pure code over a published
strategy version's definition, the product version and the loan request; amounts come from the
repayment engine (``products.engine``), so a limit's affordability and a price's APR are computed
the way the loan will be scheduled.

Limit: the band for the applicant's grade and monthly income gives a multiple of that income; the
limit is the least of income × multiple, the product's maximum amount and the debt-to-income cap,
rounded DOWN to the strategy's step. The DTI cap is the principal whose monthly repayment, added
to the applicant's existing monthly debt payments, stays within ``dti_ceiling`` × income. It is
computed at the product's *maximum* rate for the requested term and method, so the limit stays
affordable whatever price the applicant gets. The monthly repayment is the first installment for
the amortising methods (等额本息, 等额本金), and total repayment ÷ months for interest-first, bullet
and revolving (their principal falls due at the end, and the bureau's monthly-debt figure is an
average too).

Pricing: each grade sits at a position in the product's rate band (0 % = the product's minimum
rate, 100 % = its maximum), so one strategy serves products with different bands and quoting
bases and can never price outside the band. The APR (IRR, ``products.engine.compute_apr``) is
then checked against the product's cap **for the requested terms** (method, term, the principal
that will be lent, the product's upfront fee): the product's publication already proved the
worst case over its methods and extreme terms at the maximum rate; what matters here is the loan
being priced. Above the cap, the strategy either clamps the rate down to the highest rate on its
step grid that keeps the APR under the cap, or refers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from creditfactory.core.money import floor_to_step, percent_to_fraction
from products import engine
from products.validation import annual_rate_fraction

__all__ = ["LimitBand", "LimitResult", "LimitSpec", "LoanRequest", "PricingResult", "PricingSpec", "apr_for",
           "compute_limit", "compute_price", "monthly_burden"]

AMORTISING = {engine.Method.EQUAL_INSTALLMENT, engine.Method.EQUAL_PRINCIPAL}
_PROBE_PRINCIPAL = Decimal("10000.00")


@dataclass(frozen=True)
class LoanRequest:
    amount: Decimal
    term: int
    term_unit: str
    method: str
    start_date: date


def _terms_key(product) -> tuple:
    return (product.rate_basis, product.day_count, Decimal(product.upfront_fee_percent or 0),
            int(product.interest_every_months or 1))


@lru_cache(maxsize=4096)
def _schedule(principal: Decimal, rate_percent: Decimal, request: LoanRequest, key: tuple) -> engine.Schedule:
    rate_basis, day_count, fee_percent, interest_every = key
    return engine.generate_schedule(engine.LoanTerms(
        principal=principal,
        annual_rate=annual_rate_fraction(rate_percent=rate_percent, rate_basis=rate_basis, day_count=day_count),
        term=request.term, term_unit=engine.TermUnit(request.term_unit), method=engine.Method(request.method),
        start_date=request.start_date, upfront_fee_rate=percent_to_fraction(fee_percent),
        interest_every_months=interest_every, day_count=engine.DayCount(day_count),
    ))


def _months(request: LoanRequest) -> Decimal:
    return Decimal(request.term) if request.term_unit == engine.TermUnit.MONTHS else Decimal(request.term) / Decimal(30)


def monthly_burden(product, request: LoanRequest, *, rate_percent: Decimal, principal: Decimal = _PROBE_PRINCIPAL
                   ) -> Decimal:
    """What ``principal`` costs a month at ``rate_percent`` on the requested terms (see module doc)."""
    schedule = _schedule(principal, Decimal(rate_percent), request, _terms_key(product))
    if request.method in AMORTISING:
        return schedule.installments[0].payment
    return schedule.total_payment / _months(request)


# --- limit ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitBand:
    grade: str
    income_min: Decimal
    income_max: Decimal | None  # exclusive; None = no upper bound
    multiple: Decimal

    def holds(self, grade: str, income: Decimal) -> bool:
        return (grade == self.grade and income >= self.income_min
                and (self.income_max is None or income < self.income_max))


@dataclass(frozen=True)
class LimitSpec:
    version_id: int | None
    code: str
    version: int
    bands: tuple[LimitBand, ...]
    step: Decimal
    dti_ceiling: Decimal | None  # a fraction: 0.55 = 55 % of monthly income
    below_minimum_outcome: str = "reject"

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], *, version_id: int | None, version: int) -> LimitSpec:
        bands = tuple(
            LimitBand(grade=item["grade"], income_min=Decimal(item["income_min"]),
                      income_max=None if item.get("income_max") in (None, "") else Decimal(item["income_max"]),
                      multiple=Decimal(item["multiple"]))
            for item in definition.get("bands", ())
        )
        ceiling = definition.get("dti_ceiling")
        return cls(version_id=version_id, code=definition["code"], version=version, bands=bands,
                   step=Decimal(definition["step"]), dti_ceiling=None if ceiling in (None, "") else Decimal(ceiling),
                   below_minimum_outcome=definition.get("below_minimum_outcome", "reject"))


@dataclass(frozen=True)
class LimitResult:
    limit: Decimal
    outcome: str  # approve | refer | reject
    reason_code: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def compute_limit(spec: LimitSpec, *, grade: str, monthly_income: Decimal, monthly_debt_payment: Decimal, product,
                  request: LoanRequest) -> LimitResult:
    income = Decimal(monthly_income or 0)
    band = next((item for item in spec.bands if item.holds(grade, income)), None)
    if band is None:
        return LimitResult(limit=Decimal("0.00"), outcome="refer", reason_code="LIMIT_NO_BAND",
                           detail={"grade": grade, "monthly_income": str(income)})
    caps = {"income": income * band.multiple, "product": Decimal(product.amount_max)}
    if spec.dti_ceiling is not None:
        room = income * spec.dti_ceiling - Decimal(monthly_debt_payment or 0)
        if room <= 0:
            caps["dti"] = Decimal(0)
        else:
            try:
                burden = monthly_burden(product, request, rate_percent=product.rate_max_percent)
            except engine.ScheduleError as exc:
                return LimitResult(limit=Decimal("0.00"), outcome="refer", reason_code="TERMS_INVALID",
                                   detail={"field": exc.field, "error": exc.message})
            caps["dti"] = room / burden * _PROBE_PRINCIPAL
    binding = min(caps, key=lambda name: caps[name])
    limit = floor_to_step(max(caps[binding], Decimal(0)), spec.step)
    detail = {"band": {"grade": band.grade, "income_min": str(band.income_min),
                       "income_max": None if band.income_max is None else str(band.income_max),
                       "multiple": str(band.multiple)},
              "caps": {name: str(floor_to_step(max(value, Decimal(0)), Decimal("0.01")))
                       for name, value in caps.items()},
              "binding": binding, "step": str(spec.step)}
    if limit < Decimal(product.amount_min):
        return LimitResult(limit=limit, outcome=spec.below_minimum_outcome, reason_code="LIMIT_BELOW_MINIMUM",
                           detail=detail)
    return LimitResult(limit=limit, outcome="approve", detail=detail)


# --- pricing -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PricingSpec:
    version_id: int | None
    code: str
    version: int
    positions: Mapping[str, Decimal]  # grade → % of the product's rate band
    rate_step: Decimal  # the grid rates are quoted on, in percent (0.0001 = one ten-thousandth of a percent)
    on_apr_breach: str = "clamp"  # clamp | refer

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], *, version_id: int | None, version: int) -> PricingSpec:
        return cls(version_id=version_id, code=definition["code"], version=version,
                   positions={grade: Decimal(value) for grade, value in definition.get("positions", {}).items()},
                   rate_step=Decimal(definition["rate_step"]), on_apr_breach=definition.get("on_apr_breach", "clamp"))


@dataclass(frozen=True)
class PricingResult:
    rate_percent: Decimal | None
    apr_percent: Decimal | None
    outcome: str  # approve | refer
    reason_code: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


def apr_for(product, request: LoanRequest, *, rate_percent: Decimal, principal: Decimal) -> Decimal:
    schedule = _schedule(Decimal(principal), Decimal(rate_percent), request, _terms_key(product))
    return engine.compute_apr(schedule).nominal_percent


def compute_price(spec: PricingSpec, *, grade: str, product, request: LoanRequest, principal: Decimal
                  ) -> PricingResult:
    position = spec.positions.get(grade)
    if position is None:
        return PricingResult(rate_percent=None, apr_percent=None, outcome="refer", reason_code="PRICING_NO_GRADE",
                             detail={"grade": grade})
    low, high = Decimal(product.rate_min_percent), Decimal(product.rate_max_percent)
    rate = (low + (high - low) * position / 100).quantize(spec.rate_step, rounding=ROUND_HALF_UP)
    rate = min(max(rate, low), high)
    cap = Decimal(product.apr_cap_percent)
    detail: dict[str, Any] = {"position": str(position), "band": [str(low), str(high)], "apr_cap": str(cap),
                              "principal": str(principal)}
    try:
        apr = apr_for(product, request, rate_percent=rate, principal=principal)
    except engine.ScheduleError as exc:
        return PricingResult(rate_percent=None, apr_percent=None, outcome="refer", reason_code="TERMS_INVALID",
                             detail={**detail, "field": exc.field, "error": exc.message})
    if apr <= cap:
        return PricingResult(rate_percent=rate, apr_percent=apr, outcome="approve", detail=detail)
    detail["apr_at_position"] = str(apr)
    detail["rate_at_position"] = str(rate)
    if spec.on_apr_breach == "clamp":
        clamped = _highest_rate_under_cap(spec, product, request, principal=principal, low=low, high=rate, cap=cap)
        if clamped is not None:
            clamped_rate, clamped_apr = clamped
            return PricingResult(rate_percent=clamped_rate, apr_percent=clamped_apr, outcome="approve",
                                 reason_code="RATE_CLAMPED_TO_APR_CAP", detail=detail)
    return PricingResult(rate_percent=rate, apr_percent=apr, outcome="refer", reason_code="APR_ABOVE_CAP",
                         detail=detail)


def _highest_rate_under_cap(spec: PricingSpec, product, request, *, principal, low, high, cap):
    """Binary search on the step grid from ``low`` up to ``high``: the APR rises with the rate."""
    first = (low / spec.rate_step).to_integral_value(rounding=ROUND_CEILING)
    last = (high / spec.rate_step).to_integral_value(rounding=ROUND_FLOOR)
    best = None
    while first <= last:
        middle = (first + last) // 2
        rate = (middle * spec.rate_step).quantize(spec.rate_step)
        apr = apr_for(product, request, rate_percent=rate, principal=principal)
        if apr <= cap:
            best, first = (rate, apr), middle + 1
        else:
            last = middle - 1
    return best
