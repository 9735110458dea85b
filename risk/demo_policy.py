"""Demo risk policies: rule sets for every stage (32 origination rules per product, 35 for business loans, plus
the in-loan drawdown check, in-loan warnings with their handling, and post-loan monitoring), a 10-characteristic scorecard with A–E cut-offs, limit and
pricing strategies, and a risk policy for each demo product; EMERGENCY runs a challenger
(stricter multi-lending rule set and scorecard) in shadow. Idempotent: configuration that exists
is left as an admin may have edited it; unchanged working copies are not published again.
"""

from decimal import Decimal

from products.models import LoanProduct

from .models import LimitStrategy, PricingStrategy, RiskPolicy, RuleSet, Scorecard
from .services import policies

D = Decimal
REVIEW = ("需人工审核", "Your application needs a manual review")
NOT_PASSED = ("综合评估未通过", "Your application did not pass our overall assessment")
CREDIT = ("征信记录不符合要求", "Your credit record does not meet our requirements")


def rule(code, expression, outcome, reason_code, description, customer=None, priority=100):
    zh, en = customer or (("", "") if outcome in ("flag", "warn") else NOT_PASSED)
    return dict(code=code, expression=expression, outcome=outcome, reason_code=reason_code, description=description,
                customer_reason_zh=zh, customer_reason_en=en, priority=priority)


def admission_rules(product: LoanProduct) -> list[dict]:
    version = product.current_version
    business = product.product_type == "small_business"
    min_income = 5000 if business else 3000
    rules = [
        rule("AGE_RANGE", f"age < {version.age_min} or age > {version.age_max}", "reject", "AGE_OUT_OF_RANGE",
             f"Age outside the product's {version.age_min}–{version.age_max}",
             ("年龄不符合产品要求", "Your age is outside this product's range"), 10),
        rule("INCOME_MIN", f"monthly_income < {min_income}", "reject", "INCOME_TOO_LOW",
             f"Monthly income below {min_income}", ("收入不符合要求", "Your income is below our minimum"), 20),
        rule("UNEMPLOYED", "employment == 'unemployed'", "reject", "NO_EMPLOYMENT", "No employment income",
             ("无稳定收入来源", "No stable source of income"), 30),
        rule("STUDENT", "employment == 'student'", "refer" if product.code == "EDUCATION" else "reject",
             "STUDENT_APPLICANT", "Student applicant", REVIEW if product.code == "EDUCATION" else NOT_PASSED, 40),
        rule("SHORT_TENURE", "employment == 'employed' and years_at_employer < 1", "refer", "SHORT_TENURE",
             "Less than a year with the current employer", REVIEW, 50),
        rule("AMOUNT_VS_INCOME", "amount > monthly_income * 30", "refer", "AMOUNT_HIGH_FOR_INCOME",
             "Requested amount above 30 months of income", REVIEW, 60),
    ]
    if business:
        rules += [
            rule("NO_ENTERPRISE", "not enterprise.present", "reject", "NO_ENTERPRISE",
                 "A business loan needs an enterprise", ("经营贷需提供企业信息", "A business loan needs your company"), 70),
            rule("YOUNG_ENTERPRISE", "enterprise.present and enterprise.years_in_business < 2", "reject",
                 "ENTERPRISE_TOO_YOUNG", "Enterprise registered less than 2 years ago",
                 ("企业经营年限不足", "Your company has not been in business long enough"), 80),
            rule("LOW_REVENUE", "enterprise.present and enterprise.annual_revenue < 500000", "refer",
                 "ENTERPRISE_LOW_REVENUE", "Annual revenue below 500,000", REVIEW, 90),
        ]
    return rules


