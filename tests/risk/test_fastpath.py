"""risk.fastpath: each prebuilt statement reads or writes exactly what the ORM would."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from risk import fastpath
from risk.models import Applicant, DataSourceCall, Decision, DecisionStatus, RiskPolicy
from risk.services.decisions import risk_assess
from tests.factories import make_product
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

from .policy_factories import configure_sources, make_policy, make_scorecard

pytestmark = pytest.mark.django_db


def _fields(instance, *, without=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in without}


def test_the_locked_applicant_read_is_the_orms_locked_get():
    applicant = make_applicant()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = fastpath.APPLICANT_BY_ID_NUMBER_LOCKED.get(applicant.id_number_index)
    expected = Applicant.objects.select_for_update(of=("self",)).get(id_number_index=applicant.id_number_index)
    assert len(queries) == 1 and queries[0]["sql"].endswith("FOR UPDATE OF t0")
    assert type(found) is Applicant and _fields(found) == _fields(expected)
    assert found.id_number == applicant.id_number  # decrypted as the ORM decrypts
    assert fastpath.APPLICANT_BY_ID_NUMBER_LOCKED.get("no such index") is None


@pytest.fixture
def decided():
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    return risk_assess(request=assessment_request(make_application(product=product)))


def test_the_decision_insert_writes_what_create_writes(decided):
    values = {field.name: getattr(decided, field.name) for field in Decision._meta.concrete_fields
              if field.name not in ("id", "application", "created_at", "status", "superseded_by")}
    product = decided.product_version.product
    by_orm = Decision.objects.create(application=make_application(product=product), **values)
    unsaved = Decision(application=make_application(product=product), **values)
    with CaptureQueriesContext(connection) as queries:
        prebuilt = fastpath.DECISIONS.insert(unsaved)
    assert len(queries) == 1 and queries[0]["sql"].startswith('INSERT INTO "risk_decision"')
    assert prebuilt.pk is not None and prebuilt.created_at is not None
    stored = {decision.pk: decision for decision in Decision.objects.filter(pk__in=[by_orm.pk, prebuilt.pk])}
    ignored = ("id", "application_id", "created_at")
    assert _fields(stored[prebuilt.pk], without=ignored) == _fields(stored[by_orm.pk], without=ignored)
    assert stored[prebuilt.pk].status == DecisionStatus.CURRENT  # the model's default, as save() applies it


def test_the_rule_set_versions_insert_writes_what_add_writes(decided):
    versions = sorted(decided.rule_set_versions.values_list("pk", flat=True))
    through = Decision.rule_set_versions.through
    other = risk_assess(request=assessment_request(make_application(product=decided.product_version.product,
                                                                    applicant=make_applicant(sequence="124"))))
    through.objects.filter(decision=other).delete()
    with CaptureQueriesContext(connection) as queries:
        fastpath.DECISION_RULE_SET_VERSIONS.insert_many([through(decision_id=other.pk, rulesetversion_id=pk)
                                                         for pk in versions])
    assert len(queries) == 1
    assert sorted(other.rule_set_versions.values_list("pk", flat=True)) == versions  # as decided.rule_set_versions.add


def test_the_data_source_calls_insert_writes_what_bulk_create_writes():
    applicant = make_applicant()
    application = make_application(applicant=applicant)

    def calls():
        return [DataSourceCall(applicant=applicant, application_id=application.pk, source=source, provider="sandbox",
                               query_key=f"key-{source}", status="ok", attempts=1, latency_ms=3,
                               cost=Decimal("0.80"), result={"score": 669})
                for source in ("bureau", "court")]

    by_orm = DataSourceCall.objects.bulk_create(calls())
    with CaptureQueriesContext(connection) as queries:
        prebuilt = fastpath.DATA_SOURCE_CALLS.insert_many(calls())
    assert len(queries) == 1 and all(call.pk is not None for call in prebuilt)
    stored = {call.pk: call for call in DataSourceCall.objects.all()}
    ignored = ("id", "created_at")
    assert [_fields(stored[call.pk], without=ignored) for call in prebuilt] == [
        _fields(stored[call.pk], without=ignored) for call in by_orm]
    assert all(stored[call.pk].created_at <= timezone.now() for call in prebuilt)


def _orm_input_rows(application_id: int, product_id: int) -> list[tuple]:
    """What ``assessment_input_rows`` answers, read through the ORM."""
    rows = [("decision", "", pk, None, None, None, None, None, None, None, None)
            for pk in Decision.objects.filter(application_id=application_id, status=DecisionStatus.CURRENT)
            .values_list("pk", flat=True)]
    for policy in RiskPolicy.objects.filter(product_id=product_id, active=True).select_related(
            "scorecard", "challenger_scorecard", "limit_strategy", "pricing_strategy"):
        challenger = policy.challenger_scorecard
        rows.append(("policy", "", policy.pk, policy.scorecard.current_version_id, policy.scorecard.updated_at,
                     challenger.current_version_id if challenger else None,
                     challenger.updated_at if challenger else None,
                     policy.limit_strategy.current_version_id, policy.limit_strategy.updated_at,
                     policy.pricing_strategy.current_version_id, policy.pricing_strategy.updated_at))
        roles = (("champion", policy.rule_sets.all()), ("challenger", policy.challenger_rule_sets.all()))
        for role, rule_sets in roles:
            rows.extend((role, rule_set.stage, None, rule_set.current_version_id, rule_set.updated_at,
                         None, None, None, None, None, None) for rule_set in rule_sets)
    return sorted(rows, key=repr)


def test_the_assessment_inputs_are_what_the_orm_reads():
    configure_sources()
    product = make_product("EDUCATION")
    challenger = make_scorecard(code="C_SCORE", cutoffs={"A": 700, "B": 660, "C": 630, "D": 600})
    policy = make_policy(product, challenger_scorecard=challenger)
    policy.challenger_rule_sets.set(list(policy.rule_sets.all())[:1])
    application = make_application(product=product)
    before = fastpath.assessment_input_rows(application_id=application.pk, product_id=product.pk)
    assert sorted(before, key=repr) == _orm_input_rows(application.pk, product.pk)
    assert {row[0] for row in before} == {"policy", "champion", "challenger"}  # no decision yet
    risk_assess(request=assessment_request(application))
    with CaptureQueriesContext(connection) as queries:
        after = fastpath.assessment_input_rows(application_id=application.pk, product_id=product.pk)
    assert len(queries) == 1
    assert sorted(after, key=repr) == _orm_input_rows(application.pk, product.pk)
    assert [row[0] for row in after].count("decision") == 1
    assert fastpath.assessment_input_rows(application_id=application.pk, product_id=product.pk + 1000) == [
        row for row in after if row[0] == "decision"]  # another product: no policy rows
