"""The demo risk policies: seeded once, ≥ 30 origination rules and a 10-characteristic scorecard
per product, a challenger on EMERGENCY, and every demo product decides on them."""

from decimal import Decimal

import pytest

from creditfactory.demo import SEEDERS
from products.demo import seed_products
from risk import demo as source_demo
from risk.demo_policy import seed
from risk.models import RiskPolicy, Rule, RuleSet, RuleSetVersion, Scorecard
from risk.rules import ORIGINATION_STAGES
from risk.services.decisions import risk_assess
from tests.risk.factories import make_applicant, make_application, make_enterprise
from workflows.selectors.assessment import assessment_request

pytestmark = pytest.mark.django_db


def _seed():
    seed_products(log=lambda message: None)
    source_demo.seed(context={}, log=lambda message: None)
    seed(context={}, log=lambda message: None)


def test_the_demo_policies_are_seeded_once():
    _seed()
    versions = RuleSetVersion.objects.count()
    _seed()
    assert RuleSetVersion.objects.count() == versions == RuleSet.objects.count() == 10
    assert SEEDERS.index("risk.demo_policy.seed") > SEEDERS.index("risk.demo.seed") > SEEDERS.index(
        "products.demo.seed")
    policies = {p.product.code: p for p in RiskPolicy.objects.select_related("product", "scorecard")}
    assert sorted(policies) == ["BUSINESS", "EDUCATION", "EMERGENCY", "RENOVATION"]
    for code, policy in policies.items():
        rules = Rule.objects.filter(rule_set__in=policy.rule_sets.filter(stage__in=ORIGINATION_STAGES))
        assert rules.count() == (35 if code == "BUSINESS" else 32)
        assert policy.scorecard.characteristics.count() == 10
    assert set(Rule.objects.values_list("rule_set__stage", flat=True)) == {
        "admission", "direct_reject", "anti_fraud", "in_loan_drawdown", "in_loan_warning", "post_loan_monitoring"}
    assert [p.product.code for p in RiskPolicy.objects.all() if p.has_challenger] == ["EMERGENCY"]
    assert Scorecard.objects.get(code="SCORE_CHALLENGER").characteristics.count() == 10


@pytest.mark.parametrize("code, amount, term, method, purpose, outcome, grade", [
    ("EMERGENCY", "3000.00", 3, "bullet", "emergency", "approve", "B"),
    ("EDUCATION", "30000.00", 24, "equal_installment", "education", "approve", "B"),
    ("RENOVATION", "80000.00", 36, "equal_principal", "renovation", "approve", "B"),
    ("BUSINESS", "200000.00", 24, "interest_first", "working_capital", "approve", "A"),
])
def test_each_demo_product_decides(code, amount, term, method, purpose, outcome, grade):
    from products.models import LoanProduct

    _seed()
    product = LoanProduct.objects.get(code=code)
    business = code == "BUSINESS"
    applicant = make_applicant(monthly_income=Decimal("30000.00"), employment="business_owner") if business else None
    application = make_application(product=product, applicant=applicant, amount=Decimal(amount), term=term,
                                   repayment_method=method, purpose=purpose,
                                   enterprise=make_enterprise() if business else None)
    decision = risk_assess(request=assessment_request(application))
    assert (decision.outcome, decision.grade) == (outcome, grade), (decision.reasons, decision.details)
    assert len(decision.rule_results) == (35 if code == "BUSINESS" else 32)
    assert len(decision.score_breakdown) == 10
    assert bool(decision.shadow) == (code == "EMERGENCY")


@pytest.mark.parametrize("sequence, mobile, outcome, codes, action", [
    ("123", "13812345678", "pass", [], ""),
    ("960", "13812345678", "refer", ["IL_MULTI_LENDING", "IL_MULTI_APPS_7D"], "notify"),  # 8 institutions, 6 in 7 days
    ("900", "13812345678", "refer", ["IL_COURT_JUDGMENT"], ""),  # one civil judgment
    ("970", "13812345678", "reject", ["IL_COURT_SEVERE"], "reduce_limit"),  # dishonest debtor, enforcement
    ("950", "13812345678", "freeze", ["IL_LIST_HIT"], "freeze"),  # ID on the fraud list
    ("123", "13812341111", "freeze", ["IL_LIST_HIT"], "freeze"),  # mobile on the risk list
])
def test_the_demo_in_loan_rules_on_the_sandbox_triggers(sequence, mobile, outcome, codes, action):
    from products.models import LoanProduct
    from risk.requests import DrawdownCheckRequest
    from risk.services.inloan import drawdown_check, warning_check

    _seed()
    applicant = make_applicant(sequence=sequence, mobile=mobile)
    for code in ("EMERGENCY", "EDUCATION", "RENOVATION", "BUSINESS"):
        product = LoanProduct.objects.get(code=code)
        result = drawdown_check(request=DrawdownCheckRequest(
            applicant_id=applicant.pk, product_id=product.pk, amount=Decimal("10000.00"),
            drawdown_reference=f"DD-{code}"))
        assert (result.outcome, result.reason_codes) == (outcome, codes)
        warning = warning_check(applicant_id=applicant.pk, product_id=product.pk, reference=f"W-{code}")
        assert (warning.hit, warning.action) == (bool(action), action)


def test_a_policy_seeded_before_the_in_loan_checks_gets_them_once():
    _seed()
    policy = RiskPolicy.objects.get(product__code="EDUCATION")
    drawdown_set = RuleSet.objects.get(code="IN_LOAN_DRAWDOWN_STD")
    policy.rule_sets.remove(drawdown_set)
    _seed()
    assert list(policy.rule_sets.filter(stage="in_loan_drawdown")) == [drawdown_set]
    _seed()
    assert policy.rule_sets.filter(stage="in_loan_drawdown").count() == 1
