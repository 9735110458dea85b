"""Rule expressions (准入 / 直拒 / 反欺诈 / 预警规则) on the ``rule-engine`` package: compile,
validate against the feature catalogue, and evaluate. Pure code: no ORM.

An expression is a condition that *fires* the rule when true: ``age < 22 or age > 55`` on an
admission rule with outcome ``reject`` rejects applicants outside that age range. Feature names
are those of ``risk.catalogue``; dotted names (``bureau.overdue_count``) are attributes of a
typed OBJECT per source, so rule-engine itself rejects an unknown feature or a type mismatch
(``sex > 3``) at parse time. Nothing is ever passed to ``eval``.

Built-in symbols (``$now``, ``$today``) are refused: a decision must replay to the same result
on any later day, so time enters only through features (``age`` is computed on the decision
date). Compiled expressions are cached by their text, so a published version's rules are parsed
once per process.
"""

from __future__ import annotations

import decimal
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import rule_engine
from django.db import models
from django.utils.translation import gettext_lazy as _
from rule_engine import errors as re_errors
from rule_engine import types as re_types

from .catalogue import CATALOGUE, FEATURES

__all__ = [
    "ORIGINATION_STAGES",
    "CompiledExpression",
    "ExpressionError",
    "RuleOutcome",
    "RuleResult",
    "RuleSetSpec",
    "RuleSpec",
    "SAMPLE_FEATURES",
    "IN_LOAN_FEATURES",
    "IN_LOAN_SOURCES",
    "IN_LOAN_STAGES",
    "Stage",
    "WARNING_ACTION_SEVERITY",
    "WarningAction",
    "compile_expression",
    "evaluate_rule_set",
    "feature_context",
    "referenced_sources",
    "validate_expression",
]


class Stage(models.TextChoices):
    ADMISSION = "admission", _("Admission (准入)")
    DIRECT_REJECT = "direct_reject", _("Direct reject (直拒)")
    ANTI_FRAUD = "anti_fraud", _("Anti-fraud (反欺诈)")
    IN_LOAN_DRAWDOWN = "in_loan_drawdown", _("In-loan drawdown check (贷中支用审核)")
    IN_LOAN_WARNING = "in_loan_warning", _("In-loan warning (贷中预警)")
    POST_LOAN_MONITORING = "post_loan_monitoring", _("Post-loan monitoring (贷后监控)")


# The rule stages of a credit decision, in the order they run (scoring, limit and pricing follow).
ORIGINATION_STAGES = (Stage.ADMISSION, Stage.DIRECT_REJECT, Stage.ANTI_FRAUD)

# The in-loan stages (贷中): checked on a drawdown and by the warning monitoring. They refresh only
# the multi-lending, list and court data, so their rules may read those sources and what the
# applicant and the drawdown tell (never the bureau report, scenario or enterprise data).
IN_LOAN_STAGES = (Stage.IN_LOAN_DRAWDOWN, Stage.IN_LOAN_WARNING)
IN_LOAN_SOURCES = ("multi_lending", "fraud", "court")
# The two ratios need the bureau's debt payments, which an in-loan check does not pull again.
IN_LOAN_FEATURES = frozenset(
    feature.name for feature in FEATURES
    if feature.source in ("applicant", "application", *IN_LOAN_SOURCES)
    and feature.name not in ("payment_to_income", "debt_to_income")
)


class RuleOutcome(models.TextChoices):
    REJECT = "reject", _("Reject")
    REFER = "refer", _("Refer to manual review")
    FLAG = "flag", _("Flag for the reviewer")
    WARN = "warn", _("Warning")
    FREEZE = "freeze", _("Freeze the credit line")


class WarningAction(models.TextChoices):
    """How an in-loan warning is handled. ``servicing.models.warnings.WarningAction`` uses the
    same codes (a test keeps the two equal)."""

    NOTIFY = "notify", _("Notify")
    STOP_DRAWDOWNS = "stop_drawdowns", _("Stop pending drawdowns")
    FREEZE = "freeze", _("Freeze the line")
    REDUCE_LIMIT = "reduce_limit", _("Reduce the limit")


