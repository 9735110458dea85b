"""In-loan checks (贷中): ``drawdown_check`` decides whether a drawdown may go on, with the
product's in-loan drawdown rule set; ``warning_check`` re-checks a borrower with its in-loan
warning rule set and says how a hit is handled. Servicing and the flows call them with ids and
act on the result (reject the drawdown, freeze the line, raise a warning); risk imports nothing
of them.

Both pull the multi-lending, list (fraud/risk, external and our own) and court data **again**,
bypassing the per-applicant cache — what the borrower did since the line was granted is the
point — and record each call with its cost (``DataSourceCall``, linked to the check). A product
whose policy has no rule set of the stage passes without pulling anything.

Each check is stored as an ``InLoanCheck`` (reference, rules, reasons, data, cost). The caller's
reference (the drawdown number; a monitoring run's key) is the idempotency key: the same
reference returns the stored check, no second pull, so a retried task changes nothing.

A source that did not answer leaves the rules reading it *not evaluated*; our own lists are
local, so their hits still fire the list rules when the external list source is down.

Drawdown outcome: ``freeze`` if a freeze rule fired (the drawdown is rejected and the line
frozen), else ``reject``, else ``refer`` (also when a source did not answer or a rule could not
be evaluated: never a pass on missing data), else ``pass``; ``flag`` rules are recorded only.
Warning: ``hit`` when a ``warn`` rule fired; the handling is the most severe of the fired rules'
(freeze > reduce the limit > stop pending drawdowns > notify; a rule without one notifies).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone, translation

from creditfactory.core.pii import blind_index
from products.models import LoanProduct, ProductVersion

from ..datasources.adapter import configs_for, sources_fetch
from ..datasources.base import Query
from ..engine import Reason, system_reason
from ..fastpath import DATA_SOURCE_CALLS, in_loan_check_insert, in_loan_fast, in_loan_inputs
from ..features import SourceResult, _applicant_features, features_to_json, source_features, term_in_months
from ..models import Applicant, DataSourceCall, InLoanCheck, InLoanCheckKind, InLoanOutcome
from ..models.decisions import pick_language
from ..requests import DrawdownCheckRequest
from ..catalogue import CATALOGUE
from ..rules import (
    IN_LOAN_FEATURES,
    IN_LOAN_SOURCES,
    WARNING_ACTION_SEVERITY,
    RuleResult,
    RuleSetSpec,
    Stage,
    WarningAction,
    evaluate_rule_set,
    feature_context,
)
from ..selectors import in_loan_rule_set_specs, in_loan_rule_sets

__all__ = ["InLoanCheckResult", "WarningCheckResult", "check_reasons", "drawdown_check", "warning_check"]

ZERO = Decimal("0.00")
_CASTS = {"int": int, "decimal": Decimal, "bool": bool, "str": str}
# Most decisive first.
_DRAWDOWN_OUTCOMES = (InLoanOutcome.FREEZE, InLoanOutcome.REJECT, InLoanOutcome.REFER)


@dataclass(frozen=True)
class InLoanCheckResult:
    outcome: str  # pass | refer | reject | freeze
    reasons: list[str]  # the reasons that decided, as texts in the active language
    reference: str  # the InLoanCheck's reference
    reason_codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class WarningCheckResult:
    hit: bool
    action: str  # WarningAction code, "" when nothing fired
    reasons: list[str]
    reference: str
    source: str = "monitoring"  # why the check ran, as the caller said (monitoring | list_entry | …)
    reason_codes: list[str] = field(default_factory=list)


def check_reasons(*, check: InLoanCheck, language: str | None = None) -> list[str]:
    """The stored reasons of ``check`` as texts: the customer-facing reason in ``language`` (the
    active one by default), else the rule's description."""
    language = language or translation.get_language() or "zh-hans"
    texts = []
    for reason in check.reasons:
        customer = reason.get("customer_reason") or {}
        text = pick_language(customer, language) if customer else ""
        texts.append(text or reason.get("description") or "")
    return texts


