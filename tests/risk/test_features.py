import json
from datetime import date
from decimal import Decimal

import pytest

from risk.catalogue import CATALOGUE
from risk.features import DataSourceUnavailable, FeatureSnapshot, SourceResult, gather_features
from risk.models import CallStatus, DataSourceCall, DataSourceConfig
from risk.services.lists import risk_list_entry_add
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application, make_enterprise
from workflows.selectors.assessment import assessment_request

pytestmark = pytest.mark.django_db

AS_OF = date(2025, 6, 1)
COSTS = {"bureau": "2.00", "multi_lending": "0.50", "fraud": "0.30", "court": "0.80", "scenario": "0.00"}

# The documented sandbox applicant (docs/sandbox.md): ID 110105 19900520 123 + check, mobile
# 13812345678, employed 4 years, 10,000.00 a month; EDUCATION at its 7 % default rate,
# 20,000.00 over 12 months, equal installments (1,730.53 a month).
EXPECTED = {
    "age": 35, "sex": "M", "monthly_income": Decimal("10000.00"), "employment": "employed",
    "years_at_employer": 4, "province": "11",
    "amount": Decimal("20000.00"), "term_months": 12, "purpose": "education", "product_type": "consumer",
    "channel": "back_office", "payment_to_income": Decimal("0.1731"), "debt_to_income": Decimal("0.2881"),
    "bureau.available": True, "bureau.thin_file": False, "bureau.score": 669, "bureau.overdue_count": 0,
    "bureau.max_dpd_24m": 0, "bureau.inquiries_3m": 3, "bureau.outstanding_debt": Decimal("23000.00"),
    "bureau.monthly_debt_payment": Decimal("1150.00"),
    "multi_lending.available": True, "multi_lending.applications_7d": 1, "multi_lending.applications_30d": 3,
    "multi_lending.institutions_30d": 3,
    "fraud.available": True, "fraud.id_hit": False, "fraud.mobile_hit": False, "fraud.device_hit": False,
    "fraud.risk_list_hit": False,
    "court.available": True, "court.judgments": 0, "court.enforcements": 0, "court.dishonest_debtor": False,
    "enterprise.present": False, "enterprise.years_in_business": 0, "enterprise.annual_revenue": Decimal("0.00"),
    "scenario.existing_customer": False, "scenario.repaid_loans": 0, "scenario.max_dpd_own": 0,
}
PYTHON_TYPES = {"int": int, "decimal": Decimal, "str": str, "bool": bool}


@pytest.fixture
def priced_sources():
    for source, cost in COSTS.items():
        DataSourceConfig.objects.create(source=source, cost_per_call=Decimal(cost))


def test_every_catalogue_feature_of_the_documented_sandbox_applicant(priced_sources):
    snapshot = gather_features(assessment_request(make_application(applicant=make_applicant())), as_of=AS_OF)
    assert list(snapshot.features) == list(CATALOGUE)
    assert snapshot.features == EXPECTED
    for name, value in snapshot.features.items():
        assert type(value) is PYTHON_TYPES[CATALOGUE[name].type], name
    assert snapshot.unavailable == ()
    assert snapshot.total_cost == Decimal("3.60")
    assert {name: (r.status, r.cost) for name, r in snapshot.sources.items()} == {
        source: ("ok", Decimal(cost)) for source, cost in COSTS.items()}
    assert DataSourceCall.objects.filter(status=CallStatus.OK).count() == 5


def test_a_second_application_is_served_from_the_cache_at_no_cost(priced_sources):
    applicant = make_applicant()
    first = gather_features(assessment_request(make_application(applicant=applicant)), as_of=AS_OF)
    second = gather_features(assessment_request(make_application(applicant=applicant)), as_of=AS_OF)
    assert second.features == first.features
    assert {r.status for r in second.sources.values()} == {"cached"}
    assert second.total_cost == Decimal("0.00")
    assert sum(call.cost for call in DataSourceCall.objects.all()) == Decimal("3.60")


def test_age_is_taken_on_as_of_and_defaults_to_the_application_date():
    application = make_application(applicant=make_applicant(birth_date=date(1990, 5, 20)))
    assert gather_features(assessment_request(application), as_of=date(2025, 5, 19)).features["age"] == 34
    assert gather_features(assessment_request(application), as_of=date(2025, 5, 20)).features["age"] == 35
    from django.utils import timezone

    today = timezone.localdate(application.created_at)
    expected = today.year - 1990 - ((today.month, today.day) < (5, 20))
    assert gather_features(assessment_request(application)).features["age"] == expected


def test_business_application_with_enterprise_and_quarterly_interest():
    product = make_product(
        "BUSINESS", name="Business loan", product_type="small_business", amount_min=Decimal("100000.00"),
        amount_max=Decimal("500000.00"), rate_min_percent=Decimal("7"), rate_default_percent=Decimal("8"),
        rate_max_percent=Decimal("9"), term_min=6, term_max=60, repayment_methods=["interest_first"],
        interest_every_months=3, purposes=["working_capital"],
    )
    owner = make_applicant(sequence="050", employment="business_owner", monthly_income=Decimal("30000.00"))
    application = make_application(
        applicant=owner, product=product, amount=Decimal("200000.00"), term=12, repayment_method="interest_first",
        purpose="working_capital", enterprise=make_enterprise(legal_representative=owner), channel="api",
    )
    features = gather_features(assessment_request(application), as_of=AS_OF).features
    # Quarterly interest 4,000.00 covers 3 months: 1,333.33 a month; no bureau debt (n = 50).
    assert (features["payment_to_income"], features["debt_to_income"]) == (Decimal("0.0444"), Decimal("0.0444"))
    assert (features["enterprise.present"], features["enterprise.years_in_business"],
            features["enterprise.annual_revenue"]) == (True, 6, Decimal("3200000.00"))
    assert (features["product_type"], features["channel"], features["employment"]) == (
        "small_business", "api", "business_owner")


