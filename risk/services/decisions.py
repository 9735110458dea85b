"""The credit decision (授信决策): ``risk_assess`` gathers the features of an application's
``AssessmentRequest`` (``risk.requests``: what the credit flow asks risk to decide), runs its
product's risk policy (and the challenger in shadow) and stores an explainable ``Decision``;
``decision_replay`` recomputes a stored decision from its snapshot and versions;
``assess_application`` is the entry point of the credit flow's assessment job.

Idempotent per application: while an application has a current decision, ``risk_assess``
returns it. A forced re-assessment (``force=True`` with a note) creates the next decision and
marks the previous one superseded; both stay, and the application's state log shows the move
(field ``risk_decision``, old outcome → new outcome, who and why). The application's own status
is the flow's business, so the decision is logged beside it rather than moving it.

Features are gathered outside any transaction on purpose: bureau calls must not hold a
database transaction or row lock open, and their call and cost records must stay even if the
decision cannot be written. Only the write of the decision is atomic. A decision written
meanwhile by a concurrent worker wins: the unique constraint on an application's current
decision settles the race (a forced re-assessment locks the application instead).
"""

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text

from ..engine import EngineResult, run_policy
from ..fastpath import DECISION_RULE_SET_VERSIONS, DECISIONS
from ..features import DataSourceUnavailable, FeatureSnapshot, gather_features
from ..locks import application_row_lock, current_decision_lock
from ..models import DataSourceCall, Decision, DecisionOutcome, DecisionStatus
from ..requests import AssessmentRequest
from ..selectors import assessment_inputs, current_decision, decision_bundles, versions_json
from ..strategies import LoanRequest

__all__ = ["ReplayResult", "assess_application", "decision_replay", "retry_countdown", "risk_assess"]


def _source_errors(snapshot: FeatureSnapshot) -> dict[str, str]:
    return {name: result.error for name, result in snapshot.sources.items() if result.status == "unavailable"}


def _run(snapshot: FeatureSnapshot, bundle, product, request: LoanRequest) -> EngineResult:
    return run_policy(snapshot.features, bundle=bundle, product=product, request=request,
                      unavailable=snapshot.unavailable, source_errors=_source_errors(snapshot))


def risk_assess(*, request: AssessmentRequest, tolerate_failures: bool = False, actor=None, force: bool = False,
                note: str = "") -> Decision:
    """Decide the application of ``request`` (see the module docstring). Raises
    ``DataSourceUnavailable`` when a source fails and ``tolerate_failures`` is False;
    ``PolicyNotReady`` when the product has no active, published policy."""
    if force and not note.strip():
        raise ValidationError({"note": [_("Say why the application is assessed again.")]})
    inputs = assessment_inputs(application_id=request.application_id,
                               product_id=request.product_version.product_id, force=force)
    if inputs.current_decision_id is not None and not force:
        return Decision.objects.get(pk=inputs.current_decision_id)
    champion, challenger = inputs.champion, inputs.challenger
    snapshot = gather_features(request, tolerate_failures=tolerate_failures)
    as_of = timezone.localdate()
    loan = request.loan_request(as_of)
    product = request.product_version
    result = _run(snapshot, champion, product, loan)
    shadow = None
    if challenger is not None:
        shadow_result = _run(snapshot, challenger, product, loan)
        shadow = {"result": _jsonable(shadow_result.to_json()), "versions": versions_json(challenger)}
    return _record(request, policy_id=inputs.policy_id, bundle=champion, result=result, shadow=shadow,
                   snapshot=snapshot, loan=loan, as_of=as_of, tolerate_failures=tolerate_failures, actor=actor,
                   force=force, note=note)


def _jsonable(data: Any) -> Any:
    """What the JSON column will give back (lists for tuples), so a replay compares like with like."""
    return json.loads(json.dumps(data))


