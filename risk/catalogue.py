"""The feature catalogue (特征目录): every name a rule expression, scorecard characteristic or
strategy may use, with its type. Rules are validated against it when saved; the feature
gatherer produces exactly these names. Adding a feature means adding it here and teaching
``risk.features`` to produce it.

Names are dotted by source (``bureau.score``); applicant and application features have no
prefix. Types are the rule-engine types: ``int`` and ``decimal`` are numbers (FLOAT in
rule-engine, which uses Decimal), ``str``, ``bool``.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    type: str  # "int" | "decimal" | "str" | "bool"
    description: str
    source: str  # "applicant" | "application" | "bureau" | "multi_lending" | "fraud" | "court" | "enterprise" | "scenario"


FEATURES: tuple[Feature, ...] = (
    # applicant (from the application form; age and sex derive from the resident ID)
    Feature("age", "int", "Age in whole years on the application date", "applicant"),
    Feature("sex", "str", "'M' or 'F', from the resident ID", "applicant"),
    Feature("monthly_income", "decimal", "Declared monthly income, CNY", "applicant"),
    Feature("employment", "str", "employed | self_employed | business_owner | unemployed | retired | student",
            "applicant"),
    Feature("years_at_employer", "int", "Whole years with the current employer or business", "applicant"),
    Feature("province", "str", "Province code (first two digits of the ID's region code)", "applicant"),
    # the application itself
    Feature("amount", "decimal", "Requested amount, CNY", "application"),
    Feature("term_months", "int", "Requested term in months (days / 30, rounded up)", "application"),
    Feature("purpose", "str", "Loan purpose code", "application"),
    Feature("product_type", "str", "Product type code", "application"),
    Feature("channel", "str", "back_office | api | batch", "application"),
    Feature("payment_to_income", "decimal", "First full installment ÷ monthly income (0.35 = 35 %)", "application"),
    Feature("debt_to_income", "decimal", "(bureau monthly debt payment + first installment) ÷ monthly income",
            "application"),
    # central-bank credit report (人行征信)
    Feature("bureau.available", "bool", "The credit report could be pulled", "bureau"),
    Feature("bureau.thin_file", "bool", "No or almost no credit history (白户)", "bureau"),
    Feature("bureau.score", "int", "Bureau score, 300–900 (0 when thin file)", "bureau"),
    Feature("bureau.overdue_count", "int", "Accounts currently overdue", "bureau"),
    Feature("bureau.max_dpd_24m", "int", "Worst days past due in the last 24 months", "bureau"),
    Feature("bureau.inquiries_3m", "int", "Credit inquiries by lenders in the last 3 months", "bureau"),
    Feature("bureau.outstanding_debt", "decimal", "Outstanding debt, CNY", "bureau"),
    Feature("bureau.monthly_debt_payment", "decimal", "Monthly payments on existing debt, CNY", "bureau"),
    # multi-lending (多头借贷)
    Feature("multi_lending.available", "bool", "The multi-lending query answered", "multi_lending"),
    Feature("multi_lending.applications_7d", "int", "Loan applications in the last 7 days", "multi_lending"),
    Feature("multi_lending.applications_30d", "int", "Loan applications in the last 30 days", "multi_lending"),
    Feature("multi_lending.institutions_30d", "int", "Distinct institutions applied to in 30 days", "multi_lending"),
    # fraud and risk lists (欺诈名单 / 风险名单), external and our own
    Feature("fraud.available", "bool", "The list query answered", "fraud"),
    Feature("fraud.id_hit", "bool", "The ID number is on a fraud list", "fraud"),
    Feature("fraud.mobile_hit", "bool", "The mobile is on a fraud list", "fraud"),
    Feature("fraud.device_hit", "bool", "The device is on a fraud list", "fraud"),
    Feature("fraud.risk_list_hit", "bool", "ID or mobile on a (softer) risk list", "fraud"),
    # court records (法院信息)
    Feature("court.available", "bool", "The court-record query answered", "court"),
    Feature("court.judgments", "int", "Civil judgments against the applicant", "court"),
    Feature("court.enforcements", "int", "Open enforcement cases (被执行)", "court"),
    Feature("court.dishonest_debtor", "bool", "On the dishonest-debtor list (失信被执行人)", "court"),
    # enterprise (business loans; zero/False otherwise)
    Feature("enterprise.present", "bool", "The application names an enterprise", "enterprise"),
    Feature("enterprise.years_in_business", "int", "Whole years since registration", "enterprise"),
    Feature("enterprise.annual_revenue", "decimal", "Annual revenue, CNY", "enterprise"),
    # our own and scenario data (自有数据 / 场景数据)
    Feature("scenario.existing_customer", "bool", "Has borrowed from us before", "scenario"),
    Feature("scenario.repaid_loans", "int", "Loans repaid in full with us", "scenario"),
    Feature("scenario.max_dpd_own", "int", "Worst days past due on loans with us", "scenario"),
)

CATALOGUE: dict[str, Feature] = {feature.name: feature for feature in FEATURES}
SOURCES = ("bureau", "multi_lending", "fraud", "court", "scenario")