# When several warning rules fire, the most severe handling wins (higher = more severe).
WARNING_ACTION_SEVERITY = {WarningAction.NOTIFY: 1, WarningAction.STOP_DRAWDOWNS: 2,
                           WarningAction.REDUCE_LIMIT: 3, WarningAction.FREEZE: 4}


class ExpressionError(ValueError):
    """An expression that cannot be saved; ``feature`` names the unknown feature, if that is why."""

    def __init__(self, message: str, *, feature: str | None = None):
        super().__init__(message)
        self.message = message
        self.feature = feature

    def __str__(self) -> str:
        return str(self.message)


_RE_TYPES = {"int": re_types.DataType.FLOAT, "decimal": re_types.DataType.FLOAT, "str": re_types.DataType.STRING,
             "bool": re_types.DataType.BOOLEAN}


def _build_type_map() -> dict[str, Any]:
    """Top-level features by name; dotted ones grouped into one OBJECT per prefix whose values
    are plain dicts (read with ``operator.getitem``)."""
    type_map: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for feature in FEATURES:
        prefix, dot, attribute = feature.name.partition(".")
        if dot:
            groups.setdefault(prefix, {})[attribute] = _RE_TYPES[feature.type]
        else:
            type_map[feature.name] = _RE_TYPES[feature.type]
    for prefix, attributes in groups.items():
        type_map[prefix] = re_types.DataType.OBJECT(prefix, attributes=attributes, accessor=operator.getitem)
    return type_map


_TYPE_MAP = _build_type_map()


# Fixed precision, so a rule evaluates the same whatever decimal context the calling thread has.
_DECIMAL_CONTEXT = decimal.Context(prec=28)


def _new_context() -> rule_engine.Context:
    # A context per expression: ``Context.symbols`` accumulates over every rule parsed with it.
    return rule_engine.Context(type_resolver=_TYPE_MAP, mapping_attribute_lookup=False,
                               decimal_context=_DECIMAL_CONTEXT)


@dataclass(frozen=True)
class CompiledExpression:
    expression: str
    rule: rule_engine.Rule
    features: tuple[str, ...]  # catalogue names the expression reads, in order of appearance

    @property
    def sources(self) -> frozenset[str]:
        return frozenset(CATALOGUE[name].source for name in self.features)

    def matches(self, context: Mapping[str, Any]) -> bool:
        return bool(self.rule.evaluate(context))


def _children(node) -> Iterable[Any]:
    # AST nodes keep their operands in __slots__ or in __dict__, depending on the class.
    names = [slot for klass in type(node).__mro__ for slot in klass.__dict__.get("__slots__", ())]
    names += list(getattr(node, "__dict__", {}))
    for name in names:
        if name == "context":
            continue
        value = getattr(node, name, None)
        if isinstance(value, dict):
            value = [item for pair in value.items() for item in pair]
        elif not isinstance(value, (tuple, list)):
            value = [value]
        yield from (item for item in value if isinstance(item, rule_engine.ast.ExpressionBase))


def _referenced(node, found: list[str]) -> None:
    if isinstance(node, rule_engine.ast.SymbolExpression):
        if node.scope is not None:
            raise ExpressionError(
                _("Built-in symbols such as $%(name)s are not allowed: a decision must replay the same on any day.")
                % {"name": node.name}
            )
        if node.name in CATALOGUE and node.name not in found:
            found.append(node.name)
        return
    if isinstance(node, rule_engine.ast.GetAttributeExpression) and isinstance(
        node.object, rule_engine.ast.SymbolExpression
    ) and node.object.scope is None:
        name = f"{node.object.name}.{node.name}"
        if name in CATALOGUE and name not in found:
            found.append(name)
        return
    for child in _children(node):
        _referenced(child, found)