def _data_cost(application_id: int, snapshot: FeatureSnapshot, previous: Decision | None) -> Decimal:
    """What the data of this assessment cost over all its attempts. A source served from the
    cache may have been paid by an earlier attempt of this same application (a retried task):
    then the application's call records since its previous decision are summed. Otherwise the
    gathering's own cost is the answer, with no query."""
    if not any(result.status == "cached" for result in snapshot.sources.values()):
        return snapshot.total_cost
    calls = DataSourceCall.objects.filter(application_id=application_id)
    if previous is not None:
        calls = calls.filter(created_at__gt=previous.created_at)
    return calls.aggregate(total=Sum("cost"))["total"] or Decimal("0.00")


def _record(request: AssessmentRequest, *, policy_id, bundle, result: EngineResult, shadow, snapshot,
            loan: LoanRequest, as_of, tolerate_failures, actor, force, note) -> Decision:
    data = result.to_json()
    application_id = request.application_id
    values = dict(
        policy_id=policy_id, product_version_id=request.product_version.pk,
        outcome=result.outcome, grade=result.grade, score=result.score, limit=result.limit,
        rate_percent=result.rate_percent,
        rate_basis=request.product_version.rate_basis if result.rate_percent is not None else "",
        apr_percent=result.apr_percent, reasons=data["reasons"], rule_results=data["rule_results"],
        score_breakdown=data["score_breakdown"], steps=data["steps"],
        details={"limit": data["limit_detail"], "pricing": data["pricing_detail"]},
        snapshot=snapshot.to_json(), unavailable_sources=list(snapshot.unavailable),
        request={"amount": str(loan.amount), "term": loan.term, "term_unit": loan.term_unit,
                 "method": loan.method, "start_date": loan.start_date.isoformat()},
        as_of=as_of, versions=versions_json(bundle), scorecard_version_id=bundle.scorecard.version_id,
        limit_strategy_version_id=bundle.limit.version_id, pricing_strategy_version_id=bundle.pricing.version_id,
        shadow=shadow, shadow_outcome=shadow["result"]["outcome"] if shadow else "",
        shadow_grade=shadow["result"]["grade"] if shadow else "",
        tolerated_failures=tolerate_failures and bool(snapshot.unavailable),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label="" if getattr(actor, "pk", None) else "system", note=note.strip(),
    )
    if force:
        return _supersede(application_id, values=values, snapshot=snapshot, bundle=bundle, actor=actor, note=note)
    # The first decision of an application: no lock needed, the unique constraint on the current
    # decision settles a race with a concurrent worker, whose decision then wins.
    try:
        with transaction.atomic():
            decision = DECISIONS.insert(Decision(application_id=application_id, sequence=1,
                                                 data_cost=_data_cost(application_id, snapshot, None), **values))
            _log(application_id, decision, previous=None, bundle=bundle, actor=actor, note=note)
    except IntegrityError:
        existing = current_decision(application_id=application_id)
        if existing is None:
            raise
        return existing
    return decision


@transaction.atomic
def _supersede(application_id: int, *, values, snapshot, bundle, actor, note) -> Decision:
    locked = application_row_lock(application_id)
    previous = current_decision_lock(locked.pk)
    if previous is not None:
        previous.status = DecisionStatus.SUPERSEDED
        previous.save(update_fields=["status"])
    decision = Decision.objects.create(application_id=locked.pk, sequence=previous.sequence + 1 if previous else 1,
                                       data_cost=_data_cost(locked.pk, snapshot, previous), **values)
    if previous is not None:
        previous.superseded_by = decision
        previous.save(update_fields=["superseded_by"])
    _log(locked.pk, decision, previous=previous, bundle=bundle, actor=actor, note=note)
    return decision


def _log(application_id: int, decision: Decision, *, previous, bundle, actor, note) -> None:
    through = Decision.rule_set_versions.through
    DECISION_RULE_SET_VERSIONS.insert_many([through(decision_id=decision.pk, rulesetversion_id=spec.version_id)
                                            for spec in bundle.rule_sets])
    reason = note.strip() or stored_text(gettext_noop("Risk decision #%(sequence)s: %(outcome)s"),
                                         sequence=decision.sequence, outcome=DecisionOutcome(decision.outcome).label)
    # The decision is logged beside the application's own moves, in its state log. The application
    # is the credit flow's: the log names it through the decision's foreign key, not an import, as
    # an instance holding its key alone (what ``.only("pk")`` reads; nothing else is set up).
    model = Decision._meta.get_field("application").related_model
    application = model.from_db(None, [model._meta.pk.attname], [application_id])
    record_transition(application, field="risk_decision", from_state=previous.outcome if previous else "",
                      to_state=decision.outcome, actor=actor, reason=reason)


