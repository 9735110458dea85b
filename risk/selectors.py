"""Reads of the risk app: a product's policy turned into the published versions a decision runs
on, the versions a stored decision ran on (for replay), branch-scoped decision lists, the
champion/challenger report, and the blind indexes an identifier search looks up."""

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from creditfactory.core.pii import blind_index
from creditfactory.organisations.scoping import scope_queryset

from .engine import PolicyBundle
from .fastpath import assessment_input_rows
from .models import (
    Applicant,
    Decision,
    DecisionStatus,
    LimitStrategyVersion,
    PricingStrategyVersion,
    RiskPolicy,
    RuleSet,
    RuleSetVersion,
    ScorecardVersion,
)
from .rules import IN_LOAN_STAGES, ORIGINATION_STAGES, RuleSetSpec, Stage
from .scoring import GRADES, ScorecardSpec
from .strategies import LimitSpec, PricingSpec
from .validators import normalise_bank_account, normalise_mobile, parse_resident_id

BRANCH_FIELD = "application__branch"
# Large JSON columns a list never shows.
_HEAVY_FIELDS = ("snapshot", "rule_results", "score_breakdown", "reasons", "shadow", "steps", "details", "request",
                 "versions")


class PolicyNotReady(Exception):
    """The product has no active risk policy, or a part of it was never published."""


def versions_json(bundle: PolicyBundle) -> dict:
    """What a decision records of the versions it ran on (ids for replay, codes for people)."""
    def ref(spec):
        return {"id": spec.version_id, "code": spec.code, "version": spec.version}

    return {
        "rule_sets": [{**ref(spec), "stage": spec.stage} for spec in bundle.rule_sets],
        "scorecard": ref(bundle.scorecard),
        "limit_strategy": ref(bundle.limit),
        "pricing_strategy": ref(bundle.pricing),
    }


def _sorted_rule_sets(specs) -> tuple[RuleSetSpec, ...]:
    return tuple(sorted(specs, key=lambda spec: (spec.stage, spec.code)))


def _bundle(*, rule_sets, scorecard, limit, pricing) -> PolicyBundle:
    return PolicyBundle(rule_sets=_sorted_rule_sets(rule_sets), scorecard=scorecard, limit=limit, pricing=pricing)


# --- published versions as specs, cached -----------------------------------------------------------
# A published version never changes, so its parsed spec is cached per process. The key is the
# version's id with its working copy's ``updated_at`` (and the database's name): publishing makes a
# new version and touches the working copy, so it takes effect with the next decision without any
# invalidation, and an id a rolled-back transaction handed out again (SQLite reuses them) cannot
# return someone else's spec.

_SPECS = {
    "rule_set": (RuleSetVersion, RuleSetSpec),
    "scorecard": (ScorecardVersion, ScorecardSpec),
    "limit": (LimitStrategyVersion, LimitSpec),
    "pricing": (PricingStrategyVersion, PricingSpec),
}
_SPEC_CACHE: dict[tuple, object] = {}
_SPEC_CACHE_MAX = 10_000


def _spec_of(kind: str, version):
    return _SPECS[kind][1].from_definition(version.definition, version_id=version.pk, version=version.version)


def _specs(kind: str, refs) -> dict[int, object]:
    """{version id: spec} for (version id, working copy's updated_at) pairs, loading what is not cached."""
    database = connection.settings_dict["NAME"]
    found, missing = {}, {}
    for pk, stamp in refs:
        key = (database, kind, pk, str(stamp))
        spec = _SPEC_CACHE.get(key)
        if spec is None:
            missing[pk] = key
        else:
            found[pk] = spec
    if missing:
        if len(_SPEC_CACHE) >= _SPEC_CACHE_MAX:
            _SPEC_CACHE.clear()
        for version in _SPECS[kind][0].objects.filter(pk__in=list(missing)):
            found[version.pk] = _SPEC_CACHE[missing[version.pk]] = _spec_of(kind, version)
    return found


@dataclass(frozen=True)
class AssessmentInputs:
    current_decision_id: int | None
    policy_id: int | None
    champion: PolicyBundle | None
    challenger: PolicyBundle | None


