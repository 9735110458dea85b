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
    assert RuleSetVersion.objects.count() == versions == RuleSet.objects.count() == 9
    assert SEEDERS.index("risk.demo_policy.seed") > SEEDERS.index("risk.demo.seed") > SEEDERS.index(
        "products.demo.seed")
    policies = {p.product.code: p for p in RiskPolicy.objects.select_related("product", "scorecard")}
    assert sorted(policies) == ["BUSINESS", "EDUCATION", "EMERGENCY", "RENOVATION"]
    for code, policy in policies.items():
        rules = Rule.objects.filter(rule_set__in=policy.rule_sets.filter(stage__in=ORIGINATION_STAGES))
        assert rules.count() == (35 if code == "BUSINESS" else 32)
        assert policy.scorecard.characteristics.count() == 10
    assert set(Rule.objects.values_list("rule_set__stage", flat=True)) == {
        "admission", "direct_reject", "anti_fraud", "in_loan_warning", "post_loan_monitoring"}
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
