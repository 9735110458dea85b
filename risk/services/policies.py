"""Writes to risk configuration: create rule sets, scorecards and strategies with their rows,
publish them as immutable versions, and point a product's risk policy at them.

Publishing validates the whole working copy (every expression against the catalogue, bins,
bands), freezes its definition into the next version and records the move as a state transition
(field ``version``). Publishing an unchanged working copy returns the current version, so the
demo seeder and admins clicking twice create nothing.
"""

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from products.models import LoanProduct

from ..locks import risk_policy_lock, working_copy_lock
from ..models import (
    Characteristic,
    LimitBandRow,
    LimitStrategy,
    LimitStrategyVersion,
    PricingGradeRow,
    PricingStrategy,
    PricingStrategyVersion,
    RiskPolicy,
    Rule,
    RuleSet,
    RuleSetVersion,
    ScoreBin,
    Scorecard,
    ScorecardVersion,
)
from ..scoring import GRADES, BinSpec

__all__ = [
    "limit_strategy_create", "limit_strategy_publish", "pricing_strategy_create", "pricing_strategy_publish",
    "risk_policy_rule_set_add", "risk_policy_save", "rule_set_create", "rule_set_publish", "scorecard_create", "scorecard_publish",
]


def _actor(actor):
    return actor if getattr(actor, "pk", None) else None


def _publish(working_copy, *, version_model, parent_field: str, actor, check) -> Any:
    model = type(working_copy)
    locked = working_copy_lock(model, working_copy.pk)
    locked.full_clean()
    errors = check(locked)
    if errors:
        raise ValidationError(errors)
    definition = locked.definition()
    current = locked.current_version
    if current is not None and current.definition == definition:
        working_copy.current_version = current
        return current
    last = version_model.objects.filter(**{parent_field: locked}).aggregate(last=Max("version"))["last"] or 0
    version = version_model.objects.create(**{parent_field: locked}, version=last + 1, definition=definition,
                                           published_by=_actor(actor))
    locked.current_version = version
    locked.save(update_fields=["current_version", "updated_at"])
    record_transition(locked, field="version", from_state=str(current.version) if current else "",
                      to_state=str(version.version), actor=actor,
                      reason=stored_text(gettext_noop("Published version %(version)s"), version=version.version))
    working_copy.current_version = version
    return version


# --- rule sets -----------------------------------------------------------------------------------


def _rule_set_errors(rule_set: RuleSet) -> list[str]:
    errors = []
    rules = list(rule_set.rules.all())
    for rule in rules:
        try:
            rule.full_clean()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.extend(f"{rule.code} ({field}): {message}" for message in messages)
    if not any(rule.active for rule in rules):
        errors.append(_("A rule set needs at least one active rule."))
    return errors


@transaction.atomic
def rule_set_create(*, actor, code: str, name: str, stage: str, description: str = "",
                    rules: Iterable[Mapping[str, Any]] = ()) -> RuleSet:
    """Create a rule set with its rules (dicts of ``Rule`` fields); each rule is validated."""
    rule_set = RuleSet(code=code, name=name, stage=stage, description=description)
    rule_set.full_clean()
    rule_set.save()
    for values in rules:
        rule = Rule(rule_set=rule_set, **values)
        rule.full_clean()
        rule.save()
    return rule_set


@transaction.atomic
def rule_set_publish(*, rule_set: RuleSet, actor) -> RuleSetVersion:
    return _publish(rule_set, version_model=RuleSetVersion, parent_field="rule_set", actor=actor,
                    check=_rule_set_errors)


# --- scorecards ----------------------------------------------------------------------------------


def _scorecard_errors(scorecard: Scorecard) -> list[str]:
    errors = []
    characteristics = list(scorecard.characteristics.prefetch_related("bins"))
    if not characteristics:
        errors.append(_("A scorecard needs at least one characteristic."))
    for characteristic in characteristics:
        bins = list(characteristic.bins.all())
        label = characteristic.label or characteristic.feature
        if not bins:
            errors.append(_("%(characteristic)s has no bins.") % {"characteristic": label})
        for item in bins:
            try:
                item.full_clean()
            except ValidationError as exc:
                errors.extend(f"{label}: {message}" for messages in exc.message_dict.values() for message in messages)
        errors.extend(f"{label}: {message}" for message in bin_overlaps([BinSpec.from_json(b.spec_json())
                                                                         for b in bins]))
    return errors


def bin_overlaps(bins: list[BinSpec]) -> list[str]:
    """Bins that would hold the same value (the first would always win, the other never score)."""
    problems = []
    ranges = sorted((b for b in bins if not b.is_category),
                    key=lambda b: (Decimal("-Infinity") if b.lower is None else b.lower))
    for first, second in zip(ranges, ranges[1:]):
        first_upper = Decimal("Infinity") if first.upper is None else first.upper
        second_lower = Decimal("-Infinity") if second.lower is None else second.lower
        if second_lower < first_upper:
            problems.append(_("bins %(a)s and %(b)s overlap.") % {"a": first.describe(), "b": second.describe()})
    seen: dict[str, str] = {}
    for item in (b for b in bins if b.is_category):
        for category in item.categories:
            if category in seen:
                problems.append(_("“%(category)s” is in two bins.") % {"category": category})
            seen[category] = item.describe()
    return problems