# The rows of ``risk.fastpath.assessment_input_rows``: the policy row's four pairs are these parts.
_POLICY_PARTS = ("scorecard", "challenger_scorecard", "limit_strategy", "pricing_strategy")


def assessment_inputs(*, application_id: int, product_id: int, force: bool = False) -> AssessmentInputs:
    """What ``risk_assess`` needs before gathering features, in one round trip (this runs for every
    decision): the application's current decision, if any — then, unless ``force``, nothing else
    is needed — and the current published versions its product's active policy points at.

    The challenger replaces the champion's rule sets of each stage it has rule sets for, and/or
    its scorecard; limit and pricing are the champion's."""
    rows = assessment_input_rows(application_id=application_id, product_id=product_id)
    current = next((row[2] for row in rows if row[0] == "decision"), None)
    if current is not None and not force:
        return AssessmentInputs(current_decision_id=current, policy_id=None, champion=None, challenger=None)
    policy = next((row for row in rows if row[0] == "policy"), None)
    if policy is None:
        raise PolicyNotReady(_("No active risk policy for this product."))
    rule_rows = [(role, (pk, stamp)) for role, stage, _id, pk, stamp, *_nulls in rows
                 if role in ("champion", "challenger") and stage in ORIGINATION_STAGES]
    refs = {part: (policy[3 + 2 * index], policy[4 + 2 * index]) for index, part in enumerate(_POLICY_PARTS)}
    if any(refs[part][0] is None for part in ("scorecard", "limit_strategy", "pricing_strategy")) or any(
        ref[0] is None for _role, ref in rule_rows
    ):
        # Something was never published: the slow path names it.
        policy_bundles(risk_policy_for_product(product_id=product_id))
    challenger_card = refs["challenger_scorecard"]
    specs = {
        "rule_set": _specs("rule_set", [ref for _role, ref in rule_rows]),
        "scorecard": _specs("scorecard", [refs["scorecard"]] + ([challenger_card] if challenger_card[0] else [])),
        "limit": _specs("limit", [refs["limit_strategy"]]),
        "pricing": _specs("pricing", [refs["pricing_strategy"]]),
    }
    rule_sets = {role: [specs["rule_set"][ref[0]] for r, ref in rule_rows if r == role]
                 for role in ("champion", "challenger")}
    scorecard = specs["scorecard"][refs["scorecard"][0]]
    common = dict(limit=specs["limit"][refs["limit_strategy"][0]],
                  pricing=specs["pricing"][refs["pricing_strategy"][0]])
    champion = _bundle(rule_sets=rule_sets["champion"], scorecard=scorecard, **common)
    challenger = None
    if rule_sets["challenger"] or challenger_card[0] is not None:
        replaced = {spec.stage for spec in rule_sets["challenger"]}
        shadow_sets = [spec for spec in rule_sets["champion"] if spec.stage not in replaced] + rule_sets["challenger"]
        shadow_card = specs["scorecard"][challenger_card[0]] if challenger_card[0] else scorecard
        challenger = _bundle(rule_sets=shadow_sets, scorecard=shadow_card, **common)
    return AssessmentInputs(current_decision_id=current, policy_id=policy[2], champion=champion,
                            challenger=challenger)


def risk_policy_for_product(*, product_id: int) -> RiskPolicy:
    """The active policy of a product with everything it points at (admin and error paths)."""
    published = RuleSet.objects.select_related("current_version")
    policy = (
        RiskPolicy.objects.filter(product_id=product_id, active=True)
        .select_related("product", "scorecard__current_version", "challenger_scorecard__current_version",
                        "limit_strategy__current_version", "pricing_strategy__current_version")
        .prefetch_related(Prefetch("rule_sets", queryset=published),
                          Prefetch("challenger_rule_sets", queryset=published))
        .first()
    )
    if policy is None:
        raise PolicyNotReady(_("No active risk policy for this product."))
    return policy


def _published(working_copy):
    if working_copy.current_version is None:
        raise PolicyNotReady(_("%(what)s %(code)s has never been published.")
                             % {"what": working_copy._meta.verbose_name, "code": working_copy.code})
    return working_copy.current_version