def drawdown_check(*, request: DrawdownCheckRequest) -> InLoanCheckResult:
    """The in-loan check of one drawdown (see the module docstring)."""
    check = _check(
        kind=InLoanCheckKind.DRAWDOWN, stage=Stage.IN_LOAN_DRAWDOWN, subject_reference=request.drawdown_reference,
        applicant_id=request.applicant_id, product_id=request.product_id,
        product_version_id=request.product_version_id, line_id=request.line_id, amount=request.amount,
        request_features={
            "amount": Decimal(request.amount), "purpose": request.purpose, "channel": request.channel,
            "term_months": term_in_months(request.term, request.term_unit) if request.term else 0,
        },
        device_id=request.device_id,
    )
    return InLoanCheckResult(outcome=check.outcome, reasons=check_reasons(check=check), reference=check.reference,
                             reason_codes=[reason["code"] for reason in check.reasons])


def warning_check(*, applicant_id: int, product_id: int, reference: str, line_id: int | None = None,
                  source: str = "monitoring") -> WarningCheckResult:
    """The in-loan warning check of one borrower of one product (see the module docstring).
    ``reference`` is the caller's key for this check: the same one returns the stored check."""
    check = _check(
        kind=InLoanCheckKind.WARNING, stage=Stage.IN_LOAN_WARNING, subject_reference=reference,
        applicant_id=applicant_id, product_id=product_id, product_version_id=None, line_id=line_id, amount=None,
        request_features={}, device_id="",
    )
    return WarningCheckResult(hit=check.hit, action=check.action, reasons=check_reasons(check=check),
                              reference=check.reference, source=source,
                              reason_codes=[reason["code"] for reason in check.reasons])


# --- the check ---------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _version_product_type(product_version_id: int) -> str:
    """A published product version's type, read once per process: a published version never
    changes (``products.models.ProductVersion``; the working copy, which admins edit, is the
    product)."""
    return ProductVersion.objects.filter(pk=product_version_id).values_list("product_type", flat=True).first() or ""


def _existing(kind: str, subject_reference: str) -> InLoanCheck | None:
    if not subject_reference:
        return None
    return InLoanCheck.objects.filter(kind=kind, subject_reference=subject_reference).first()


def _check(*, kind, stage, subject_reference, applicant_id, product_id, product_version_id, line_id, amount,
           request_features, device_id) -> InLoanCheck:
    subject_reference = (subject_reference or "")[:64]
    # On PostgreSQL one statement reads what the check needs before it pulls data and one writes
    # the check with its calls (risk.fastpath); elsewhere the ORM reads and writes.
    inputs = None
    if in_loan_fast():
        inputs = in_loan_inputs(kind=kind, subject_reference=subject_reference, product_id=product_id, stage=stage,
                                applicant_id=applicant_id, sources=IN_LOAN_SOURCES,
                                device_index=blind_index("device", device_id) if device_id else None,
                                now=timezone.now(), calls=len(IN_LOAN_SOURCES))
    if inputs is None or inputs.existing_id is not None:
        existing = _existing(kind, subject_reference)
        if existing is not None:
            return existing
    if inputs is None:
        specs = in_loan_rule_sets(product_id=product_id, stage=stage)
    else:
        specs = in_loan_rule_set_specs(product_id=product_id, stage=stage, refs=inputs.rule_set_refs)
    values = dict(kind=kind, subject_reference=subject_reference, applicant_id=applicant_id, product_id=product_id,
                  product_version_id=product_version_id, credit_line_id=line_id, amount=amount)
    if not specs:
        return _record(values, outcome=InLoanOutcome.PASS if kind == InLoanCheckKind.DRAWDOWN else "",
                       call_ids=[], calls=None if inputs is None else [])
    if product_version_id:
        product_type = _version_product_type(product_version_id)
    else:
        product_type = LoanProduct.objects.filter(pk=product_id).values_list("product_type", flat=True).first()
    request_features = {**request_features, "product_type": product_type or ""}
    if inputs is None:
        applicant = Applicant.objects.get(pk=applicant_id)
        configs = _fresh_configs()
    elif inputs.applicant is None:
        raise Applicant.DoesNotExist("Applicant matching query does not exist.")
    else:
        applicant = inputs.applicant
        configs = _cached_configs(inputs.configs_stamp)
    # Outside any transaction: the calls and their cost stay recorded whatever happens next (on
    # PostgreSQL they are written with the check, or on their own if the check is not).
    features, sources, unavailable, calls = _gather(
        applicant=applicant, device_id=device_id, extra=request_features, configs=configs,
        call_ids=None if inputs is None else inputs.call_ids,
        own_list_entries=None if inputs is None else inputs.own_list_entries)
    try:
        return _decide(kind=kind, stage=stage, specs=specs, values=values, features=features, sources=sources,
                       unavailable=unavailable, calls=None if inputs is None else calls)
    except BaseException:
        if calls and calls[0]._state.adding:  # not written: write them on their own
            try:
                DATA_SOURCE_CALLS.insert_many(calls)
            except DatabaseError:
                pass  # the caller's transaction is broken: they would have been rolled back with it
        raise