DIRECT_REJECT_RULES = [
    rule("OVERDUE_MULTIPLE", "bureau.overdue_count >= 2", "reject", "BUREAU_OVERDUE",
         "Two or more accounts overdue now", CREDIT, 10),
    rule("OVERDUE_ONE", "bureau.overdue_count == 1 and bureau.max_dpd_24m <= 90", "refer", "BUREAU_OVERDUE_ONE",
         "One account overdue now", REVIEW, 20),
    rule("MAX_DPD_90", "bureau.max_dpd_24m > 90", "reject", "BUREAU_DPD_90", "Worse than 90 days past due in 24 months",
         CREDIT, 30),
    rule("MAX_DPD_30", "bureau.max_dpd_24m > 30 and bureau.max_dpd_24m <= 90", "refer", "BUREAU_DPD_30",
         "31–90 days past due in 24 months", REVIEW, 40),
    rule("LOW_BUREAU_SCORE", "not bureau.thin_file and bureau.score < 450", "reject", "BUREAU_SCORE_LOW",
         "Bureau score below 450", CREDIT, 50),
    rule("INQUIRIES_EXTREME", "bureau.inquiries_3m >= 8", "reject", "INQUIRIES_EXTREME",
         "Eight or more credit inquiries in 3 months", CREDIT, 60),
    rule("INQUIRIES_HIGH", "bureau.inquiries_3m >= 5 and bureau.inquiries_3m < 8", "refer", "INQUIRIES_HIGH",
         "Five to seven credit inquiries in 3 months", REVIEW, 70),
    rule("DTI_CEILING", "debt_to_income > 0.55", "reject", "DTI_TOO_HIGH", "Debt-to-income above 55 %",
         ("负债收入比过高", "Your debt is too high for your income"), 80),
    rule("PTI_HIGH", "payment_to_income > 0.4", "refer", "PTI_HIGH", "The new installment alone is over 40 % of income",
         REVIEW, 90),
    rule("DEBT_STOCK", "bureau.outstanding_debt > monthly_income * 36", "refer", "DEBT_STOCK_HIGH",
         "Outstanding debt above three years of income", REVIEW, 100),
    rule("THIN_FILE", "bureau.thin_file", "refer", "THIN_FILE", "No credit history (白户)", REVIEW, 110),
    rule("DISHONEST_DEBTOR", "court.dishonest_debtor", "reject", "DISHONEST_DEBTOR", "On the dishonest-debtor list",
         NOT_PASSED, 120),
    rule("ENFORCEMENT", "court.enforcements > 0", "reject", "COURT_ENFORCEMENT", "Open enforcement case", NOT_PASSED,
         130),
    rule("JUDGMENT", "court.judgments > 0 and court.enforcements == 0", "refer", "COURT_JUDGMENT",
         "Civil judgment on record", REVIEW, 140),
    rule("OWN_DPD_SEVERE", "scenario.max_dpd_own > 30", "reject", "OWN_HISTORY_SEVERE",
         "More than 30 days late on a loan with us", NOT_PASSED, 150),
    rule("OWN_DPD_MILD", "scenario.max_dpd_own > 0 and scenario.max_dpd_own <= 30", "refer", "OWN_HISTORY_LATE",
         "Late on a loan with us", REVIEW, 160),
    rule("GOOD_CUSTOMER", "scenario.repaid_loans >= 2 and scenario.max_dpd_own == 0", "flag", "GOOD_REPEAT_CUSTOMER",
         "Repaid two or more loans on time", None, 170),
]


def fraud_rules(*, institutions: int) -> list[dict]:
    return [
        rule("FRAUD_ID", "fraud.id_hit", "reject", "FRAUD_ID", "ID number on a fraud list", NOT_PASSED, 10),
        rule("FRAUD_MOBILE", "fraud.mobile_hit", "reject", "FRAUD_MOBILE", "Mobile on a fraud list", NOT_PASSED, 20),
        rule("FRAUD_DEVICE", "fraud.device_hit", "reject", "FRAUD_DEVICE", "Device on a fraud list", NOT_PASSED, 30),
        rule("RISK_LIST", "fraud.risk_list_hit", "refer", "RISK_LIST", "ID or mobile on a risk list", REVIEW, 40),
        rule("MULTI_INSTITUTIONS", f"multi_lending.institutions_30d >= {institutions}", "reject", "MULTI_LENDING",
             f"{institutions} or more institutions applied to in 30 days",
             ("近期多头借贷过多", "Too many recent loan applications elsewhere"), 50),
        rule("MULTI_APPS_7D", "multi_lending.applications_7d >= 3", "refer", "MULTI_APPS_7D",
             "Three or more applications in 7 days", REVIEW, 60),
        rule("MULTI_APPS_30D_EXTREME", "multi_lending.applications_30d >= 10", "reject", "MULTI_APPS_30D",
             "Ten or more applications in 30 days", ("近期多头借贷过多", "Too many recent loan applications elsewhere"), 70),
        rule("MULTI_APPS_30D", "multi_lending.applications_30d >= 6 and multi_lending.applications_30d < 10", "flag",
             "MULTI_APPS_30D_HIGH", "Six to nine applications in 30 days", None, 80),
        rule("YOUNG_HIGH_VELOCITY", "age < 23 and multi_lending.applications_30d >= 3", "refer", "YOUNG_VELOCITY",
             "Young applicant applying in several places", REVIEW, 90),
    ]


def warning_rule(code, expression, reason_code, description, action, priority=100):
    return {**rule(code, expression, "warn", reason_code, description, priority=priority), "warning_action": action}


