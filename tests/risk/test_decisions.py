"""risk_assess end to end on the sandbox providers (docs/sandbox.md): each stage with its exact
outcome and reasons, unavailable sources, idempotency and forced re-assessment."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from creditfactory.core.state import transitions_for
from risk.features import DataSourceUnavailable
from risk.models import Decision, RuleSet
from risk.selectors import PolicyNotReady
from risk.services.decisions import risk_assess
from risk.validators import age_on
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import configure_sources, make_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    return product


def assess(product, **applicant):
    application = make_application(product=product, applicant=make_applicant(**applicant))
    return risk_assess(request=assessment_request(application), tolerate_failures=True)


def codes(decision):
    return [(reason["stage"], reason["code"], reason["outcome"]) for reason in decision.reasons]


def steps(decision):
    return [step["status"] for step in decision.steps]


def test_an_ordinary_applicant_is_approved_with_limit_rate_and_grade(product):
    application = make_application(product=product)  # sandbox sequence 123: bureau score 669, debt 1,150/month
    decision = risk_assess(request=assessment_request(application))
    assert (decision.outcome, decision.grade, decision.score) == ("approve", "C", 620)
    assert (decision.limit, decision.rate_percent, decision.rate_basis, decision.apr_percent) == (
        Decimal("40000.00"), Decimal("7.000000"), "annual", Decimal("6.999900"))
    assert decision.reasons == []
    assert decision.data_cost == Decimal("3.60")
    assert steps(decision) == ["passed"] * 7
    assert [(r["rule_code"], r["status"]) for r in decision.rule_results] == [
        ("AGE_RANGE", "not_matched"), ("LOW_INCOME", "not_matched"), ("SEVERE_OVERDUE", "not_matched"),
        ("DISHONEST", "not_matched"), ("THIN_FILE", "not_matched"), ("FRAUD_HIT", "not_matched"),
        ("MULTI_LENDING", "not_matched"), ("RISK_LIST", "not_matched")]
    assert decision.rule_results[0] == {
        "stage": "admission", "rule_set": "T_ADMISSION", "rule_set_version": 1, "rule_code": "AGE_RANGE",
        "expression": "age < 22 or age > 55", "outcome": "reject", "status": "not_matched", "matched": False,
        "values": {"age": age_on(date(1990, 5, 20), timezone.localdate())}, "detail": ""}
    assert decision.score_breakdown == [
        {"feature": "bureau.score", "label": "Bureau score", "value": 669, "bin": "600–699", "points": 0,
         "status": "binned"},
        {"feature": "employment", "label": "Employment", "value": "employed", "bin": "Employed", "points": 20,
         "status": "binned"}]
    assert decision.details["limit"]["caps"] == {"income": "40000.00", "product": "100000.00", "dti": "50006.89"}
    assert decision.request == {"amount": "20000.00", "term": 12, "term_unit": "months",
                                "method": "equal_installment", "start_date": decision.as_of.isoformat()}
    assert [(v["code"], v["version"], v["stage"]) for v in decision.versions["rule_sets"]] == [
        ("T_ADMISSION", 1, "admission"), ("T_FRAUD", 1, "anti_fraud"), ("T_DIRECT", 1, "direct_reject")]
    assert decision.rule_set_versions.count() == 3
    assert (decision.scorecard_version.version, decision.versions["scorecard"]["code"]) == (1, "T_SCORE")
    assert decision.snapshot["features"]["bureau.score"] == 669
    assert sorted(decision.snapshot["sources"]) == ["bureau", "court", "fraud", "multi_lending", "scenario"]
    [move] = transitions_for(application)
    assert (move.field, move.from_state, move.to_state, move.actor_label) == ("risk_decision", "", "approve", "system")


def test_admission_rejects_and_stops_with_every_admission_reason(product):
    decision = assess(product, birth_date=timezone.localdate() - timedelta(days=20 * 365),
                      monthly_income=Decimal("2500.00"))
    assert (decision.outcome, decision.grade, decision.score, decision.limit, decision.rate_percent) == (
        "reject", "", None, None, None)
    assert decision.reasons == [
        {"code": "AGE_OUT_OF_RANGE", "stage": "admission", "outcome": "reject", "rule_set": "T_ADMISSION",
         "rule_code": "AGE_RANGE", "description": "Outside 22–55",
         "customer_reason": {"zh-hans": "年龄不符合要求", "en": "Age outside our range"}, "params": {}},
        {"code": "INCOME_TOO_LOW", "stage": "admission", "outcome": "reject", "rule_set": "T_ADMISSION",
         "rule_code": "LOW_INCOME", "description": "Income below 3,000",
         "customer_reason": {"zh-hans": "收入不符合要求", "en": "Income too low"}, "params": {}}]
    assert steps(decision) == ["passed", "rejected", "skipped", "skipped", "skipped", "skipped", "skipped"]
    assert len(decision.rule_results) == 2  # later stages did not run


@pytest.mark.parametrize("sequence, expected_codes, expected_steps", [
    ("981", [("direct_reject", "BUREAU_SEVERE_OVERDUE", "reject")],  # delinquent: 2 overdue, 120 DPD
     ["passed", "passed", "rejected", "skipped", "skipped", "skipped", "skipped"]),
    ("971", [("direct_reject", "DISHONEST_DEBTOR", "reject")],  # court, dishonest debtor
     ["passed", "passed", "rejected", "skipped", "skipped", "skipped", "skipped"]),
    ("951", [("anti_fraud", "FRAUD_LIST", "reject")],  # ID on the sandbox fraud list
     ["passed", "passed", "passed", "rejected", "skipped", "skipped", "skipped"]),
])
def test_direct_reject_and_fraud_rules_reject(product, sequence, expected_codes, expected_steps):
    decision = assess(product, sequence=sequence)
    assert (decision.outcome, decision.limit, decision.rate_percent) == ("reject", None, None)
    assert codes(decision) == expected_codes
    assert steps(decision) == expected_steps


def test_a_thin_file_is_referred_and_scored_low(product):
    decision = assess(product, sequence="991")
    assert (decision.outcome, decision.grade, decision.score, decision.limit, decision.rate_percent) == (
        "refer", "D", 570, Decimal("20000.00"), Decimal("8.000000"))
    assert codes(decision) == [("direct_reject", "THIN_FILE", "refer"), ("score", "SCORE_GRADE_REFER", "refer")]
    score_reason = decision.reasons[1]
    assert score_reason["description"] == "Score 570 is grade D, which the scorecard refers to manual review."
    assert score_reason["customer_reason"]["en"] == "Your application will be reviewed by our staff."
    assert steps(decision) == ["passed", "passed", "referred", "passed", "referred", "passed", "passed"]


def test_grade_e_rejects_after_scoring(product):
    decision = assess(product, sequence="992", employment="student")  # thin file (−50), student (0): 550
    assert (decision.outcome, decision.grade, decision.score, decision.limit) == ("reject", "E", 550, None)
    assert codes(decision) == [("direct_reject", "THIN_FILE", "refer"), ("score", "SCORE_GRADE_REJECT", "reject")]
    assert steps(decision) == ["passed", "passed", "referred", "passed", "rejected", "skipped", "skipped"]


def test_heavy_multi_lending_refers_and_a_risk_list_only_flags(product):
    referred = assess(product, sequence="961")
    assert (referred.outcome, referred.grade) == ("refer", "A")
    assert codes(referred) == [("anti_fraud", "MULTI_LENDING", "refer")]
    flagged = assess(product, sequence="941")
    assert (flagged.outcome, flagged.grade, flagged.limit) == ("approve", "A", Decimal("39600.00"))
    assert codes(flagged) == [("anti_fraud", "RISK_LIST", "flag")]
    assert steps(flagged) == ["passed", "passed", "passed", "flagged", "passed", "passed", "passed"]


def test_a_limit_below_the_product_minimum_rejects():
    configure_sources()
    product = make_product("RENOVATION", amount_min=Decimal("50000.00"), amount_max=Decimal("200000.00"),
                           purposes=["renovation"])
    make_policy(product)
    application = make_application(product=product, amount=Decimal("60000.00"), purpose="renovation")
    decision = risk_assess(request=assessment_request(application))
    assert (decision.outcome, decision.grade, decision.limit) == ("reject", "C", None)
    assert codes(decision) == [("limit", "LIMIT_BELOW_MINIMUM", "reject")]
    assert decision.reasons[0]["params"] == {"limit": "40000.00", "minimum": "50000.00"}
    assert steps(decision) == ["passed"] * 5 + ["rejected", "skipped"]


def test_a_source_that_does_not_answer_makes_the_decision_refer_naming_it(product):
    decision = assess(product, sequence="911")  # the sandbox bureau never answers for 91x
    assert (decision.outcome, decision.unavailable_sources, decision.tolerated_failures) == ("refer", ["bureau"], True)
    assert codes(decision) == [("data", "DATA_SOURCE_UNAVAILABLE", "refer")]
    assert decision.reasons[0]["params"]["source"] == "bureau"
    assert decision.reasons[0]["description"].startswith("Data source bureau did not answer (sandbox bureau")
    statuses = {r["rule_code"]: (r["status"], r["detail"]) for r in decision.rule_results}
    assert statuses["SEVERE_OVERDUE"] == ("not_evaluated", "bureau")
    assert statuses["THIN_FILE"] == ("not_evaluated", "bureau")
    assert statuses["DISHONEST"] == ("not_matched", "")
    assert decision.score_breakdown[0]["status"] == "unavailable"
    assert decision.data_cost == Decimal("1.60")  # the bureau call failed and costs nothing


def test_without_tolerance_a_source_that_does_not_answer_raises_and_writes_nothing(product):
    application = make_application(product=product, applicant=make_applicant(sequence="911"))
    with pytest.raises(DataSourceUnavailable) as caught:
        risk_assess(request=assessment_request(application))
    assert (caught.value.source, caught.value.retryable) == ("bureau", True)
    assert Decision.objects.count() == 0
    assert list(transitions_for(application)) == []


def test_a_second_assessment_returns_the_first_decision(product):
    application = make_application(product=product)
    first = risk_assess(request=assessment_request(application))
    assert risk_assess(request=assessment_request(application)) == first
    assert Decision.objects.count() == 1
    assert transitions_for(application).count() == 1


def test_a_forced_reassessment_needs_a_reason_and_supersedes_the_first(product, admin_user):
    application = make_application(product=product)
    first = risk_assess(request=assessment_request(application))
    with pytest.raises(ValidationError) as caught:
        risk_assess(request=assessment_request(application), force=True, actor=admin_user)
    assert list(caught.value.message_dict) == ["note"]
    assert Decision.objects.count() == 1

    second = risk_assess(request=assessment_request(application), force=True, actor=admin_user,
                         note="Income documents corrected")
    first.refresh_from_db()
    assert (first.status, first.superseded_by, second.status, second.sequence) == (
        "superseded", second, "current", 2)
    assert (second.actor, second.note) == (admin_user, "Income documents corrected")
    assert risk_assess(request=assessment_request(application)) == second
    moves = [(t.from_state, t.to_state, t.actor, t.reason) for t in transitions_for(application).order_by("id")]
    assert moves == [("", "approve", None, "Risk decision #1: Approve"),
                     ("approve", "approve", admin_user, "Income documents corrected")]


def test_no_policy_or_an_unpublished_rule_set_means_no_decision(product):
    other = make_product("OTHER")
    with pytest.raises(PolicyNotReady):
        risk_assess(request=assessment_request(make_application(product=other)))
    draft = RuleSet.objects.create(code="DRAFT", name="Draft", stage="admission")
    product.risk_policy.rule_sets.add(draft)
    with pytest.raises(PolicyNotReady) as caught:
        risk_assess(request=assessment_request(make_application(product=product)))
    assert str(caught.value) == "rule set DRAFT has never been published."
    assert Decision.objects.count() == 0


def test_a_decision_written_meanwhile_by_another_worker_wins(product, monkeypatch):
    from dataclasses import replace

    from risk.services import decisions as service

    application = make_application(product=product)
    theirs = risk_assess(request=assessment_request(application))
    real = service.assessment_inputs

    def not_yet(**kwargs):
        # The other worker had not decided yet when this one looked.
        return replace(real(**{**kwargs, "force": True}), current_decision_id=None)

    monkeypatch.setattr(service, "assessment_inputs", not_yet)
    assert risk_assess(request=assessment_request(application)) == theirs
    assert Decision.objects.count() == 1
    assert transitions_for(application).count() == 1


def test_the_inputs_of_a_decision_take_one_query_once_the_versions_are_cached(product, django_assert_num_queries):
    from risk.selectors import assessment_inputs

    application = make_application(product=product)
    first = assessment_inputs(application_id=application.pk, product_id=product.pk)
    with django_assert_num_queries(1):
        again = assessment_inputs(application_id=application.pk, product_id=product.pk)
    assert again == first
    assert [spec.code for spec in again.champion.rule_sets] == ["T_ADMISSION", "T_FRAUD", "T_DIRECT"]
    assert (again.challenger, again.current_decision_id) == (None, None)
    decision = risk_assess(request=assessment_request(application))
    with django_assert_num_queries(1):
        assert assessment_inputs(application_id=application.pk, product_id=product.pk).current_decision_id == \
            decision.pk