@lru_cache(maxsize=4096)
def compile_expression(expression: str) -> CompiledExpression:
    """Parse and type-check ``expression``; raise ``ExpressionError`` with a message for the admin form."""
    text = (expression or "").strip()
    if not text:
        raise ExpressionError(_("Enter an expression."))
    try:
        rule = rule_engine.Rule(text, context=_new_context())
    except re_errors.SymbolResolutionError as exc:
        raise ExpressionError(_unknown_message(exc.symbol_name, exc.suggestion), feature=exc.symbol_name) from None
    except re_errors.ObjectAttributeError as exc:
        prefix = getattr(exc.object, "name", "")
        name = f"{prefix}.{exc.attribute_name}"
        suggestion = f"{prefix}.{exc.suggestion}" if exc.suggestion else None
        raise ExpressionError(_unknown_message(name, suggestion), feature=name) from None
    except re_errors.SyntaxError as exc:
        token = getattr(exc, "token", None)
        where = f" ({token.value!r})" if token is not None and getattr(token, "value", None) else ""
        raise ExpressionError(_("Syntax error%(where)s: %(message)s") % {"where": where, "message": exc.message}) \
            from None
    except re_errors.EngineError as exc:
        raise ExpressionError(_("Invalid expression: %(message)s. Check that each feature is compared with a "
                                "value of its type (number, text or true/false).") % {"message": exc.message}) \
            from None
    result_type = rule.statement.expression.result_type
    if result_type not in (re_types.DataType.BOOLEAN, re_types.DataType.UNDEFINED):
        raise ExpressionError(_("The expression must be a condition (true or false), not a %(type)s.")
                              % {"type": result_type.name.lower()})
    found: list[str] = []
    _referenced(rule.statement.expression, found)
    return CompiledExpression(expression=text, rule=rule, features=tuple(found))


def _unknown_message(name: str, suggestion: str | None) -> str:
    if suggestion:
        return _("Unknown feature “%(name)s” (did you mean “%(suggestion)s”?). The features are listed in the "
                 "feature catalogue.") % {"name": name, "suggestion": suggestion}
    return _("Unknown feature “%(name)s”. The features are listed in the feature catalogue.") % {"name": name}


def validate_expression(expression: str) -> tuple[str, ...]:
    """The catalogue features ``expression`` uses; ``ExpressionError`` if it cannot be saved."""
    return compile_expression(expression).features


def feature_context(features: Mapping[str, Any]) -> dict[str, Any]:
    """The value rule-engine evaluates against: top-level features plus one read-only mapping per
    source prefix. Numbers are made Decimal once here, and the per-source mappings are not plain
    dicts, so rule-engine does not convert a whole source's values again each time a rule reads
    one of them. A missing feature is absent: evaluating a rule that reads it is an error, not False."""
    context: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {}
    for name, value in features.items():
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        prefix, dot, attribute = name.partition(".")
        if dot:
            groups.setdefault(prefix, {})[attribute] = value
        else:
            context[name] = value
    context.update({prefix: MappingProxyType(values) for prefix, values in groups.items()})
    return context


def referenced_sources(features: Iterable[str]) -> frozenset[str]:
    return frozenset(CATALOGUE[name].source for name in features if name in CATALOGUE)


# --- rules as published: specs and results ---------------------------------------------------------


@dataclass(frozen=True)
class RuleSpec:
    """One rule as a published version stores it."""

    code: str
    expression: str
    outcome: str
    reason_code: str
    description: str = ""
    customer_reason: Mapping[str, str] = field(default_factory=dict)  # language code → text
    priority: int = 100
    warning_action: str = ""  # in-loan warning rules: how a hit is handled (WarningAction); blank = notify

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RuleSpec:
        return cls(code=data["code"], expression=data["expression"], outcome=data["outcome"],
                   reason_code=data["reason_code"], description=data.get("description", ""),
                   customer_reason=dict(data.get("customer_reason") or {}), priority=int(data.get("priority", 100)),
                   warning_action=data.get("warning_action", ""))

    def to_json(self) -> dict[str, Any]:
        data = {"code": self.code, "expression": self.expression, "outcome": self.outcome,
                "reason_code": self.reason_code, "description": self.description,
                "customer_reason": dict(self.customer_reason), "priority": self.priority}
        if self.warning_action:
            data["warning_action"] = self.warning_action
        return data