LISTED = ("借款人命中风险名单,额度已冻结", "The borrower is on a risk list; the credit line is frozen")
COURT = ("借款人存在法院执行或失信记录", "The borrower has an enforcement or dishonest-debtor record")
# In-loan drawdown check (贷中支用审核): the data pulled again at each drawdown.
IN_LOAN_DRAWDOWN_RULES = [
    rule("ILD_LIST_HIT", "fraud.id_hit or fraud.mobile_hit or fraud.device_hit or fraud.risk_list_hit", "freeze",
         "IL_LIST_HIT", "Borrower (ID, mobile or device) on a fraud or risk list since the line was granted", LISTED,
         10),
    rule("ILD_COURT_SEVERE", "court.dishonest_debtor or court.enforcements > 0", "reject", "IL_COURT_SEVERE",
         "Dishonest debtor or open enforcement", COURT, 20),
    rule("ILD_COURT_JUDGMENT", "court.judgments > 0 and court.enforcements == 0 and not court.dishonest_debtor",
         "refer", "IL_COURT_JUDGMENT", "A civil judgment, no enforcement", REVIEW, 30),
    rule("ILD_MULTI_LENDING", "multi_lending.institutions_30d >= 6", "refer", "IL_MULTI_LENDING",
         "Six or more institutions applied to in 30 days", REVIEW, 40),
    rule("ILD_MULTI_APPS_7D", "multi_lending.applications_7d >= 5", "refer", "IL_MULTI_APPS_7D",
         "Five or more loan applications in 7 days", REVIEW, 50),
]
# In-loan warnings (贷中预警): the monitoring job and every new list entry re-check the borrowers.
IN_LOAN_RULES = [
    warning_rule("IL_MULTI_LENDING", "multi_lending.applications_30d >= 6", "IL_MULTI_LENDING",
                 "Borrower applying elsewhere heavily", "notify", 30),
    warning_rule("IL_COURT", "court.enforcements > 0 or court.dishonest_debtor", "IL_COURT",
                 "New court record: reduce the limit", "reduce_limit", 20),
    warning_rule("IL_RISK_LIST", "fraud.risk_list_hit or fraud.id_hit or fraud.mobile_hit", "IL_RISK_LIST",
                 "Borrower on a list: freeze the line", "freeze", 10),
]
POST_LOAN_RULES = [
    rule("PL_BUREAU_OVERDUE", "bureau.overdue_count > 0", "warn", "PL_BUREAU_OVERDUE", "Overdue elsewhere"),
    rule("PL_OWN_LATE", "scenario.max_dpd_own > 0", "warn", "PL_OWN_LATE", "Late with us"),
    rule("PL_INCOME_DROP", "debt_to_income > 0.7", "warn", "PL_DTI", "Debt burden now above 70 % of income"),
]


def _bins(*edges_points):
    """(label, lower, upper, points) tuples → bin dicts; None is an open end."""
    return [dict(label=label, lower=None if low is None else D(low), upper=None if high is None else D(high),
                 points=points) for label, low, high, points in edges_points]


