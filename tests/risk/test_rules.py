"""Rule expressions: validation against the catalogue (rule-engine's typed context), evaluation,
the Rule model's clean, and rule set versioning."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from creditfactory.core.state import transitions_for
from risk.models import Rule, RuleSet, RuleSetVersion
from risk.rules import (
    SAMPLE_FEATURES,
    ExpressionError,
    RuleSetSpec,
    compile_expression,
    evaluate_rule_set,
    feature_context,
)
from risk.services.policies import rule_set_create, rule_set_publish

from .policy_factories import ADMISSION_RULES


def test_dotted_features_are_found_and_typed():
    compiled = compile_expression("bureau.overdue_count > 0 and bureau.max_dpd_24m > 90")
    assert compiled.features == ("bureau.overdue_count", "bureau.max_dpd_24m")
    assert compiled.sources == frozenset({"bureau"})
    assert compiled.matches(feature_context({**SAMPLE_FEATURES, "bureau.overdue_count": 1,
                                             "bureau.max_dpd_24m": 91})) is True
    assert compiled.matches(feature_context({**SAMPLE_FEATURES, "bureau.overdue_count": 1,
                                             "bureau.max_dpd_24m": 90})) is False


def test_top_level_features_mix_with_dotted_ones():
    compiled = compile_expression("age < 22 or age > 55 or multi_lending.institutions_30d >= 5")
    assert compiled.features == ("age", "multi_lending.institutions_30d")
    assert compiled.matches(feature_context({**SAMPLE_FEATURES, "age": 21})) is True
    assert compiled.matches(feature_context(SAMPLE_FEATURES)) is False


@pytest.mark.parametrize("expression, feature, message", [
    ("agee > 30", "agee", "Unknown feature “agee” (did you mean “age”?)"),
    ("bureau.overdue > 0", "bureau.overdue",
     "Unknown feature “bureau.overdue” (did you mean “bureau.overdue_count”?)"),
    ("credit.score > 600", "credit", "Unknown feature “credit”"),
])
def test_unknown_features_are_named(expression, feature, message):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)
    assert caught.value.feature == feature
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("expression, start", [
    ("sex > 3", "Invalid expression: data type mismatch"),
    ("fraud.id_hit + 1 > 0", "Invalid expression: data type mismatch"),
    ("age <", "Syntax error"),
    ("age + 1", "The expression must be a condition (true or false), not a float."),
    ("age > 1 and $now", "Built-in symbols such as $now are not allowed"),
    ("", "Enter an expression."),
])
def test_invalid_expressions_are_refused(expression, start):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)
    assert str(caught.value).startswith(start)
    assert caught.value.feature is None


def _spec(*rules):
    return RuleSetSpec.from_definition({"code": "X", "stage": "admission", "rules": list(rules)}, version_id=None,
                                       version=3)


def test_evaluation_reports_each_rule_in_priority_order():
    spec = _spec(
        {"code": "LATE", "expression": "bureau.max_dpd_24m > 30", "outcome": "refer", "reason_code": "L",
         "priority": 20},
        {"code": "YOUNG", "expression": "age < 40", "outcome": "reject", "reason_code": "Y", "priority": 10},
    )
    results = evaluate_rule_set(spec, feature_context(SAMPLE_FEATURES), SAMPLE_FEATURES)
    assert [(r.rule_code, r.status, dict(r.values), r.rule_set_version) for r in results] == [
        ("YOUNG", "matched", {"age": 35}, 3),
        ("LATE", "not_matched", {"bureau.max_dpd_24m": 0}, 3),
    ]


def test_rules_on_an_unavailable_source_are_not_evaluated():
    spec = _spec({"code": "LOW", "expression": "bureau.score < 800", "outcome": "reject", "reason_code": "B"},
                 {"code": "AGE", "expression": "age > 30", "outcome": "flag", "reason_code": "A"})
    results = evaluate_rule_set(spec, feature_context(SAMPLE_FEATURES), SAMPLE_FEATURES, unavailable=["bureau"])
    # Same priority: by code.
    assert [(r.rule_code, r.status, r.detail) for r in results] == [("AGE", "matched", ""),
                                                                     ("LOW", "not_evaluated", "bureau")]


def test_a_rule_failing_at_run_time_is_an_error_not_a_pass():
    spec = _spec({"code": "RATIO", "expression": "amount / monthly_income > 10", "outcome": "reject",
                  "reason_code": "R"})
    features = {**SAMPLE_FEATURES, "monthly_income": Decimal("0")}
    [result] = evaluate_rule_set(spec, feature_context(features), features)
    assert result.status == "error"
    assert "division by zero" in result.detail


@pytest.mark.django_db
def test_a_rule_with_an_unknown_feature_cannot_be_saved():
    rule_set = RuleSet.objects.create(code="ADM", name="Admission", stage="admission")
    rule = Rule(rule_set=rule_set, code="R1", expression="bureau.overdue_cnt > 0", outcome="reject",
                reason_code="X", customer_reason_en="No")
    with pytest.raises(ValidationError) as caught:
        rule.full_clean()
    assert list(caught.value.message_dict) == ["expression"]
    assert "“bureau.overdue_cnt”" in caught.value.message_dict["expression"][0]

    with pytest.raises(ValidationError):
        rule_set_create(actor=None, code="ADM2", name="Admission 2", stage="admission", rules=[
            dict(code="R1", expression="incme < 3000", outcome="reject", reason_code="X", customer_reason_en="No")])
    assert not RuleSet.objects.filter(code="ADM2").exists()
    assert Rule.objects.count() == 0


@pytest.mark.django_db
def test_outcomes_must_suit_the_stage_and_rejections_need_a_customer_reason():
    warning_set = RuleSet.objects.create(code="WARN", name="Warnings", stage="in_loan_warning")
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=warning_set, code="R", expression="age > 1", outcome="reject", reason_code="X",
             customer_reason_en="x").full_clean()
    assert list(caught.value.message_dict) == ["outcome"]
    admission = RuleSet.objects.create(code="ADM", name="Admission", stage="admission")
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=admission, code="R", expression="age > 1", outcome="refer", reason_code="X").full_clean()
    assert list(caught.value.message_dict) == ["customer_reason_zh"]


@pytest.mark.django_db
def test_publishing_freezes_the_active_rules_and_records_the_move(admin_user):
    rule_set = rule_set_create(actor=admin_user, code="ADM", name="Admission", stage="admission",
                               rules=ADMISSION_RULES)
    Rule.objects.create(rule_set=rule_set, code="OFF", expression="age > 99", outcome="reject", reason_code="OFF",
                        customer_reason_en="x", active=False)
    version = rule_set_publish(rule_set=rule_set, actor=admin_user)
    assert (version.version, version.published_by) == (1, admin_user)
    assert version.definition == {
        "code": "ADM", "name": "Admission", "stage": "admission",
        "rules": [
            {"code": "AGE_RANGE", "expression": "age < 22 or age > 55", "outcome": "reject",
             "reason_code": "AGE_OUT_OF_RANGE", "description": "Outside 22–55", "priority": 10,
             "customer_reason": {"zh-hans": "年龄不符合要求", "en": "Age outside our range"}},
            {"code": "LOW_INCOME", "expression": "monthly_income < 3000", "outcome": "reject",
             "reason_code": "INCOME_TOO_LOW", "description": "Income below 3,000", "priority": 20,
             "customer_reason": {"zh-hans": "收入不符合要求", "en": "Income too low"}},
        ],
    }
    rule_set.refresh_from_db()
    assert rule_set.current_version == version
    assert rule_set.has_unpublished_changes is False

    # Publishing again without a change creates nothing.
    assert rule_set_publish(rule_set=rule_set, actor=admin_user) == version
    assert RuleSetVersion.objects.count() == 1

    Rule.objects.filter(rule_set=rule_set, code="LOW_INCOME").update(expression="monthly_income < 4000")
    assert rule_set.has_unpublished_changes is True
    second = rule_set_publish(rule_set=rule_set, actor=admin_user)
    assert second.version == 2
    assert second.definition["rules"][1]["expression"] == "monthly_income < 4000"
    version.refresh_from_db()
    assert version.definition["rules"][1]["expression"] == "monthly_income < 3000"
    moves = [(t.field, t.from_state, t.to_state) for t in transitions_for(rule_set).order_by("id")]
    assert moves == [("version", "", "1"), ("version", "1", "2")]


@pytest.mark.django_db
def test_published_versions_are_immutable():
    rule_set = rule_set_create(actor=None, code="ADM", name="Admission", stage="admission", rules=ADMISSION_RULES)
    version = rule_set_publish(rule_set=rule_set, actor=None)
    version.definition = {"code": "ADM", "rules": []}
    with pytest.raises(ValidationError):
        version.save()
    with pytest.raises(ValidationError):
        version.delete()
    assert RuleSetVersion.objects.get().definition["rules"][0]["code"] == "AGE_RANGE"


@pytest.mark.django_db
def test_a_rule_set_with_an_invalid_rule_is_not_published():
    rule_set = rule_set_create(actor=None, code="ADM", name="Admission", stage="admission", rules=ADMISSION_RULES)
    # An expression written around the validation (e.g. a feature since removed from the catalogue).
    Rule.objects.filter(code="LOW_INCOME").update(expression="salary < 3000")
    with pytest.raises(ValidationError) as caught:
        rule_set_publish(rule_set=rule_set, actor=None)
    assert "LOW_INCOME (expression): Unknown feature “salary”" in caught.value.messages[0]
    assert RuleSetVersion.objects.count() == 0
    rule_set.refresh_from_db()
    assert rule_set.current_version is None
