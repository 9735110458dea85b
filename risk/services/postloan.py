"""Post-loan monitoring (贷后检查监控): the product's ``post_loan_monitoring`` rule sets evaluated
for the daily close, which calls it from servicing with features it computed set-based from its
own books — the borrower's repayment behaviour with us (``scenario.*``: the worst DPD over the
borrower's open loans, loans repaid, an existing customer). The close pulls no external data for
a million loans a night: a rule that reads another source (bureau, partner data, the
application's ratios) is *not evaluated* there; the in-loan monitoring job pulls those.

``post_loan_hits`` is pure (no database): the close evaluates it once per distinct
(product, features) tuple of a chunk, not once per loan. A warning is raised when a ``warn`` rule
fired (``flag`` rules are recorded only), handled as the most severe of the fired rules'
handling (blank = notify), as an in-loan warning is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..catalogue import CATALOGUE
from ..rules import (
    WARNING_ACTION_SEVERITY,
    RuleOutcome,
    RuleSetSpec,
    Stage,
    WarningAction,
    evaluate_rule_set,
    feature_context,
)
from ..selectors import in_loan_rule_sets

__all__ = ["CLOSE_SOURCES", "PostLoanResult", "post_loan_hits", "post_loan_rule_sets"]

# The sources whose features the daily close computes from its own books.
CLOSE_SOURCES = frozenset({"scenario"})
_UNAVAILABLE = frozenset({feature.source for feature in CATALOGUE.values()} - CLOSE_SOURCES)


@dataclass(frozen=True)
class PostLoanResult:
    hit: bool
    action: str  # WarningAction code, "" when nothing fired
    rules: list[dict] = field(default_factory=list)  # the fired rules: code, reason code, description, values


def post_loan_rule_sets(*, product_id: int) -> tuple[RuleSetSpec, ...]:
    """The product's published post-loan monitoring rule sets (none without an active policy)."""
    return in_loan_rule_sets(product_id=product_id, stage=Stage.POST_LOAN_MONITORING)


def post_loan_hits(*, rule_sets: tuple[RuleSetSpec, ...], features: Mapping[str, Any]) -> PostLoanResult:
    """Evaluate ``rule_sets`` against ``features`` (see the module docstring)."""
    context = feature_context(features)
    fired, action = [], ""
    for spec in rule_sets:
        rules = {rule.code: rule for rule in spec.rules}
        for result in evaluate_rule_set(spec, context, features, unavailable=_UNAVAILABLE):
            if not result.matched or result.outcome != RuleOutcome.WARN:
                continue
            rule = rules[result.rule_code]
            fired.append({"code": rule.reason_code, "rule": rule.code, "description": rule.description,
                          "values": {name: str(value) for name, value in result.values.items()}})
            candidate = rule.warning_action or WarningAction.NOTIFY
            if WARNING_ACTION_SEVERITY[candidate] > WARNING_ACTION_SEVERITY.get(action, 0):
                action = candidate
    return PostLoanResult(hit=bool(fired), action=action, rules=fired)
