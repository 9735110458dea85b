"""Champion/challenger: the challenger runs in shadow on the same feature snapshot, its result is
stored beside the real one, never used, replayed too, and compared in the report."""

from decimal import Decimal

import pytest

from risk.selectors import challenger_report
from risk.services.decisions import decision_replay, risk_assess
from risk.services.policies import rule_set_create, rule_set_publish
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import FRAUD_RULES, configure_sources, make_policy, make_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy():
    configure_sources()
    strict_rules = [dict(rule, expression="multi_lending.institutions_30d >= 3") if rule["code"] == "MULTI_LENDING"
                    else rule for rule in FRAUD_RULES]
    strict_fraud = rule_set_create(actor=None, code="C_FRAUD", name="Strict fraud", stage="anti_fraud",
                                   rules=strict_rules)
    rule_set_publish(rule_set=strict_fraud, actor=None)
    challenger = make_scorecard(code="C_SCORE", cutoffs={"A": 700, "B": 660, "C": 630, "D": 600})
    return make_policy(make_product("EDUCATION"), challenger_rule_sets=[strict_fraud], challenger_scorecard=challenger)


def test_the_challenger_result_is_stored_beside_the_real_one(policy):
    # Sequence 123: 3 institutions in 30 days, score 620 — fine for the champion, not the challenger.
    decision = risk_assess(request=assessment_request(make_application(product=policy.product)))
    assert (decision.outcome, decision.grade, decision.limit) == ("approve", "C", Decimal("40000.00"))
    assert (decision.shadow_outcome, decision.shadow_grade) == ("refer", "D")
    shadow = decision.shadow["result"]
    assert [(r["code"], r["outcome"]) for r in shadow["reasons"]] == [("MULTI_LENDING", "refer"),
                                                                      ("SCORE_GRADE_REFER", "refer")]
    assert (shadow["score"], shadow["limit"], shadow["rate_percent"]) == (620, "20000.00", "8.00")
    versions = decision.shadow["versions"]
    assert [(v["code"], v["stage"]) for v in versions["rule_sets"]] == [
        ("T_ADMISSION", "admission"), ("C_FRAUD", "anti_fraud"), ("T_DIRECT", "direct_reject")]
    assert versions["scorecard"]["code"] == "C_SCORE"
    assert versions["limit_strategy"] == decision.versions["limit_strategy"]
    # The real decision never saw the challenger.
    assert [v["code"] for v in decision.versions["rule_sets"]] == ["T_ADMISSION", "T_FRAUD", "T_DIRECT"]
    assert decision.reasons == []


def test_the_shadow_result_replays_too(policy):
    decision = risk_assess(request=assessment_request(make_application(product=policy.product)))
    result = decision_replay(decision)
    assert (result.matches, result.shadow_matches) == (True, True)
    shadow = dict(decision.shadow)
    shadow["result"] = {**shadow["result"], "outcome": "approve"}
    decision.shadow = shadow
    result = decision_replay(decision)
    assert (result.matches, result.differences, result.shadow_matches) == (False, (), False)


def test_a_policy_without_a_challenger_stores_no_shadow():
    configure_sources()
    policy = make_policy(make_product("EDUCATION"))
    decision = risk_assess(request=assessment_request(make_application(product=policy.product)))
    assert (decision.shadow, decision.shadow_outcome, decision.shadow_grade) == (None, "", "")
    assert challenger_report() == []


def test_the_report_compares_approval_rates_and_grades(policy):
    # champion / challenger: 123 approve C / refer D; 150 approve A / approve B; 981 reject / reject;
    # 961 refer A / refer B.
    for sequence in ("123", "150", "981", "961"):
        application = make_application(product=policy.product, applicant=make_applicant(sequence=sequence))
        risk_assess(request=assessment_request(application))
    [row] = challenger_report()
    assert (row["policy"], row["total"], row["agree"], row["agreement"]) == (policy, 4, 3, Decimal("75.0"))
    assert row["champion"]["rates"] == {"approve": Decimal("50.0"), "refer": Decimal("25.0"),
                                        "reject": Decimal("25.0")}
    assert row["challenger"]["rates"] == {"approve": Decimal("25.0"), "refer": Decimal("50.0"),
                                          "reject": Decimal("25.0")}
    assert row["champion"]["grade_rows"] == [("A", 2, Decimal("50.0")), ("C", 1, Decimal("25.0")),
                                             ("—", 1, Decimal("25.0"))]
    assert row["challenger"]["grade_rows"] == [("B", 2, Decimal("50.0")), ("D", 1, Decimal("25.0")),
                                               ("—", 1, Decimal("25.0"))]
