"""A small, fully known risk policy for the decision tests, built through the services.

Rules (expression → outcome):
  admission   T_ADMISSION: AGE_RANGE ``age < 22 or age > 55`` → reject; LOW_INCOME ``monthly_income < 3000`` → reject
  direct rej. T_DIRECT:    SEVERE_OVERDUE ``bureau.overdue_count > 0 and bureau.max_dpd_24m > 90`` → reject;
                           DISHONEST ``court.dishonest_debtor`` → reject; THIN_FILE ``bureau.thin_file`` → refer
  anti-fraud  T_FRAUD:     FRAUD_HIT ``fraud.id_hit or fraud.mobile_hit or fraud.device_hit`` → reject;
                           MULTI_LENDING ``multi_lending.institutions_30d >= 5`` → refer;
                           RISK_LIST ``fraud.risk_list_hit`` → flag
Scorecard T_SCORE (base 600): bureau.score [−∞,600) −50 · [600,700) 0 · [700,∞) +60;
  employment employed +20 · self_employed/business_owner +10 · else 0.
  Cut-offs A 680, B 640, C 600, D 560; D refers, E rejects.
Limit T_LIMIT: A ×8, B ×6, C ×4, D ×2 monthly income (no E band), step 100, DTI ceiling 55 %.
Pricing T_PRICE: A 0 %, B 25 %, C 50 %, D 100 % of the product's rate band, step 0.01.

The sandbox's ordinary applicant (sequence 123, income 10,000, employed) scores 600 + 0 + 20 = 620
(bureau score 669): grade C.
"""

from decimal import Decimal

from risk.models import LimitStrategy, PricingStrategy, RuleSet, Scorecard
from risk.services import policies

ADMISSION_RULES = [
    dict(code="AGE_RANGE", expression="age < 22 or age > 55", outcome="reject", reason_code="AGE_OUT_OF_RANGE",
         description="Outside 22–55", customer_reason_zh="年龄不符合要求", customer_reason_en="Age outside our range",
         priority=10),
    dict(code="LOW_INCOME", expression="monthly_income < 3000", outcome="reject", reason_code="INCOME_TOO_LOW",
         description="Income below 3,000", customer_reason_zh="收入不符合要求", customer_reason_en="Income too low",
         priority=20),
]
DIRECT_RULES = [
    dict(code="SEVERE_OVERDUE", expression="bureau.overdue_count > 0 and bureau.max_dpd_24m > 90", outcome="reject",
         reason_code="BUREAU_SEVERE_OVERDUE", description="Overdue now and > 90 DPD in 24 months",
         customer_reason_zh="征信记录不符合要求", customer_reason_en="Credit record does not qualify", priority=10),
    dict(code="DISHONEST", expression="court.dishonest_debtor", outcome="reject", reason_code="DISHONEST_DEBTOR",
         description="On the dishonest-debtor list", customer_reason_zh="综合评估未通过",
         customer_reason_en="Overall assessment not passed", priority=20),
    dict(code="THIN_FILE", expression="bureau.thin_file", outcome="refer", reason_code="THIN_FILE",
         description="No credit history", customer_reason_zh="需人工审核", customer_reason_en="Manual review needed",
         priority=30),
]
FRAUD_RULES = [
    dict(code="FRAUD_HIT", expression="fraud.id_hit or fraud.mobile_hit or fraud.device_hit", outcome="reject",
         reason_code="FRAUD_LIST", description="On a fraud list", customer_reason_zh="综合评估未通过",
         customer_reason_en="Overall assessment not passed", priority=10),
    dict(code="MULTI_LENDING", expression="multi_lending.institutions_30d >= 5", outcome="refer",
         reason_code="MULTI_LENDING", description="5+ institutions in 30 days", customer_reason_zh="需人工审核",
         customer_reason_en="Manual review needed", priority=20),
    dict(code="RISK_LIST", expression="fraud.risk_list_hit", outcome="flag", reason_code="RISK_LIST",
         description="On a risk list (soft)", priority=30),
]

SCORE_CHARACTERISTICS = [
    dict(feature="bureau.score", label="Bureau score", default_points=0, bins=[
        dict(label="< 600", upper=Decimal("600"), points=-50),
        dict(label="600–699", lower=Decimal("600"), upper=Decimal("700"), points=0),
        dict(label="700+", lower=Decimal("700"), points=60),
    ]),
    dict(feature="employment", label="Employment", default_points=0, bins=[
        dict(label="Employed", categories=["employed"], points=20),
        dict(label="Own business", categories=["self_employed", "business_owner"], points=10),
    ]),
]


def _get_or_create(model, code, create):
    return model.objects.filter(code=code).first() or create()


def make_rule_sets(actor=None, prefix="T"):
    sets = []
    for suffix, stage, rules in (("ADMISSION", "admission", ADMISSION_RULES), ("DIRECT", "direct_reject", DIRECT_RULES),
                                 ("FRAUD", "anti_fraud", FRAUD_RULES)):
        code = f"{prefix}_{suffix}"
        rule_set = _get_or_create(RuleSet, code, lambda: policies.rule_set_create(
            actor=actor, code=code, name=f"Test {stage}", stage=stage, rules=rules))
        policies.rule_set_publish(rule_set=rule_set, actor=actor)
        sets.append(rule_set)
    return sets


def make_scorecard(actor=None, code="T_SCORE", characteristics=None, cutoffs=None, base_score=600):
    scorecard = _get_or_create(Scorecard, code, lambda: policies.scorecard_create(
        actor=actor, code=code, name="Test scorecard", base_score=base_score,
        cutoffs=cutoffs or {"A": 680, "B": 640, "C": 600, "D": 560}, refer_grades="D", reject_grades="E",
        characteristics=characteristics or SCORE_CHARACTERISTICS))
    policies.scorecard_publish(scorecard=scorecard, actor=actor)
    return scorecard