def scorecard_characteristics(*, strict: bool = False) -> list[dict]:
    multi = [(-15 if strict else 15), (0 if strict else 5), (-30 if strict else -15), (-60 if strict else -40)]
    return [
        dict(feature="bureau.score", label="Bureau score", default_points=0, bins=_bins(
            ("no score", "0", "1", 0), ("< 500", "1", "500", -60), ("500–599", "500", "600", -20),
            ("600–649", "600", "650", 0), ("650–699", "650", "700", 20), ("700–749", "700", "750", 40),
            ("750+", "750", None, 60))),
        dict(feature="bureau.inquiries_3m", label="Inquiries in 3 months", default_points=0, bins=_bins(
            ("0", "0", "1", 15), ("1–2", "1", "3", 5), ("3–4", "3", "5", -10), ("5+", "5", None, -30))),
        dict(feature="bureau.max_dpd_24m", label="Worst DPD in 24 months", default_points=0, bins=_bins(
            ("none", "0", "1", 20), ("1–30", "1", "31", 0), ("31–90", "31", "91", -30), ("90+", "91", None, -60))),
        dict(feature="multi_lending.institutions_30d", label="Institutions in 30 days", default_points=0, bins=_bins(
            ("0", "0", "1", multi[0]), ("1–2", "1", "3", multi[1]), ("3–4", "3", "5", multi[2]),
            ("5+", "5", None, multi[3]))),
        dict(feature="debt_to_income", label="Debt to income", default_points=0, bins=_bins(
            ("< 30 %", "0", "0.3", 25), ("30–45 %", "0.3", "0.45", 10), ("45–55 %", "0.45", "0.55", -10),
            ("55 %+", "0.55", None, -40))),
        dict(feature="monthly_income", label="Monthly income", default_points=0, bins=_bins(
            ("< 5,000", "0", "5000", -15), ("5,000–9,999", "5000", "10000", 0),
            ("10,000–19,999", "10000", "20000", 15 if not strict else 10), ("20,000+", "20000", None, 30))),
        dict(feature="age", label="Age", default_points=0, bins=_bins(
            ("18–24", "18", "25", -10), ("25–34", "25", "35", 5), ("35–49", "35", "50", 15), ("50+", "50", None, 0))),
        dict(feature="employment", label="Employment", default_points=0, bins=[
            dict(label="Employed", categories=["employed"], points=15),
            dict(label="Own business", categories=["self_employed", "business_owner"], points=5),
            dict(label="Retired", categories=["retired"], points=0),
            dict(label="Student", categories=["student"], points=-10),
            dict(label="Unemployed", categories=["unemployed"], points=-30)]),
        dict(feature="years_at_employer", label="Years with employer", default_points=0, bins=_bins(
            ("< 1", "0", "1", -10), ("1–2", "1", "3", 0), ("3–4", "3", "5", 10), ("5+", "5", None, 20))),
        dict(feature="scenario.repaid_loans", label="Loans repaid with us", default_points=0, bins=_bins(
            ("none", "0", "1", 0), ("1–2", "1", "3", 15), ("3+", "3", None, 30))),
    ]


CUTOFFS = {"A": 700, "B": 660, "C": 620, "D": 580}
CHALLENGER_CUTOFFS = {"A": 710, "B": 670, "C": 630, "D": 590}


def _income_bands(multiples: dict[str, tuple[str, str, str]]) -> list[dict]:
    bands = []
    for grade, (low, middle, high) in multiples.items():
        bands += [dict(grade=grade, income_min=D("0"), income_max=D("8000"), multiple=D(low)),
                  dict(grade=grade, income_min=D("8000"), income_max=D("15000"), multiple=D(middle)),
                  dict(grade=grade, income_min=D("15000"), income_max=None, multiple=D(high))]
    return bands


LIMIT_STRATEGIES = {
    "LIMIT_CONSUMER": dict(name="消费贷额度 Consumer limits", step=D("100"), dti_ceiling_percent=D("55"),
                           bands=_income_bands({"A": ("10", "12", "15"), "B": ("8", "10", "12"), "C": ("6", "8", "10"),
                                                "D": ("3", "4", "5")})),
    "LIMIT_EMERGENCY": dict(name="应急贷额度 Emergency limits", step=D("100"), dti_ceiling_percent=D("55"),
                            bands=_income_bands({"A": ("1", "1", "1"), "B": ("0.8", "0.8", "0.8"),
                                                 "C": ("0.6", "0.6", "0.6"), "D": ("0.3", "0.3", "0.3")})),
    "LIMIT_BUSINESS": dict(name="经营贷额度 Business limits", step=D("1000"), dti_ceiling_percent=D("60"),
                           bands=_income_bands({"A": ("20", "25", "30"), "B": ("15", "20", "25"),
                                                "C": ("10", "15", "20"), "D": ("5", "8", "10")})),
}
PRICING_STRATEGIES = {
    "PRICE_ANNUAL": dict(name="年利率定价 Annual-rate pricing", rate_step_percent=D("0.01"),
                         positions={"A": D("0"), "B": D("25"), "C": D("50"), "D": D("90")}),
    "PRICE_DAILY": dict(name="日利率定价 Daily-rate pricing", rate_step_percent=D("0.0001"),
                        positions={"A": D("0"), "B": D("25"), "C": D("50"), "D": D("100")}),
}
# product → (limit strategy, pricing strategy)
PRODUCT_POLICIES = {
    "EMERGENCY": ("LIMIT_EMERGENCY", "PRICE_DAILY"),
    "RENOVATION": ("LIMIT_CONSUMER", "PRICE_ANNUAL"),
    "EDUCATION": ("LIMIT_CONSUMER", "PRICE_ANNUAL"),
    "BUSINESS": ("LIMIT_BUSINESS", "PRICE_ANNUAL"),
}
CHALLENGER_PRODUCT = "EMERGENCY"