@transaction.atomic
def scorecard_create(*, actor, code: str, name: str, base_score: int, cutoffs: Mapping[str, int],
                     refer_grades: str = "D", reject_grades: str = "E", description: str = "",
                     characteristics: Iterable[Mapping[str, Any]] = ()) -> Scorecard:
    """``characteristics``: dicts with feature, label, default_points and ``bins`` (dicts with label,
    points and lower/upper or categories as a list)."""
    scorecard = Scorecard(code=code, name=name, description=description, base_score=base_score,
                          cutoff_a=cutoffs["A"], cutoff_b=cutoffs["B"], cutoff_c=cutoffs["C"], cutoff_d=cutoffs["D"],
                          refer_grades=refer_grades, reject_grades=reject_grades)
    scorecard.full_clean()
    scorecard.save()
    for position, values in enumerate(characteristics):
        values = dict(values)
        bins = values.pop("bins", ())
        characteristic = Characteristic(scorecard=scorecard, position=position, **values)
        characteristic.full_clean()
        characteristic.save()
        for bin_position, bin_values in enumerate(bins):
            bin_values = dict(bin_values)
            categories = bin_values.pop("categories", ())
            item = ScoreBin(characteristic=characteristic, position=bin_position,
                            categories=", ".join(categories), **bin_values)
            item.full_clean()
            item.save()
    return scorecard


@transaction.atomic
def scorecard_publish(*, scorecard: Scorecard, actor) -> ScorecardVersion:
    return _publish(scorecard, version_model=ScorecardVersion, parent_field="scorecard", actor=actor,
                    check=_scorecard_errors)


# --- strategies ----------------------------------------------------------------------------------


def _limit_errors(strategy: LimitStrategy) -> list[str]:
    bands = list(strategy.bands.all())
    errors = []
    if not bands:
        errors.append(_("A limit strategy needs at least one band."))
    for grade in GRADES:
        rows = sorted((b for b in bands if b.grade == grade), key=lambda b: b.income_min)
        for first, second in zip(rows, rows[1:]):
            if first.income_max is None or second.income_min < first.income_max:
                errors.append(_("Grade %(grade)s: the income bands from %(a)s and from %(b)s overlap.")
                              % {"grade": grade, "a": first.income_min, "b": second.income_min})
    return errors


@transaction.atomic
def limit_strategy_create(*, actor, code: str, name: str, bands: Iterable[Mapping[str, Any]],
                          step: Decimal = Decimal("100"), dti_ceiling_percent: Decimal | None = Decimal("55"),
                          below_minimum_outcome: str = "reject", description: str = "") -> LimitStrategy:
    strategy = LimitStrategy(code=code, name=name, description=description, step=step,
                             dti_ceiling_percent=dti_ceiling_percent, below_minimum_outcome=below_minimum_outcome)
    strategy.full_clean()
    strategy.save()
    for values in bands:
        band = LimitBandRow(strategy=strategy, **values)
        band.full_clean()
        band.save()
    return strategy


@transaction.atomic
def limit_strategy_publish(*, strategy: LimitStrategy, actor) -> LimitStrategyVersion:
    return _publish(strategy, version_model=LimitStrategyVersion, parent_field="strategy", actor=actor,
                    check=_limit_errors)


def _pricing_errors(strategy: PricingStrategy) -> list[str]:
    return [] if strategy.grades.exists() else [_("A pricing strategy needs a position for at least one grade.")]


@transaction.atomic
def pricing_strategy_create(*, actor, code: str, name: str, positions: Mapping[str, Decimal],
                            rate_step_percent: Decimal = Decimal("0.0001"), on_apr_breach: str = "clamp",
                            description: str = "") -> PricingStrategy:
    strategy = PricingStrategy(code=code, name=name, description=description, rate_step_percent=rate_step_percent,
                               on_apr_breach=on_apr_breach)
    strategy.full_clean()
    strategy.save()
    for grade, position in positions.items():
        row = PricingGradeRow(strategy=strategy, grade=grade, band_position_percent=Decimal(position))
        row.full_clean()
        row.save()
    return strategy


@transaction.atomic
def pricing_strategy_publish(*, strategy: PricingStrategy, actor) -> PricingStrategyVersion:
    return _publish(strategy, version_model=PricingStrategyVersion, parent_field="strategy", actor=actor,
                    check=_pricing_errors)


# --- policies ------------------------------------------------------------------------------------


@transaction.atomic
def risk_policy_save(*, actor, product: LoanProduct, scorecard: Scorecard, limit_strategy: LimitStrategy,
                     pricing_strategy: PricingStrategy, rule_sets: Iterable[RuleSet],
                     challenger_rule_sets: Iterable[RuleSet] = (), challenger_scorecard: Scorecard | None = None,
                     active: bool = True, notes: str = "") -> RiskPolicy:
    """Create or replace the risk policy of ``product``."""
    policy = risk_policy_lock(product) or RiskPolicy(product=product)
    if getattr(actor, "pk", None):
        policy._history_user = actor
    policy.scorecard, policy.limit_strategy, policy.pricing_strategy = scorecard, limit_strategy, pricing_strategy
    policy.challenger_scorecard, policy.active, policy.notes = challenger_scorecard, active, notes
    policy.full_clean()
    policy.save()
    policy.rule_sets.set(list(rule_sets))
    policy.challenger_rule_sets.set(list(challenger_rule_sets))
    return policy


@transaction.atomic
def risk_policy_rule_set_add(*, actor, product: LoanProduct, rule_set: RuleSet) -> bool:
    """Add ``rule_set`` to the product's policy unless the policy already has a rule set of that
    stage (an admin's choice stands). True when it was added; False without a policy."""
    policy = risk_policy_lock(product)
    if policy is None or policy.rule_sets.filter(stage=rule_set.stage).exists():
        return False
    if getattr(actor, "pk", None):
        policy._history_user = actor
    policy.rule_sets.add(rule_set)
    return True