def test_term_in_days_counts_started_months_and_zero_income_is_unaffordable():
    product = make_product(
        "EMERGENCY", name="Emergency", product_type="cash", amount_min=Decimal("1000.00"),
        amount_max=Decimal("5000.00"), term_unit="days", term_min=7, term_max=90, rate_basis="daily",
        rate_min_percent=Decimal("0.03"), rate_default_percent=Decimal("0.04"), rate_max_percent=Decimal("0.05"),
        repayment_methods=["bullet"], purposes=["emergency"],
    )
    application = make_application(
        applicant=make_applicant(monthly_income=Decimal("0.00"), employment="unemployed"), product=product,
        amount=Decimal("3000.00"), term=45, term_unit="days", repayment_method="bullet", purpose="emergency",
    )
    features = gather_features(assessment_request(application), as_of=AS_OF).features
    assert features["term_months"] == 2
    assert (features["payment_to_income"], features["debt_to_income"]) == (Decimal("999.9999"), Decimal("999.9999"))


def test_an_unavailable_source_raises_by_default():
    application = make_application(applicant=make_applicant(sequence="911"))
    with pytest.raises(DataSourceUnavailable) as info:
        gather_features(assessment_request(application), as_of=AS_OF)
    assert (info.value.source, info.value.retryable) == ("bureau", True)


def test_tolerated_failure_marks_the_source_unavailable_with_neutral_values(priced_sources):
    application = make_application(applicant=make_applicant(sequence="911"))  # bureau never answers
    snapshot = gather_features(assessment_request(application), tolerate_failures=True, as_of=AS_OF)
    assert snapshot.unavailable == ("bureau",)
    bureau = {name: value for name, value in snapshot.features.items() if name.startswith("bureau.")}
    assert bureau == {
        "bureau.available": False, "bureau.thin_file": False, "bureau.score": 0, "bureau.overdue_count": 0,
        "bureau.max_dpd_24m": 0, "bureau.inquiries_3m": 0, "bureau.outstanding_debt": Decimal("0.00"),
        "bureau.monthly_debt_payment": Decimal("0.00"),
    }
    result = snapshot.sources["bureau"]
    assert (result.status, result.cost, result.provider) == ("unavailable", Decimal("0.00"), "sandbox")
    assert DataSourceCall.objects.get(pk=result.call_id).status == CallStatus.TIMEOUT
    assert snapshot.features["multi_lending.available"] is True
    assert snapshot.total_cost == Decimal("1.60")  # everything but the bureau
    # No bureau debt known: the debt-to-income ratio is the installment alone.
    assert snapshot.features["debt_to_income"] == snapshot.features["payment_to_income"] == Decimal("0.1731")


def test_own_list_hits_survive_an_unavailable_fraud_source():
    DataSourceConfig.objects.create(source="fraud", sandbox_failure_rate=Decimal("1"), retries=0)
    applicant = make_applicant()
    risk_list_entry_add(actor=None, list_type="fraud", kind="mobile", value=applicant.mobile, reason="takeover")
    snapshot = gather_features(assessment_request(make_application(applicant=applicant)), tolerate_failures=True,
                               as_of=AS_OF)
    assert snapshot.unavailable == ("fraud",)
    assert (snapshot.features["fraud.available"], snapshot.features["fraud.mobile_hit"],
            snapshot.features["fraud.id_hit"]) == (False, True, False)
    assert snapshot.sources["fraud"].summary["own_list_hits"][0]["value"] == "138****5678"


def test_json_round_trip_is_exact(priced_sources):
    snapshot = gather_features(
        assessment_request(make_application(applicant=make_applicant(sequence="911"), device_id="FRAUD-1")),
        tolerate_failures=True, as_of=AS_OF,
    )
    data = json.loads(json.dumps(snapshot.to_json()))
    assert data["features"]["bureau.outstanding_debt"] == "0.00"
    assert data["features"]["payment_to_income"] == "0.1731"
    assert data["total_cost"] == "1.60"
    restored = FeatureSnapshot.from_json(data)
    assert restored == snapshot
    for name, value in restored.features.items():
        assert type(value) is type(snapshot.features[name]), name
        if isinstance(value, Decimal):
            assert value.as_tuple() == snapshot.features[name].as_tuple(), name
    assert restored.features["fraud.device_hit"] is True
    assert isinstance(restored.sources["court"], SourceResult)
    assert restored.to_json() == data


def test_snapshot_summaries_hold_no_plain_identifier():
    applicant = make_applicant(mobile="13812340000")
    risk_list_entry_add(actor=None, list_type="risk", kind="id_number", value=applicant.id_number, reason="x")
    application = make_application(applicant=applicant, device_id="FRAUD-abcdef-123")
    snapshot = gather_features(assessment_request(application), as_of=AS_OF)
    text = json.dumps(snapshot.to_json())
    assert applicant.id_number not in text and applicant.mobile not in text
    assert (snapshot.features["fraud.mobile_hit"], snapshot.features["fraud.device_hit"],
            snapshot.features["fraud.risk_list_hit"]) == (True, True, True)