@dataclass(frozen=True)
class RuleSetSpec:
    """A published rule set version: ``rules`` are the active rules, in evaluation order."""

    version_id: int | None
    code: str
    name: str
    stage: str
    version: int
    rules: tuple[RuleSpec, ...]

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any], *, version_id: int | None, version: int) -> RuleSetSpec:
        rules = sorted((RuleSpec.from_json(item) for item in definition.get("rules", ())),
                       key=lambda rule: (rule.priority, rule.code))
        return cls(version_id=version_id, code=definition["code"], name=definition.get("name", ""),
                   stage=definition["stage"], version=version, rules=tuple(rules))


@dataclass(frozen=True)
class RuleResult:
    """How one rule came out: ``status`` is matched | not_matched | not_evaluated | error."""

    stage: str
    rule_set: str
    rule_set_version: int
    rule_code: str
    expression: str
    outcome: str
    status: str
    values: Mapping[str, Any] = field(default_factory=dict)  # the features it read, for the explanation
    detail: str = ""

    @property
    def matched(self) -> bool:
        return self.status == "matched"

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "rule_set": self.rule_set, "rule_set_version": self.rule_set_version,
                "rule_code": self.rule_code, "expression": self.expression, "outcome": self.outcome,
                "status": self.status, "matched": self.matched, "values": _json_values(self.values),
                "detail": self.detail}


def _json_values(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: (str(value) if isinstance(value, Decimal) else value) for name, value in values.items()}


def evaluate_rule_set(spec: RuleSetSpec, context: Mapping[str, Any], features: Mapping[str, Any], *,
                      unavailable: Iterable[str] = ()) -> list[RuleResult]:
    """Every rule of ``spec`` against one applicant. A rule that reads a feature of an unavailable
    source is not evaluated (its defaults would fire or pass it by accident); a rule that fails at
    run time (e.g. division by zero) is reported as ``error`` for the caller to refer."""
    down = frozenset(unavailable)
    results = []
    for rule in spec.rules:
        compiled = compile_expression(rule.expression)
        values = {name: features.get(name) for name in compiled.features}
        status, detail = "not_matched", ""
        missing_sources = sorted(compiled.sources & down)
        if missing_sources:
            status, detail = "not_evaluated", ", ".join(missing_sources)
        else:
            try:
                status = "matched" if compiled.matches(context) else "not_matched"
            except (re_errors.EngineError, ArithmeticError, KeyError, TypeError) as exc:
                status, detail = "error", str(getattr(exc, "message", exc)) or type(exc).__name__
        results.append(RuleResult(stage=spec.stage, rule_set=spec.code, rule_set_version=spec.version,
                                  rule_code=rule.code, expression=rule.expression, outcome=rule.outcome,
                                  status=status, values=values, detail=detail))
    return results


# A documented sample applicant for the admin's "test this rule set" form and the docs: a 35-year-old
# employee with a clean bureau file, asking for 50,000 over 24 months. Every catalogue feature is set.
SAMPLE_FEATURES: dict[str, Any] = {
    "age": 35, "sex": "F", "monthly_income": Decimal("15000.00"), "employment": "employed", "years_at_employer": 6,
    "province": "11", "amount": Decimal("50000.00"), "term_months": 24, "purpose": "education",
    "product_type": "consumer", "channel": "back_office", "payment_to_income": Decimal("0.15"),
    "debt_to_income": Decimal("0.25"),
    "bureau.available": True, "bureau.thin_file": False, "bureau.score": 720, "bureau.overdue_count": 0,
    "bureau.max_dpd_24m": 0, "bureau.inquiries_3m": 1, "bureau.outstanding_debt": Decimal("30000.00"),
    "bureau.monthly_debt_payment": Decimal("1500.00"),
    "multi_lending.available": True, "multi_lending.applications_7d": 0, "multi_lending.applications_30d": 1,
    "multi_lending.institutions_30d": 1,
    "fraud.available": True, "fraud.id_hit": False, "fraud.mobile_hit": False, "fraud.device_hit": False,
    "fraud.risk_list_hit": False,
    "court.available": True, "court.judgments": 0, "court.enforcements": 0, "court.dishonest_debtor": False,
    "enterprise.present": False, "enterprise.years_in_business": 0, "enterprise.annual_revenue": Decimal("0"),
    "scenario.existing_customer": False, "scenario.repaid_loans": 0, "scenario.max_dpd_own": 0,
}
