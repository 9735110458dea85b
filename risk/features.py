"""Feature gathering (特征加工): one assessment request in, every catalogue feature out.

``gather_features(request)`` (a ``risk.requests.AssessmentRequest``) queries each data source
through its adapter (cache, timeout, retries, cost; see ``risk.datasources.adapter``) and derives
the applicant and application features. The result is a ``FeatureSnapshot``: the features (exactly the names of
``risk.catalogue.CATALOGUE``, typed per the catalogue), what each source answered (masked), the
sources that were unavailable and the data cost. It round-trips through JSON so a decision can
store it and be replayed from it.

How each feature is derived (``as_of`` defaults to the application's creation date, the
request's ``created_at``):

* ``age``: whole years from the birth date in the resident ID to ``as_of``.
* ``sex``, ``province``: from the resident ID ('M'/'F'; first two digits of the region code).
* ``monthly_income``, ``employment``, ``years_at_employer``: as declared by the applicant.
* ``amount``, ``purpose``, ``channel``: the request's. ``product_type``: its product
  version's. ``term_months``: the term in months; a term in days is days / 30 rounded up.
* ``payment_to_income``: the monthly-equivalent first installment ÷ monthly income, to 4
  decimals (ROUND_HALF_UP). The installment comes from ``products.engine`` for the
  request's amount, term and repayment method at the product version's default rate
  (rate basis, day count, upfront fee, interest interval of the version), starting on
  ``as_of``. Monthly-equivalent: the first installment's payment divided by the months it
  covers (1; 3 for quarterly interest-first; the whole term for single-payment methods,
  bullet and revolving, at least 1). With no income, both ratios are ``NO_INCOME_RATIO``.
* ``debt_to_income``: (``bureau.monthly_debt_payment`` + the same monthly installment) ÷
  monthly income, 4 decimals.
* ``<source>.*`` (bureau, multi_lending, fraud, court, scenario): the source's answer;
  ``<source>.available`` is True when it answered (live or from the cache). The fraud
  features also reflect our own lists (``RiskListEntry``): a fraud-list entry sets the hit of
  its kind, a risk-list entry sets ``fraud.risk_list_hit``.
* ``enterprise.present``: the request names an enterprise; ``enterprise.years_in_business``
  and ``enterprise.annual_revenue`` are its figures (0 without an enterprise).

Every source is asked (cache, then provider) before anything is raised, so the answers that
were paid for are recorded and a retry finds them in the cache. A source that failed after its
retries then raises ``DataSourceUnavailable`` (the caller retries later), or with ``tolerate_failures=True`` is listed in ``unavailable`` with
``<source>.available = False`` and neutral values (0, 0.00, False): the decision must then
refer, never approve. Our own lists are local, so the fraud features still show their hits
when the external list source is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from django.utils import timezone

from creditfactory.core.money import percent_to_fraction
from products import engine
from products.validation import annual_rate_fraction
from risk.catalogue import CATALOGUE, SOURCES
from risk.datasources.adapter import configs_for, encode_result, merge_own_lists, own_list_summary, sources_fetch
from risk.datasources.base import RESULT_FIELDS, Query
from risk.requests import AssessmentRequest
from risk.validators import age_on

__all__ = [
    "source_features",
    "DataSourceUnavailable",
    "FeatureSnapshot",
    "NO_INCOME_RATIO",
    "SourceResult",
    "features_from_json",
    "features_to_json",
    "gather_features",
]

ZERO = Decimal("0.00")
RATIO = Decimal("0.0001")
# The ratio used when the applicant declares no income: larger than any real ceiling.
NO_INCOME_RATIO = Decimal("999.9999")
_NEUTRAL = {"int": 0, "decimal": ZERO, "bool": False, "str": ""}
_CASTS = {"int": int, "decimal": Decimal, "bool": bool, "str": str}


@dataclass(frozen=True)
class SourceResult:
    source: str
    status: str  # "ok" | "cached" | "unavailable"
    provider: str
    cost: Decimal
    latency_ms: int
    call_id: int | None
    summary: dict  # masked, JSON-safe
    error: str = ""

    def to_json(self) -> dict:
        return {
            "source": self.source, "status": self.status, "provider": self.provider, "cost": str(self.cost),
            "latency_ms": self.latency_ms, "call_id": self.call_id, "summary": self.summary, "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict) -> SourceResult:
        return cls(
            source=data["source"], status=data["status"], provider=data["provider"], cost=Decimal(data["cost"]),
            latency_ms=int(data["latency_ms"]), call_id=data.get("call_id"), summary=dict(data.get("summary") or {}),
            error=data.get("error", ""),
        )


def _feature_to_json(value):
    return str(value) if isinstance(value, Decimal) else value


def _feature_from_json(name: str, value):
    feature = CATALOGUE.get(name)
    if feature is None or value is None:
        return value  # a feature since removed from the catalogue keeps its stored form
    if feature.type == "decimal":
        return Decimal(str(value))
    if feature.type == "int":
        return int(value)
    if feature.type == "bool":
        return bool(value)
    return str(value)


def features_to_json(features: dict) -> dict:
    return {name: _feature_to_json(value) for name, value in features.items()}


def features_from_json(data: dict) -> dict:
    """JSON features → values typed per the catalogue (Decimal, int, bool, str)."""
    return {name: _feature_from_json(name, value) for name, value in data.items()}


@dataclass(frozen=True)
class FeatureSnapshot:
    features: dict  # every name in risk.catalogue.CATALOGUE, typed per the catalogue
    sources: dict[str, SourceResult]
    unavailable: tuple[str, ...]
    total_cost: Decimal

    def to_json(self) -> dict:
        """JSON-safe (Decimals as strings)."""
        return {
            "features": features_to_json(self.features),
            "sources": {name: result.to_json() for name, result in self.sources.items()},
            "unavailable": list(self.unavailable),
            "total_cost": str(self.total_cost),
        }

    @classmethod
    def from_json(cls, data: dict) -> FeatureSnapshot:
        """Exact inverse of ``to_json``: feature types are restored from the catalogue."""
        return cls(
            features=features_from_json(data["features"]),
            sources={name: SourceResult.from_json(result) for name, result in data["sources"].items()},
            unavailable=tuple(data.get("unavailable", ())),
            total_cost=Decimal(data["total_cost"]),
        )


class DataSourceUnavailable(Exception):
    """A data source failed after its retries; ``retryable`` says whether a later attempt may
    succeed (a timeout) or not (an unknown provider, a malformed answer)."""

    def __init__(self, source: str, message: str = "", *, retryable: bool = True):
        self.source = source
        self.retryable = retryable
        super().__init__(message or source)


def gather_features(request: AssessmentRequest, *, tolerate_failures: bool = False,
                    as_of: date | None = None) -> FeatureSnapshot:
    """Every catalogue feature of ``request``; see the module docstring for each derivation.
    Records a ``DataSourceCall`` per source."""
    applicant = request.applicant
    if as_of is None:
        as_of = timezone.localdate(request.created_at) if request.created_at else timezone.localdate()
    query = Query.for_request(request)
    configs = configs_for(SOURCES)

    outcome = sources_fetch(sources=SOURCES, query=query, applicant=applicant, application_id=request.application_id,
                            configs=configs)
    if outcome.failures and not tolerate_failures:
        source, exc = next(iter(outcome.failures.items()))
        raise DataSourceUnavailable(source, str(exc), retryable=exc.retryable) from exc

    features, sources = source_features(sources=SOURCES, outcome=outcome, configs=configs)
    unavailable = tuple(source for source in SOURCES if source in outcome.failures)

    features.update(_applicant_features(applicant, as_of))
    features.update(_request_features(request, as_of, features))
    features.update(_enterprise_features(request.enterprise))
    # Plain Python types in catalogue order (choice enums become their str value).
    ordered = {name: _CASTS[feature.type](features[name]) for name, feature in CATALOGUE.items()}
    total = sum((result.cost for result in sources.values()), ZERO)
    return FeatureSnapshot(features=ordered, sources=sources, unavailable=unavailable, total_cost=total)


def _applicant_features(applicant, as_of: date) -> dict:
    return {
        "age": age_on(applicant.birth_date, as_of),
        "sex": applicant.sex,
        "monthly_income": applicant.monthly_income,
        "employment": applicant.employment,
        "years_at_employer": applicant.years_at_employer,
        "province": applicant.province,
    }


def term_in_months(term: int, term_unit: str) -> int:
    if term_unit == engine.TermUnit.DAYS:
        return int((Decimal(term) / 30).to_integral_value(rounding=ROUND_CEILING))
    return term


def monthly_installment(request: AssessmentRequest, as_of: date) -> Decimal:
    """The first installment's payment per month it covers, at the product's default rate."""
    version = request.product_version
    terms = engine.LoanTerms(
        principal=request.amount,
        annual_rate=annual_rate_fraction(rate_percent=version.rate_default_percent, rate_basis=version.rate_basis,
                                         day_count=version.day_count),
        term=request.term,
        term_unit=engine.TermUnit(request.term_unit),
        method=engine.Method(request.method),
        start_date=as_of,
        upfront_fee_rate=percent_to_fraction(version.upfront_fee_percent or 0),
        interest_every_months=version.interest_every_months,
        day_count=engine.DayCount(version.day_count),
    )
    first = engine.generate_schedule(terms).installments[0]
    months = (max(1, term_in_months(request.term, request.term_unit))
              if terms.method.is_single_payment else terms.period_months)
    return first.payment / months


def _ratio(numerator: Decimal, income: Decimal) -> Decimal:
    if income <= 0:
        return NO_INCOME_RATIO
    return (numerator / income).quantize(RATIO, rounding=ROUND_HALF_UP)


def _request_features(request: AssessmentRequest, as_of: date, features: dict) -> dict:
    income = request.applicant.monthly_income
    installment = monthly_installment(request, as_of)
    return {
        "amount": request.amount,
        "term_months": term_in_months(request.term, request.term_unit),
        "purpose": request.purpose,
        "product_type": request.product_version.product_type,
        "channel": request.channel,
        "payment_to_income": _ratio(installment, income),
        "debt_to_income": _ratio(features["bureau.monthly_debt_payment"] + installment, income),
    }


def _enterprise_features(enterprise) -> dict:
    if enterprise is None:
        return {"enterprise.present": False, "enterprise.years_in_business": 0, "enterprise.annual_revenue": ZERO}
    return {
        "enterprise.present": True,
        "enterprise.years_in_business": enterprise.years_in_business,
        "enterprise.annual_revenue": enterprise.annual_revenue,
    }


def source_features(*, sources, outcome, configs) -> tuple[dict, dict[str, "SourceResult"]]:
    """The features and call results of fetched ``sources`` (``sources_fetch``'s outcome): an
    answer's values, or neutral values (with our own lists for fraud) for a source that failed."""
    features: dict = {}
    results: dict[str, SourceResult] = {}
    for source in sources:
        answer = outcome.answers.get(source)
        if answer is not None:
            features[f"{source}.available"] = True
            features.update({f"{source}.{name}": value for name, value in answer.result.items()})
            results[source] = SourceResult(
                source=source, status=answer.status, provider=answer.provider, cost=answer.cost,
                latency_ms=answer.latency_ms, call_id=answer.call.pk, summary=answer.summary,
            )
            continue
        exc = outcome.failures[source]
        values = {name: _NEUTRAL[kind] for name, kind in RESULT_FIELDS[source].items()}
        summary: dict = {}
        if source == "fraud":
            values = merge_own_lists(values, outcome.own_list_entries)
            summary = {**encode_result(source, values), "own_list_hits": own_list_summary(outcome.own_list_entries)}
        features[f"{source}.available"] = False
        features.update({f"{source}.{name}": value for name, value in values.items()})
        results[source] = SourceResult(
            source=source, status="unavailable", provider=configs[source].provider, cost=ZERO,
            latency_ms=exc.latency_ms, call_id=exc.call_id, summary=summary, error=str(exc),
        )
    return features, results