def make_limit_strategy(actor=None, code="T_LIMIT", **overrides):
    def create():
        values = dict(step=Decimal("100"), dti_ceiling_percent=Decimal("55"), bands=[
            dict(grade="A", multiple=Decimal("8")), dict(grade="B", multiple=Decimal("6")),
            dict(grade="C", multiple=Decimal("4")), dict(grade="D", multiple=Decimal("2")),
        ])
        values.update(overrides)
        return policies.limit_strategy_create(actor=actor, code=code, name="Test limit", **values)

    strategy = _get_or_create(LimitStrategy, code, create)
    policies.limit_strategy_publish(strategy=strategy, actor=actor)
    return strategy


def make_pricing_strategy(actor=None, code="T_PRICE", **overrides):
    def create():
        values = dict(rate_step_percent=Decimal("0.01"),
                      positions={"A": Decimal("0"), "B": Decimal("25"), "C": Decimal("50"), "D": Decimal("100")})
        values.update(overrides)
        return policies.pricing_strategy_create(actor=actor, code=code, name="Test pricing", **values)

    strategy = _get_or_create(PricingStrategy, code, create)
    policies.pricing_strategy_publish(strategy=strategy, actor=actor)
    return strategy


def make_policy(product, *, actor=None, challenger_rule_sets=(), challenger_scorecard=None, **parts):
    return policies.risk_policy_save(
        actor=actor, product=product, rule_sets=parts.get("rule_sets") or make_rule_sets(actor),
        scorecard=parts.get("scorecard") or make_scorecard(actor),
        limit_strategy=parts.get("limit_strategy") or make_limit_strategy(actor),
        pricing_strategy=parts.get("pricing_strategy") or make_pricing_strategy(actor),
        challenger_rule_sets=challenger_rule_sets, challenger_scorecard=challenger_scorecard,
    )


# Sandbox sources at zero latency with the demo's prices: a full pull costs 3.60.
SOURCE_COSTS = {"bureau": Decimal("2.00"), "multi_lending": Decimal("0.50"), "fraud": Decimal("0.30"),
                "court": Decimal("0.80"), "scenario": Decimal("0.00")}


def configure_sources(**overrides):
    from risk.models import DataSourceConfig

    for source, cost in SOURCE_COSTS.items():
        values = dict(provider="sandbox", cost_per_call=cost, sandbox_latency_ms=0, retries=0, cache_days=30)
        values.update(overrides.get(source, {}))
        DataSourceConfig.objects.update_or_create(source=source, defaults=values)


# In-loan rule sets (贷中) on the sandbox triggers of docs/sandbox.md: sequence 96x (8 institutions
# in 30 days) refers a drawdown, 97x (dishonest debtor, enforcement) rejects it, 95x / 94x or a
# mobile ending 1111 (on a list) freeze the line; the warning set handles the same hits.
IN_LOAN_DRAWDOWN_RULES = [
    dict(code="DD_LIST", expression="fraud.id_hit or fraud.mobile_hit or fraud.risk_list_hit", outcome="freeze",
         reason_code="IL_LIST_HIT", description="Borrower on a fraud or risk list", priority=10,
         customer_reason_zh="借款人命中风险名单", customer_reason_en="The borrower is on a risk list"),
    dict(code="DD_COURT", expression="court.dishonest_debtor or court.enforcements > 0", outcome="reject",
         reason_code="IL_COURT", description="New court record", priority=20,
         customer_reason_zh="借款人有新的法院执行记录", customer_reason_en="The borrower has a new court record"),
    dict(code="DD_MULTI", expression="multi_lending.institutions_30d >= 6", outcome="refer",
         reason_code="IL_MULTI_LENDING", description="Applying at many institutions", priority=30,
         customer_reason_zh="近期多头借贷较多,需人工审核", customer_reason_en="Many recent loan applications elsewhere"),
]
IN_LOAN_WARNING_RULES = [
    dict(code="W_LIST", expression="fraud.id_hit or fraud.mobile_hit or fraud.risk_list_hit", outcome="warn",
         reason_code="IL_LIST_HIT", description="Borrower on a fraud or risk list", warning_action="freeze",
         priority=10),
    dict(code="W_COURT", expression="court.dishonest_debtor or court.enforcements > 0", outcome="warn",
         reason_code="IL_COURT", description="New court record", warning_action="reduce_limit", priority=20),
    dict(code="W_MULTI", expression="multi_lending.applications_30d >= 6", outcome="warn",
         reason_code="IL_MULTI_LENDING", description="Applying at many institutions", priority=30),
]


def make_in_loan_rule_sets(actor=None, prefix="T"):
    sets = []
    for suffix, stage, rules in (("IN_LOAN_DRAWDOWN", "in_loan_drawdown", IN_LOAN_DRAWDOWN_RULES),
                                 ("IN_LOAN_WARNING", "in_loan_warning", IN_LOAN_WARNING_RULES)):
        code = f"{prefix}_{suffix}"
        rule_set = _get_or_create(RuleSet, code, lambda: policies.rule_set_create(
            actor=actor, code=code, name=f"Test {stage}", stage=stage, rules=rules))
        policies.rule_set_publish(rule_set=rule_set, actor=actor)
        sets.append(rule_set)
    return sets


def make_in_loan_policy(product, *, actor=None):
    """A policy with the origination test sets plus the in-loan drawdown and warning sets."""
    return make_policy(product, actor=actor, rule_sets=[*make_rule_sets(actor), *make_in_loan_rule_sets(actor)])
