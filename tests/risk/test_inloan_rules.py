"""In-loan stages (贷中): the drawdown-check stage with its freeze outcome, the warning stage with
each rule's handling, the features those stages may read, and the handling's vocabulary shared
with servicing."""

import pytest
from django.core.exceptions import ValidationError

from risk.models import Rule, RuleSet
from risk.rules import RuleSetSpec, Stage, WarningAction
from risk.services.policies import rule_set_create, rule_set_publish


def test_warning_actions_are_the_codes_servicing_stores():
    from servicing.models.warnings import WarningAction as ServicingWarningAction

    assert WarningAction.choices == [(value, label) for value, label in ServicingWarningAction.choices]
    assert WarningAction.values == ["notify", "stop_drawdowns", "freeze", "reduce_limit"]


@pytest.mark.django_db
def test_freeze_is_an_outcome_of_the_drawdown_check_only():
    drawdown = RuleSet.objects.create(code="DD", name="Drawdown", stage=Stage.IN_LOAN_DRAWDOWN)
    Rule(rule_set=drawdown, code="LIST", expression="fraud.id_hit", outcome="freeze", reason_code="LIST",
         customer_reason_zh="借款人命中名单").full_clean()
    admission = RuleSet.objects.create(code="ADM", name="Admission", stage=Stage.ADMISSION)
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=admission, code="LIST", expression="fraud.id_hit", outcome="freeze", reason_code="LIST",
             customer_reason_zh="x").full_clean()
    assert list(caught.value.message_dict) == ["outcome"]
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=drawdown, code="LIST", expression="fraud.id_hit", outcome="freeze",
             reason_code="LIST").full_clean()
    assert list(caught.value.message_dict) == ["customer_reason_zh"]


@pytest.mark.django_db
def test_in_loan_rules_read_only_the_refreshed_sources():
    drawdown = RuleSet.objects.create(code="DD", name="Drawdown", stage=Stage.IN_LOAN_DRAWDOWN)
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=drawdown, code="B", expression="amount > 1000 and bureau.score < 500", outcome="refer",
             reason_code="B", customer_reason_en="x").full_clean()
    assert caught.value.message_dict["expression"] == [
        "In-loan checks refresh only multi-lending, list and court data: “bureau.score” is not available there."]
    Rule(rule_set=drawdown, code="OK", expression="amount > 1000 and court.judgments > 0 and age > 60",
         outcome="refer", reason_code="OK", customer_reason_en="x").full_clean()
    # The same expression is fine for an origination stage.
    admission = RuleSet.objects.create(code="ADM", name="Admission", stage=Stage.ADMISSION)
    Rule(rule_set=admission, code="B", expression="bureau.score < 500", outcome="refer", reason_code="B",
         customer_reason_en="x").full_clean()


@pytest.mark.django_db
def test_only_warning_rules_have_a_handling_and_it_is_published():
    drawdown = RuleSet.objects.create(code="DD", name="Drawdown", stage=Stage.IN_LOAN_DRAWDOWN)
    with pytest.raises(ValidationError) as caught:
        Rule(rule_set=drawdown, code="X", expression="court.judgments > 0", outcome="refer", reason_code="X",
             customer_reason_en="x", warning_action="freeze").full_clean()
    assert list(caught.value.message_dict) == ["warning_action"]

    rule_set = rule_set_create(actor=None, code="W", name="Warnings", stage=Stage.IN_LOAN_WARNING, rules=[
        dict(code="COURT", expression="court.enforcements > 0", outcome="warn", reason_code="IL_COURT",
             warning_action="reduce_limit"),
        dict(code="MULTI", expression="multi_lending.applications_30d >= 6", outcome="warn",
             reason_code="IL_MULTI"),
    ])
    version = rule_set_publish(rule_set=rule_set, actor=None)
    assert version.definition["rules"][0]["warning_action"] == "reduce_limit"
    assert "warning_action" not in version.definition["rules"][1]
    spec = RuleSetSpec.from_definition(version.definition, version_id=version.pk, version=version.version)
    assert [rule.warning_action for rule in spec.rules] == ["reduce_limit", ""]
    assert spec.rules[0].to_json()["warning_action"] == "reduce_limit"