def policy_bundles(policy: RiskPolicy) -> tuple[PolicyBundle, PolicyBundle | None]:
    """Like ``policy_bundles_for_product``, from a policy loaded with ``risk_policy_for_product``;
    raises ``PolicyNotReady`` naming the first part never published."""
    champion_sets = [_spec_of("rule_set", _published(rs)) for rs in policy.rule_sets.all()
                     if rs.stage in ORIGINATION_STAGES]
    common = dict(limit=_spec_of("limit", _published(policy.limit_strategy)),
                  pricing=_spec_of("pricing", _published(policy.pricing_strategy)))
    scorecard = _spec_of("scorecard", _published(policy.scorecard))
    champion = _bundle(rule_sets=champion_sets, scorecard=scorecard, **common)
    challenger_sets = [_spec_of("rule_set", _published(rs)) for rs in policy.challenger_rule_sets.all()
                       if rs.stage in ORIGINATION_STAGES]
    if not challenger_sets and policy.challenger_scorecard is None:
        return champion, None
    replaced = {spec.stage for spec in challenger_sets}
    challenger = _bundle(
        rule_sets=[spec for spec in champion_sets if spec.stage not in replaced] + challenger_sets,
        scorecard=_spec_of("scorecard", _published(policy.challenger_scorecard)) if policy.challenger_scorecard
        else scorecard, **common)
    return champion, challenger


def _bundle_from_versions_json(versions: dict) -> PolicyBundle:
    def load(kind, ref):
        return _spec_of(kind, _SPECS[kind][0].objects.get(pk=ref["id"]))

    rule_set_versions = RuleSetVersion.objects.in_bulk([ref["id"] for ref in versions.get("rule_sets", ())])
    return _bundle(
        rule_sets=[_spec_of("rule_set", rule_set_versions[ref["id"]]) for ref in versions.get("rule_sets", ())],
        scorecard=load("scorecard", versions["scorecard"]), limit=load("limit", versions["limit_strategy"]),
        pricing=load("pricing", versions["pricing_strategy"]),
    )


def decision_bundles(decision: Decision) -> tuple[PolicyBundle, PolicyBundle | None]:
    """The versions a stored decision ran on (never the current working copies)."""
    champion = _bundle_from_versions_json(decision.versions)
    shadow = _bundle_from_versions_json(decision.shadow["versions"]) if decision.shadow else None
    return champion, shadow


# --- decisions -----------------------------------------------------------------------------------


def current_decision(*, application_id: int) -> Decision | None:
    return Decision.objects.filter(application_id=application_id, status=DecisionStatus.CURRENT).first()


def decision_list_for(user) -> QuerySet:
    queryset = (
        Decision.objects.defer(*_HEAVY_FIELDS)
        .select_related("application__branch", "product_version__product")
        .order_by("-created_at", "-id")
    )
    return scope_queryset(queryset, user, branch_field=BRANCH_FIELD)


def decision_detail_for(*, user, pk: int) -> Decision:
    queryset = Decision.objects.select_related(
        "application__branch", "product_version__product", "policy", "scorecard_version", "limit_strategy_version",
        "pricing_strategy_version", "actor", "superseded_by",
    )
    return get_object_or_404(scope_queryset(queryset, user, branch_field=BRANCH_FIELD), pk=pk)


def decision_history_for(*, user, application_id: int) -> QuerySet:
    return scope_queryset(Decision.objects.defer(*_HEAVY_FIELDS).filter(application_id=application_id), user,
                          branch_field=BRANCH_FIELD).order_by("-sequence")