def _decide(*, kind, stage, specs, values, features, sources, unavailable, calls) -> InLoanCheck:
    """Evaluate the rule sets on the gathered data and record the check."""
    context = feature_context(features)
    results: list[RuleResult] = []
    reasons: list[Reason] = []
    # With the external list source down, a hit on our own lists is still a hit (a miss is unknown).
    own_hits = "fraud" in unavailable and bool(sources["fraud"].summary.get("own_list_hits"))
    for spec in specs:
        evaluated = evaluate_rule_set(spec, context, features, unavailable=unavailable)
        if own_hits:
            retried = evaluate_rule_set(spec, context, features, unavailable=set(unavailable) - {"fraud"})
            evaluated = [again if first.status == "not_evaluated" and again.matched else first
                         for first, again in zip(evaluated, retried)]
        for result in evaluated:
            results.append(result)
            if result.status == "matched":
                reasons.append(_rule_reason(spec, result))
            elif result.status == "error":
                reasons.append(system_reason("RULE_ERROR", stage=stage, outcome="refer",
                                             rule=f"{spec.code}/{result.rule_code}", error=result.detail))
    if kind == InLoanCheckKind.DRAWDOWN:
        for source in unavailable:
            reasons.insert(0, system_reason("DATA_SOURCE_UNAVAILABLE", stage="data", outcome="refer", source=source,
                                            error=sources[source].error or "unavailable"))
        fired = {reason.outcome for reason in reasons}
        outcome = next((item for item in _DRAWDOWN_OUTCOMES if item in fired), InLoanOutcome.PASS)
        hit, action = False, ""
    else:
        outcome = ""
        warned = [reason for reason in reasons if reason.outcome == "warn"]
        hit = bool(warned)
        actions = [reason.params.get("warning_action") or WarningAction.NOTIFY for reason in warned]
        action = max(actions, key=lambda item: WARNING_ACTION_SEVERITY[item]) if actions else ""
    values.update(
        hit=hit, action=action, reasons=[reason.to_json() for reason in reasons],
        rule_results=[result.to_json() for result in results],
        snapshot={"features": features_to_json(features),
                  "sources": {name: result.to_json() for name, result in sources.items()}},
        unavailable_sources=list(unavailable),
        versions=[{"id": spec.version_id, "code": spec.code, "version": spec.version, "stage": spec.stage}
                  for spec in specs],
        data_cost=sum((result.cost for result in sources.values()), ZERO),
    )
    return _record(values, outcome=outcome, call_ids=[r.call_id for r in sources.values() if r.call_id],
                   calls=calls)


def _rule_reason(spec: RuleSetSpec, result: RuleResult) -> Reason:
    rule = next(item for item in spec.rules if item.code == result.rule_code)
    params = {"warning_action": rule.warning_action} if rule.warning_action else {}
    return Reason(code=rule.reason_code, stage=spec.stage, outcome=rule.outcome, rule_set=spec.code,
                  rule_code=rule.code, description=rule.description, customer_reason=dict(rule.customer_reason),
                  params=params)


