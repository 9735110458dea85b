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
from creditfactory.core.rows import prepared_text

pytestmark = pytest.mark.django_db


def _fields(instance, *, without=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in without}


def test_the_locked_applicant_read_is_the_orms_locked_get():
    applicant = make_applicant()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = fastpath.APPLICANT_BY_ID_NUMBER_LOCKED.get(applicant.id_number_index)
    expected = Applicant.objects.select_for_update(of=("self",)).get(id_number_index=applicant.id_number_index)
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).endswith("FOR UPDATE OF t0")
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
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith('INSERT INTO "risk_decision"')
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


# --- the in-loan check of a drawdown ------------------------------------------------------------------

def _in_loan_inputs(applicant, product, *, reference="DD0001", device=None, **overrides):
    from creditfactory.core.pii import blind_index
    from risk.rules import IN_LOAN_SOURCES

    values = dict(kind="drawdown", subject_reference=reference, product_id=product.pk, stage="in_loan_drawdown",
                  applicant_id=applicant.pk, sources=IN_LOAN_SOURCES,
                  device_index=blind_index("device", device) if device else None, now=timezone.now(), calls=3)
    return fastpath.in_loan_inputs(**{**values, **overrides})


def test_the_in_loan_inputs_are_what_the_orm_reads():
    from datetime import timedelta

    from risk.datasources.adapter import own_list_hits
    from risk.datasources.base import Query
    from risk.models import DataSourceConfig, InLoanCheck, RiskListEntry, RuleSet
    from risk.services.lists import risk_list_entry_add
    from risk.services.inloan import drawdown_check
    from risk.requests import DrawdownCheckRequest

    from .policy_factories import make_in_loan_policy

    configure_sources()
    product = make_product("EDUCATION")
    make_in_loan_policy(product)
    applicant = make_applicant(sequence="123", mobile="13912345678")
    other = make_applicant(sequence="456", mobile="13912345679")
    for list_type, kind, value in (("risk", "id_number", applicant.id_number), ("fraud", "mobile", applicant.mobile),
                                   ("fraud", "device", "DEV-1"), ("fraud", "id_number", other.id_number)):
        risk_list_entry_add(actor=None, list_type=list_type, kind=kind, value=value, reason="test")
    expired = risk_list_entry_add(actor=None, list_type="risk", kind="mobile", value=applicant.mobile, reason="old")
    RiskListEntry.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))

    with CaptureQueriesContext(connection) as queries:
        found = _in_loan_inputs(applicant, product, device="DEV-1")
    assert len(queries) == 1
    assert found.existing_id is None
    # The applicant: the columns the check reads, as the ORM reads (and decrypts) them; no bank account.
    expected = Applicant.objects.get(pk=applicant.pk)
    assert type(found.applicant) is Applicant
    assert {name: getattr(found.applicant, name) for name in fastpath.IN_LOAN_APPLICANT_FIELDS} == {
        name: getattr(expected, name) for name in fastpath.IN_LOAN_APPLICANT_FIELDS}
    assert "bank_account" in found.applicant.get_deferred_fields()
    # The rule sets: those ``in_loan_rule_sets`` reads, in code order.
    rule_sets = RuleSet.objects.filter(policies__product_id=product.pk, policies__active=True,
                                       stage="in_loan_drawdown").order_by("code")
    assert [pk for pk, _stamp in found.rule_set_refs] == [rule_set.current_version_id for rule_set in rule_sets]
    assert len(found.rule_set_refs) == 1
    # Our own lists: the entries ``own_list_hits`` finds, in its order.
    query = Query(id_number=applicant.id_number, name=applicant.name, mobile=applicant.mobile, device_id="DEV-1",
                  birth_date=applicant.birth_date)
    hits = own_list_hits(query)
    assert len(hits) == 3
    assert [[getattr(entry, name) for name in fastpath.OWN_LIST_ENTRY_FIELDS] for entry in found.own_list_entries] \
        == [[getattr(entry, name) for name in fastpath.OWN_LIST_ENTRY_FIELDS] for entry in hits]
    without_device = _in_loan_inputs(applicant, product)
    assert [entry.pk for entry in without_device.own_list_entries] == [
        entry.pk for entry in own_list_hits(Query(id_number=applicant.id_number, name=applicant.name,
                                                  mobile=applicant.mobile, device_id="",
                                                  birth_date=applicant.birth_date))]
    # Three fresh keys for the calls, different each time.
    assert len(set(found.call_ids) | set(without_device.call_ids)) == 6
    # The configurations' stamp changes with any change to them, and only then.
    assert without_device.configs_stamp == found.configs_stamp
    DataSourceConfig.objects.filter(source="court").update(retries=1)
    assert _in_loan_inputs(applicant, product).configs_stamp != found.configs_stamp
    # A stored check of the subject; none for another subject, kind or an empty reference.
    result = drawdown_check(request=DrawdownCheckRequest(
        applicant_id=applicant.pk, product_id=product.pk, product_version_id=product.current_version_id,
        amount=Decimal("100.00"), drawdown_reference="DD0001", line_id=7, term=12, term_unit="months",
        purpose="education", channel="api"))
    stored = InLoanCheck.objects.get(reference=result.reference)
    assert _in_loan_inputs(applicant, product).existing_id == stored.pk
    assert _in_loan_inputs(applicant, product, reference="DD0002").existing_id is None
    assert _in_loan_inputs(applicant, product, kind="warning").existing_id is None
    assert _in_loan_inputs(applicant, product, reference="").existing_id is None
    # No such applicant, no policy for the product: nothing, not an error.
    missing = _in_loan_inputs(applicant, product, applicant_id=applicant.pk + 1000, product_id=product.pk + 1000)
    assert (missing.applicant, missing.rule_set_refs, missing.own_list_entries) == (None, [], [])


