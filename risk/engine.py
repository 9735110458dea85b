"""The decision pipeline, as pure code: features and published versions in, an explainable result
out. ``risk.services.decisions`` feeds it from the database and stores what it returns;
``decision_replay`` feeds it the stored snapshot and versions and must get the same result.

Order: data availability → admission (准入) → direct reject (直拒) → anti-fraud (反欺诈) → score →
limit → pricing. Within a rule stage the rule sets run in code order and their rules by priority
(lower first). A ``reject`` ends the decision after the stage it happened in: every rule of that
stage is still evaluated so all its reasons are listed, later steps are recorded as ``skipped``.
``refer`` and rule errors make the outcome at best ``refer``; ``flag`` and ``warn`` are recorded
for the reviewer and change nothing. A data source that did not answer is a ``refer`` reason
naming the source: a decision is never approved on missing data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .rules import ORIGINATION_STAGES, RuleResult, RuleSetSpec, evaluate_rule_set, feature_context
from .scoring import ScorecardSpec, score_applicant
from .strategies import LimitSpec, LoanRequest, PricingSpec, compute_limit, compute_price

__all__ = ["STEP_LABELS", "SYSTEM_REASONS", "EngineResult", "PolicyBundle", "Reason", "run_policy"]

STEP_LABELS = {
    "data": _("Data collection (数据采集)"),
    "admission": _("Admission (准入)"),
    "direct_reject": _("Direct reject (直拒)"),
    "anti_fraud": _("Anti-fraud (反欺诈)"),
    "score": _("Credit score (信用评分)"),
    "limit": _("Limit (额度)"),
    "pricing": _("Pricing (定价)"),
}

# Reasons the pipeline itself gives: code → (internal description, customer-facing reason or None).
SYSTEM_REASONS = {
    "DATA_SOURCE_UNAVAILABLE": (
        _("Data source %(source)s did not answer (%(error)s); the application needs a manual review."),
        _("We could not complete the automatic checks; your application will be reviewed by our staff."),
    ),
    "RULE_ERROR": (
        _("Rule %(rule)s could not be evaluated: %(error)s."),
        _("Your application will be reviewed by our staff."),
    ),
    "SCORE_GRADE_REJECT": (
        _("Score %(score)s is grade %(grade)s, which the scorecard rejects."),
        _("Your application does not meet our credit criteria."),
    ),
    "SCORE_GRADE_REFER": (
        _("Score %(score)s is grade %(grade)s, which the scorecard refers to manual review."),
        _("Your application will be reviewed by our staff."),
    ),
    "LIMIT_NO_BAND": (
        _("The limit strategy has no band for grade %(grade)s and a monthly income of %(monthly_income)s."),
        _("Your application will be reviewed by our staff."),
    ),
    "LIMIT_BELOW_MINIMUM": (
        _("The computed limit %(limit)s is below the product's minimum amount %(minimum)s."),
        _("The amount we could lend is below this product's minimum amount."),
    ),
    "TERMS_INVALID": (
        _("The requested terms cannot be scheduled (%(field)s: %(error)s)."),
        _("Your application will be reviewed by our staff."),
    ),
    "PRICING_NO_GRADE": (
        _("The pricing strategy has no rate for grade %(grade)s."),
        _("Your application will be reviewed by our staff."),
    ),
    "APR_ABOVE_CAP": (
        _("The APR %(apr)s %% at rate %(rate)s %% is above the product's cap of %(cap)s %%."),
        _("Your application will be reviewed by our staff."),
    ),
    "RATE_CLAMPED_TO_APR_CAP": (
        _("The grade's rate %(from_rate)s %% gave an APR above the cap %(cap)s %%; lowered to %(rate)s %%."),
        None,  # internal only: the customer simply gets the lower rate
    ),
}


@dataclass(frozen=True)
class PolicyBundle:
    """The published versions one decision runs on."""

    rule_sets: tuple[RuleSetSpec, ...]
    scorecard: ScorecardSpec
    limit: LimitSpec
    pricing: PricingSpec


@dataclass(frozen=True)
class Reason:
    code: str
    stage: str
    outcome: str  # reject | refer | flag | warn
    rule_set: str = ""
    rule_code: str = ""
    description: str = ""  # internal: for staff, never sent to the customer
    customer_reason: Mapping[str, str] = field(default_factory=dict)  # language code → text
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "stage": self.stage, "outcome": self.outcome, "rule_set": self.rule_set,
                "rule_code": self.rule_code, "description": self.description,
                "customer_reason": dict(self.customer_reason), "params": dict(self.params)}


def system_reason(code: str, *, stage: str, outcome: str, **params: Any) -> Reason:
    """A pipeline reason; texts rendered in the default language (internal) and in every
    language (customer), so they read the same whoever later displays or replays the decision."""
    internal, customer = SYSTEM_REASONS[code]
    params = {name: (str(value) if isinstance(value, Decimal) else value) for name, value in params.items()}
    with translation.override(settings.LANGUAGE_CODE):
        description = str(internal) % params
    texts = {}
    if customer is not None:
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                texts[language] = str(customer)
    return Reason(code=code, stage=stage, outcome=outcome, description=description, customer_reason=texts,
                  params=params)


@dataclass
class EngineResult:
    outcome: str = "approve"
    grade: str = ""
    score: int | None = None
    limit: Decimal | None = None
    rate_percent: Decimal | None = None
    apr_percent: Decimal | None = None
    reasons: list[Reason] = field(default_factory=list)
    rule_results: list[RuleResult] = field(default_factory=list)
    score_breakdown: list[dict[str, Any]] = field(default_factory=list)
    steps: list[dict[str, str]] = field(default_factory=list)  # [{step, status}] in pipeline order
    limit_detail: dict[str, Any] = field(default_factory=dict)
    pricing_detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Everything a replay must reproduce, JSON-safe (Decimals as strings)."""
        return {
            "outcome": self.outcome, "grade": self.grade, "score": self.score,
            "limit": None if self.limit is None else str(self.limit),
            "rate_percent": None if self.rate_percent is None else str(self.rate_percent),
            "apr_percent": None if self.apr_percent is None else str(self.apr_percent),
            "reasons": [reason.to_json() for reason in self.reasons],
            "rule_results": [result.to_json() for result in self.rule_results],
            "score_breakdown": list(self.score_breakdown),
            "steps": list(self.steps),
            "limit_detail": self.limit_detail,
            "pricing_detail": self.pricing_detail,
        }