def _record(values: dict, *, outcome: str, call_ids: list[int], calls: list[DataSourceCall] | None) -> InLoanCheck:
    """Store the check. ``calls``: the check's calls, not written yet, are written with it in one
    statement (PostgreSQL); None: they are written, and are linked to the check here."""
    kind = values["kind"]
    prefix = "ILD" if kind == InLoanCheckKind.DRAWDOWN else "ILW"
    reference = f"{prefix}-{timezone.localdate():%Y%m%d}-{uuid.uuid4().hex[:12].upper()}"
    if calls is not None:
        check = InLoanCheck(reference=reference, outcome=outcome, **values)
        if in_loan_check_insert(check, calls):
            return check
        # A concurrent worker checked the same drawdown first: its check stands (the calls of
        # this one are recorded, unlinked).
        existing = _existing(kind, values["subject_reference"])
        if existing is None:
            raise IntegrityError(f"in-loan check {reference} was not inserted")
        return existing
    try:
        with transaction.atomic():
            check = InLoanCheck.objects.create(reference=reference, outcome=outcome, **values)
            if call_ids:
                DataSourceCall.objects.filter(pk__in=call_ids).update(in_loan_check=check)
    except IntegrityError:
        # A concurrent worker checked the same drawdown first: its check stands.
        existing = _existing(kind, values["subject_reference"])
        if existing is None:
            raise
        return existing
    return check


def _fresh(config):
    """The source's configuration with the cache switched off: an in-loan check pulls again."""
    config = copy.copy(config)
    config.cache_days = 0
    return config


# The in-loan sources' configurations, cache switched off, per database and stamp (the md5 of
# every column of their rows, ``risk.fastpath.in_loan_inputs``, read with every check): an admin's
# change takes effect on the next check. On a miss the rows are read after the stamp, so they can
# only be newer than it; an older stamp never comes back, as every save changes ``updated_at``.
_CONFIGS: dict[tuple[str, str], dict] = {}
_CONFIGS_MAX = 32


def _fresh_configs() -> dict:
    return {source: _fresh(config) for source, config in configs_for(IN_LOAN_SOURCES).items()}


def _cached_configs(stamp: str) -> dict:
    key = (connection.settings_dict["NAME"], stamp)
    configs = _CONFIGS.get(key)
    if configs is None:
        if len(_CONFIGS) >= _CONFIGS_MAX:
            _CONFIGS.clear()
        configs = _CONFIGS[key] = _fresh_configs()
    return configs


def _gather(*, applicant: Applicant, device_id: str, extra: dict, configs: dict, call_ids: list[int] | None = None,
            own_list_entries=None) -> tuple[dict, dict[str, SourceResult], tuple, list[DataSourceCall]]:
    """The in-loan features (``risk.rules.IN_LOAN_FEATURES``), each source's result, the sources
    that did not answer (their features neutral, our own lists still merged) and, with
    ``call_ids``, the calls still to write (``sources_fetch``)."""
    query = Query(id_number=applicant.id_number, name=applicant.name, mobile=applicant.mobile,
                  device_id=device_id or "", birth_date=applicant.birth_date)
    outcome = sources_fetch(sources=IN_LOAN_SOURCES, query=query, applicant=applicant, configs=configs,
                            call_ids=call_ids, own_list_entries=own_list_entries)
    features, sources = source_features(sources=IN_LOAN_SOURCES, outcome=outcome, configs=configs)
    features.update(_applicant_features(applicant, timezone.localdate()))
    features.update({"amount": ZERO, "term_months": 0, "purpose": "", "product_type": "", "channel": ""})
    features.update({name: value for name, value in extra.items() if value is not None})
    # Plain Python types in catalogue order (choice enums become their str value).
    features = {name: _CASTS[feature.type](features[name]) for name, feature in CATALOGUE.items()
                if name in IN_LOAN_FEATURES}
    unavailable = tuple(source for source in IN_LOAN_SOURCES if source in outcome.failures)
    return features, sources, unavailable, outcome.calls