# --- replay --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayResult:
    decision_id: int
    matches: bool
    differences: tuple[str, ...]  # names of the parts that came out differently
    original: dict[str, Any] = field(repr=False)
    replayed: dict[str, Any] = field(repr=False)
    shadow_matches: bool | None = None  # None: the decision had no challenger


_DECIMAL_PARTS = ("limit", "rate_percent", "apr_percent")


def _stored(decision: Decision) -> dict[str, Any]:
    return {
        "outcome": decision.outcome, "grade": decision.grade, "score": decision.score,
        "limit": decision.limit, "rate_percent": decision.rate_percent, "apr_percent": decision.apr_percent,
        "reasons": decision.reasons, "rule_results": decision.rule_results,
        "score_breakdown": decision.score_breakdown, "steps": decision.steps,
        "limit_detail": decision.details.get("limit", {}), "pricing_detail": decision.details.get("pricing", {}),
    }


def _same(name: str, stored: Any, replayed: Any) -> bool:
    if name in _DECIMAL_PARTS:
        # The columns hold 2 or 6 decimals, the engine as many as it computed: compare values.
        return (stored is None and replayed is None) or (
            stored is not None and replayed is not None and Decimal(stored) == Decimal(replayed))
    return stored == replayed


def decision_replay(decision: Decision) -> ReplayResult:
    """Recompute ``decision`` from its stored feature snapshot, loan request, product version and
    the published versions it recorded — never the current working copies — and compare."""
    snapshot = FeatureSnapshot.from_json(decision.snapshot)
    champion, challenger = decision_bundles(decision)
    stored_request = decision.request
    request = LoanRequest(amount=Decimal(stored_request["amount"]), term=int(stored_request["term"]),
                          term_unit=stored_request["term_unit"], method=stored_request["method"],
                          start_date=date.fromisoformat(stored_request["start_date"]))
    product = decision.product_version
    replayed = _jsonable(_run(snapshot, champion, product, request).to_json())
    original = _stored(decision)
    differences = tuple(name for name in original if not _same(name, original[name], replayed[name]))
    shadow_matches = None
    if challenger is not None:
        shadow = _jsonable(_run(snapshot, challenger, product, request).to_json())
        shadow_matches = shadow == decision.shadow["result"]
    return ReplayResult(decision_id=decision.pk, matches=not differences and shadow_matches is not False,
                        differences=differences, original=original, replayed=replayed, shadow_matches=shadow_matches)


# --- the flow's entry point ----------------------------------------------------------------------


def retry_countdown(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1``: exponential, capped."""
    base = settings.RISK_DECISION_RETRY_BASE_SECONDS
    return min(base * 2 ** max(attempt, 0), settings.RISK_DECISION_RETRY_MAX_SECONDS)


def assess_application(*, request: AssessmentRequest, attempt: int = 0, max_attempts: int | None = None,
                       actor=None) -> Decision:
    """Decide one application from a worker: the credit flow's assessment job calls this with the
    request it built from the application. ``attempt`` counts from 0. Before the last attempt a
    data source that does not answer raises ``DataSourceUnavailable`` (``retryable``): the caller
    retries after ``retry_countdown(attempt)`` seconds. On the last attempt, or when the failure is
    not retryable, the decision is made with the sources that answered, which makes it ``refer``."""
    if max_attempts is None:
        max_attempts = settings.RISK_DECISION_MAX_ATTEMPTS
    last_attempt = attempt + 1 >= max_attempts
    try:
        return risk_assess(request=request, tolerate_failures=last_attempt, actor=actor)
    except DataSourceUnavailable as exc:
        if exc.retryable:
            raise
        return risk_assess(request=request, tolerate_failures=True, actor=actor)