def _rule_reason(spec: RuleSetSpec, result: RuleResult) -> Reason:
    rule = next(item for item in spec.rules if item.code == result.rule_code)
    return Reason(code=rule.reason_code, stage=spec.stage, outcome=rule.outcome, rule_set=spec.code,
                  rule_code=rule.code, description=rule.description, customer_reason=dict(rule.customer_reason))


def _run_rule_stage(stage: str, rule_sets: Iterable[RuleSetSpec], context, features, unavailable, result) -> str:
    outcomes: set[str] = set()
    for spec in sorted((item for item in rule_sets if item.stage == stage), key=lambda item: item.code):
        for rule_result in evaluate_rule_set(spec, context, features, unavailable=unavailable):
            result.rule_results.append(rule_result)
            if rule_result.status == "matched":
                result.reasons.append(_rule_reason(spec, rule_result))
                outcomes.add(rule_result.outcome)
            elif rule_result.status == "error":
                result.reasons.append(system_reason("RULE_ERROR", stage=stage, outcome="refer",
                                                    rule=f"{spec.code}/{rule_result.rule_code}",
                                                    error=rule_result.detail))
                outcomes.add("refer")
    for status, outcome in (("rejected", "reject"), ("referred", "refer"), ("flagged", "flag"), ("flagged", "warn")):
        if outcome in outcomes:
            return status
    return "passed"