def challenger_report(*, policy_id: int | None = None) -> list[dict]:
    """Per policy with a shadow result: decisions, approval/refer/reject rates and grade
    distributions of the champion and of the challenger, on the same applications."""
    queryset = Decision.objects.filter(status=DecisionStatus.CURRENT).exclude(shadow_outcome="")
    if policy_id is not None:
        queryset = queryset.filter(policy_id=policy_id)
    rows = queryset.values("policy_id", "outcome", "grade", "shadow_outcome", "shadow_grade").annotate(n=Count("id"))
    policies = {p.pk: p for p in RiskPolicy.objects.select_related("product").filter(
        pk__in={row["policy_id"] for row in rows})}
    report: dict[int, dict] = {}
    for row in rows:
        entry = report.setdefault(row["policy_id"], {
            "policy": policies[row["policy_id"]], "total": 0, "agree": 0,
            "champion": {"outcomes": Counter(), "grades": Counter()},
            "challenger": {"outcomes": Counter(), "grades": Counter()},
        })
        entry["total"] += row["n"]
        entry["agree"] += row["n"] if row["outcome"] == row["shadow_outcome"] else 0
        entry["champion"]["outcomes"][row["outcome"]] += row["n"]
        entry["champion"]["grades"][row["grade"] or "—"] += row["n"]
        entry["challenger"]["outcomes"][row["shadow_outcome"]] += row["n"]
        entry["challenger"]["grades"][row["shadow_grade"] or "—"] += row["n"]
    result = []
    for entry in sorted(report.values(), key=lambda e: e["policy"].product.code):
        total = entry["total"]
        for side in ("champion", "challenger"):
            outcomes = entry[side]["outcomes"]
            entry[side]["rates"] = {name: _share(outcomes[name], total) for name in ("approve", "refer", "reject")}
            entry[side]["grade_rows"] = [(grade, entry[side]["grades"][grade], _share(entry[side]["grades"][grade],
                                                                                        total))
                                         for grade in (*GRADES, "—") if entry[side]["grades"][grade]]
        entry["agreement"] = _share(entry["agree"], total)
        result.append(entry)
    return result


def _share(part: int, total: int) -> Decimal | None:
    return (Decimal(part) * 100 / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if total else None


# --- searching by an identifier --------------------------------------------------------------------


def identifier_indexes(term: str) -> dict[str, str]:
    """The blind indexes a search term could match: {kind: index} for each kind it is a valid
    value of (an ID number, a mobile, a bank account number)."""
    term = (term or "").strip()
    found = {}
    for kind, normalise in (
        ("id_number", lambda v: parse_resident_id(v).number),
        ("mobile", normalise_mobile),
        ("bank_account", normalise_bank_account),
    ):
        try:
            found[kind] = blind_index(kind, normalise(term))
        except ValidationError:
            continue
    return found


def applicant_ids_for_list_entry(*, kind: str, value_index: str) -> list[int]:
    """The applicants a list entry names, by the blind index it stores: an ID-number entry names
    the applicant with that ID, a mobile entry every applicant with that mobile; a device entry
    names nobody (devices belong to requests, not to applicants)."""
    field = {"id_number": "id_number_index", "mobile": "mobile_index"}.get(kind)
    if field is None or not value_index:
        return []
    return list(Applicant.objects.filter(**{field: value_index}).order_by("pk").values_list("pk", flat=True))


# --- in-loan rule sets -----------------------------------------------------------------------------


def in_loan_rule_sets(*, product_id: int, stage: str) -> tuple[RuleSetSpec, ...]:
    """The current published versions of the product's active policy's rule sets of one in-loan
    stage (or post-loan monitoring, which the daily close evaluates), in code order; none when the product has no active policy or no such rule set.
    Raises ``PolicyNotReady`` naming a rule set of that stage that was never published."""
    if stage not in (*IN_LOAN_STAGES, Stage.POST_LOAN_MONITORING):
        raise ValueError(stage)
    rule_sets = list(
        RuleSet.objects.filter(policies__product_id=product_id, policies__active=True, stage=stage)
        .select_related("current_version").order_by("code")
    )
    refs = [(_published(rule_set).pk, rule_set.updated_at) for rule_set in rule_sets]
    specs = _specs("rule_set", refs)
    return tuple(specs[pk] for pk, _stamp in refs)


def in_loan_rule_set_specs(*, product_id: int, stage: str, refs: list[tuple]) -> tuple[RuleSetSpec, ...]:
    """``in_loan_rule_sets`` from the rule sets' (current version id, updated_at) pairs the caller
    read already (``risk.fastpath.in_loan_inputs``), in code order: the published specs come from
    the per-process cache, keyed by the working copy's ``updated_at`` as for origination, so a
    publish takes effect on the next check. A rule set never published: the slow path names it."""
    if any(pk is None for pk, _stamp in refs):
        return in_loan_rule_sets(product_id=product_id, stage=stage)
    specs = _specs("rule_set", refs)
    return tuple(specs[pk] for pk, _stamp in refs)