def _rule_set(code, name, stage, rules, *, actor, log):
    rule_set = RuleSet.objects.filter(code=code).first()
    if rule_set is None:
        rule_set = policies.rule_set_create(actor=actor, code=code, name=name, stage=stage, rules=rules)
        log(f"  rule set {code} created ({len(rules)} rules)")
    policies.rule_set_publish(rule_set=rule_set, actor=actor)
    return rule_set


def _scorecard(code, name, *, strict, cutoffs, actor, log):
    scorecard = Scorecard.objects.filter(code=code).first()
    if scorecard is None:
        scorecard = policies.scorecard_create(actor=actor, code=code, name=name, base_score=600, cutoffs=cutoffs,
                                              refer_grades="D", reject_grades="E",
                                              characteristics=scorecard_characteristics(strict=strict))
        log(f"  scorecard {code} created")
    policies.scorecard_publish(scorecard=scorecard, actor=actor)
    return scorecard


def seed_policies(*, actor=None, log=print) -> dict:
    direct = _rule_set("DIRECT_REJECT_STD", "直拒规则 Direct reject", "direct_reject", DIRECT_REJECT_RULES, actor=actor,
                       log=log)
    fraud = _rule_set("ANTI_FRAUD_STD", "反欺诈规则 Anti-fraud", "anti_fraud", fraud_rules(institutions=5), actor=actor,
                      log=log)
    fraud_strict = _rule_set("ANTI_FRAUD_STRICT", "反欺诈规则(挑战者) Anti-fraud, challenger", "anti_fraud",
                             fraud_rules(institutions=4), actor=actor, log=log)
    warnings = [
        _rule_set("IN_LOAN_DRAWDOWN_STD", "贷中支用审核 In-loan drawdown check", "in_loan_drawdown",
                  IN_LOAN_DRAWDOWN_RULES, actor=actor, log=log),
        _rule_set("IN_LOAN_WARNING_STD", "贷中预警 In-loan warnings", "in_loan_warning", IN_LOAN_RULES, actor=actor,
                  log=log),
        _rule_set("POST_LOAN_STD", "贷后监控 Post-loan monitoring", "post_loan_monitoring", POST_LOAN_RULES,
                  actor=actor, log=log),
    ]
    scorecard = _scorecard("SCORE_STD", "标准评分卡 Standard scorecard", strict=False, cutoffs=CUTOFFS, actor=actor,
                           log=log)
    challenger = _scorecard("SCORE_CHALLENGER", "挑战者评分卡 Challenger scorecard", strict=True,
                            cutoffs=CHALLENGER_CUTOFFS, actor=actor, log=log)
    strategies = {}
    for code, values in LIMIT_STRATEGIES.items():
        strategy = LimitStrategy.objects.filter(code=code).first() or policies.limit_strategy_create(
            actor=actor, code=code, **values)
        policies.limit_strategy_publish(strategy=strategy, actor=actor)
        strategies[code] = strategy
    for code, values in PRICING_STRATEGIES.items():
        strategy = PricingStrategy.objects.filter(code=code).first() or policies.pricing_strategy_create(
            actor=actor, code=code, **values)
        policies.pricing_strategy_publish(strategy=strategy, actor=actor)
        strategies[code] = strategy

    created = {}
    for product in LoanProduct.objects.filter(code__in=PRODUCT_POLICIES).select_related("current_version"):
        if product.current_version is None:
            continue
        admission = _rule_set(f"ADMISSION_{product.code}", f"准入规则 Admission · {product.code}", "admission",
                              admission_rules(product), actor=actor, log=log)
        if RiskPolicy.objects.filter(product=product).exists():
            # A policy seeded before the in-loan checks existed gets them (not replacing an admin's).
            for rule_set in warnings:
                if policies.risk_policy_rule_set_add(actor=actor, product=product, rule_set=rule_set):
                    log(f"  {rule_set.code} added to the risk policy of {product.code}")
            continue
        limit_code, pricing_code = PRODUCT_POLICIES[product.code]
        with_challenger = product.code == CHALLENGER_PRODUCT
        created[product.code] = policies.risk_policy_save(
            actor=actor, product=product, rule_sets=[admission, direct, fraud, *warnings], scorecard=scorecard,
            limit_strategy=strategies[limit_code], pricing_strategy=strategies[pricing_code],
            challenger_rule_sets=[fraud_strict] if with_challenger else [],
            challenger_scorecard=challenger if with_challenger else None,
            notes="Demo policy" + (" with a challenger in shadow" if with_challenger else ""),
        )
        log(f"  risk policy for {product.code} created" + (" (with challenger)" if with_challenger else ""))
    return {"risk_policies": created}


def seed(*, context: dict, log) -> None:
    seed_policies(actor=context.get("admin"), log=log)