def test_the_in_loan_check_insert_writes_what_create_and_the_link_write():
    from risk.models import InLoanCheck

    product = make_product("EDUCATION")
    applicant = make_applicant()

    def check(reference, subject):
        return InLoanCheck(reference=reference, kind="drawdown", subject_reference=subject, applicant=applicant,
                           product=product, product_version_id=product.current_version_id, credit_line_id=7,
                           amount=Decimal("20000.00"), outcome="refer", reasons=[{"code": "X"}],
                           rule_results=[{"rule_code": "R", "status": "matched"}],
                           snapshot={"features": {"amount": "20000.00"}}, unavailable_sources=["court"],
                           versions=[{"id": 1}], data_cost=Decimal("0.80"))

    def calls(ids):
        return [DataSourceCall(pk=pk, applicant=applicant, source=source, provider="sandbox", query_key=f"k-{source}",
                               status="ok", attempts=1, latency_ms=3, cost=Decimal("0.80"), result={"score": 1})
                for pk, source in zip(ids, ("court", "fraud"))]

    by_orm = InLoanCheck.objects.create(**{f.attname: getattr(check("ILD-ORM", "DD-ORM"), f.attname)
                                           for f in InLoanCheck._meta.concrete_fields if f.attname != "id"})
    orm_calls = DataSourceCall.objects.bulk_create(calls([None, None]))
    DataSourceCall.objects.filter(pk__in=[call.pk for call in orm_calls]).update(in_loan_check=by_orm)
    ids = _in_loan_inputs(applicant, product, calls=2).call_ids
    prebuilt, prebuilt_calls = check("ILD-FAST", "DD-FAST"), calls(ids)
    with CaptureQueriesContext(connection) as queries:
        assert fastpath.in_loan_check_insert(prebuilt, prebuilt_calls) is True
    assert len(queries) == 1
    assert prebuilt.pk is not None and prebuilt.created_at is not None
    stored = InLoanCheck.objects.get(pk=prebuilt.pk)
    ignored = ("id", "reference", "subject_reference", "created_at")
    assert _fields(stored, without=ignored) == _fields(InLoanCheck.objects.get(pk=by_orm.pk), without=ignored)
    ignored = ("id", "in_loan_check_id", "created_at")
    assert [_fields(call, without=ignored) for call in DataSourceCall.objects.filter(pk__in=ids).order_by("pk")] == [
        _fields(call, without=ignored) for call in DataSourceCall.objects.filter(in_loan_check=by_orm).order_by("pk")]
    assert list(DataSourceCall.objects.filter(pk__in=ids).values_list("in_loan_check_id", flat=True)) == [
        prebuilt.pk] * 2

    # The same subject again: no second check, the calls are written all the same, unlinked.
    again_ids = _in_loan_inputs(applicant, product, calls=2).call_ids
    again = check("ILD-AGAIN", "DD-FAST")
    assert fastpath.in_loan_check_insert(again, calls(again_ids)) is False
    assert again.pk is None and not InLoanCheck.objects.filter(reference="ILD-AGAIN").exists()
    assert list(DataSourceCall.objects.filter(pk__in=again_ids).values_list("cost", "in_loan_check_id")) == [
        (Decimal("0.80"), None)] * 2