def run_policy(features: Mapping[str, Any], *, bundle: PolicyBundle, product, request: LoanRequest,
               unavailable: Iterable[str] = (), source_errors: Mapping[str, str] | None = None) -> EngineResult:
    """Decide one application. ``product`` is the application's (immutable) product version."""
    down = tuple(sorted(set(unavailable)))
    result = EngineResult()
    for source in down:
        error = (source_errors or {}).get(source) or "unavailable"
        result.reasons.append(system_reason("DATA_SOURCE_UNAVAILABLE", stage="data", outcome="refer",
                                            source=source, error=error))
    result.steps.append({"step": "data", "status": "referred" if down else "passed"})

    context = feature_context(features)
    steps = [*ORIGINATION_STAGES, "score", "limit", "pricing"]
    for index, step in enumerate(steps):
        if step in ORIGINATION_STAGES:
            status = _run_rule_stage(step, bundle.rule_sets, context, features, down, result)
        elif step == "score":
            status = _score(bundle.scorecard, features, down, result)
        elif step == "limit":
            status = _limit(bundle.limit, features, product, request, result)
        else:
            status = _price(bundle.pricing, product, request, result)
        result.steps.append({"step": str(step), "status": status})
        if status == "rejected":
            result.steps.extend({"step": str(later), "status": "skipped"} for later in steps[index + 1:])
            break

    outcomes = {reason.outcome for reason in result.reasons}
    result.outcome = "reject" if "reject" in outcomes else "refer" if "refer" in outcomes else "approve"
    if result.outcome == "reject":
        result.limit = result.rate_percent = result.apr_percent = None
    return result


def _score(spec: ScorecardSpec, features, down, result: EngineResult) -> str:
    scored = score_applicant(spec, features, unavailable=down)
    result.score, result.grade = scored.score, scored.grade
    result.score_breakdown = list(scored.breakdown)
    outcome = spec.outcome_for(scored.grade)
    if outcome == "approve":
        return "passed"
    code = "SCORE_GRADE_REJECT" if outcome == "reject" else "SCORE_GRADE_REFER"
    result.reasons.append(system_reason(code, stage="score", outcome=outcome, score=scored.score, grade=scored.grade))
    return "rejected" if outcome == "reject" else "referred"


def _limit(spec: LimitSpec, features, product, request, result: EngineResult) -> str:
    computed = compute_limit(spec, grade=result.grade, monthly_income=features.get("monthly_income") or Decimal(0),
                             monthly_debt_payment=features.get("bureau.monthly_debt_payment") or Decimal(0),
                             product=product, request=request)
    result.limit = computed.limit
    result.limit_detail = dict(computed.detail)
    if computed.outcome == "approve":
        return "passed"
    detail = computed.detail
    params = {
        "LIMIT_NO_BAND": {"grade": result.grade, "monthly_income": detail.get("monthly_income")},
        "LIMIT_BELOW_MINIMUM": {"limit": computed.limit, "minimum": Decimal(product.amount_min)},
        "TERMS_INVALID": {"field": detail.get("field"), "error": detail.get("error")},
    }[computed.reason_code]
    result.reasons.append(system_reason(computed.reason_code, stage="limit", outcome=computed.outcome, **params))
    return "rejected" if computed.outcome == "reject" else "referred"


def _price(spec: PricingSpec, product, request: LoanRequest, result: EngineResult) -> str:
    # The APR is checked on what will be lent: the request, at most the limit.
    principal = Decimal(request.amount)
    if result.limit is not None and Decimal(product.amount_min) <= result.limit < principal:
        principal = result.limit
    priced = compute_price(spec, grade=result.grade, product=product, request=request, principal=principal)
    result.rate_percent, result.apr_percent = priced.rate_percent, priced.apr_percent
    result.pricing_detail = dict(priced.detail)
    if not priced.reason_code:
        return "passed"
    detail, cap = priced.detail, Decimal(product.apr_cap_percent)
    params = {
        "PRICING_NO_GRADE": {"grade": result.grade},
        "TERMS_INVALID": {"field": detail.get("field"), "error": detail.get("error")},
        "APR_ABOVE_CAP": {"apr": priced.apr_percent, "rate": priced.rate_percent, "cap": cap},
        "RATE_CLAMPED_TO_APR_CAP": {"from_rate": detail.get("rate_at_position"), "rate": priced.rate_percent,
                                    "cap": cap},
    }[priced.reason_code]
    outcome = "flag" if priced.outcome == "approve" else priced.outcome
    result.reasons.append(system_reason(priced.reason_code, stage="pricing", outcome=outcome, **params))
    return "flagged" if outcome == "flag" else "referred"
