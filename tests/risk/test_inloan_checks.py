"""In-loan checks on the sandbox providers (docs/sandbox.md): the drawdown check's outcomes with
their reasons, the warning check's handling, refreshed data with its cost, idempotency by the
caller's reference, and a product without in-loan rules."""

import dataclasses
from decimal import Decimal

import pytest
from django.utils import translation

from risk.models import CallStatus, DataSourceCall, InLoanCheck
from risk.requests import DrawdownCheckRequest
from risk.services.inloan import drawdown_check, warning_check
from risk.services.lists import risk_list_entry_add
from tests.factories import make_product
from tests.risk.factories import make_applicant

from .policy_factories import configure_sources, make_in_loan_policy, make_policy
from creditfactory.core.rows import prepared_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def product():
    configure_sources()
    product = make_product("EDUCATION")
    make_in_loan_policy(product)
    return product


def check(product, applicant, *, reference="DD0001", amount="20000.00"):
    return drawdown_check(request=DrawdownCheckRequest(
        applicant_id=applicant.pk, product_id=product.pk, product_version_id=product.current_version_id,
        amount=Decimal(amount), drawdown_reference=reference, line_id=7, term=12, term_unit="months",
        purpose="education", channel="api"))


def test_an_ordinary_borrower_passes_on_fresh_data_and_the_check_is_recorded(product):
    applicant = make_applicant(sequence="123")
    result = check(product, applicant)
    assert (result.outcome, result.reasons, result.reason_codes) == ("pass", [], [])
    record = InLoanCheck.objects.get(reference=result.reference)
    assert result.reference.startswith("ILD-") and len(result.reference) <= 40
    assert (record.kind, record.subject_reference, record.credit_line_id, record.amount, record.outcome) == (
        "drawdown", "DD0001", 7, Decimal("20000.00"), "pass")
    # multi-lending 0.50 + lists 0.30 + court 0.80, each a recorded call linked to the check
    assert record.data_cost == Decimal("1.60")
    calls = DataSourceCall.objects.filter(in_loan_check=record).order_by("source")
    assert [(c.source, c.status, c.cost) for c in calls] == [
        ("court", "ok", Decimal("0.80")), ("fraud", "ok", Decimal("0.30")), ("multi_lending", "ok", Decimal("0.50"))]
    assert [(r["rule_code"], r["status"]) for r in record.rule_results] == [
        ("DD_LIST", "not_matched"), ("DD_COURT", "not_matched"), ("DD_MULTI", "not_matched")]
    assert record.snapshot["features"]["multi_lending.institutions_30d"] == 3
    assert record.snapshot["features"]["amount"] == "20000.00"
    assert record.snapshot["features"]["term_months"] == 12
    assert record.versions == [{"id": record.versions[0]["id"], "code": "T_IN_LOAN_DRAWDOWN", "version": 1,
                                "stage": "in_loan_drawdown"}]


@pytest.mark.parametrize(("sequence", "mobile", "outcome", "codes"), [
    ("960", "13812345678", "refer", ["IL_MULTI_LENDING"]),  # 8 institutions in 30 days
    ("970", "13812345678", "reject", ["IL_COURT"]),  # dishonest debtor, enforcement
    ("950", "13812345678", "freeze", ["IL_LIST_HIT"]),  # ID on the external fraud list
    ("123", "13812341111", "freeze", ["IL_LIST_HIT"]),  # mobile on the risk list
])
def test_each_sandbox_trigger_gives_its_outcome(product, sequence, mobile, outcome, codes):
    result = check(product, make_applicant(sequence=sequence, mobile=mobile))
    assert (result.outcome, result.reason_codes) == (outcome, codes)


def test_reasons_are_shown_in_the_active_language(product):
    applicant = make_applicant(sequence="970")
    with translation.override("en"):
        assert check(product, applicant).reasons == ["The borrower has a new court record"]
    with translation.override("zh-hans"):
        assert check(product, applicant).reasons == ["借款人有新的法院执行记录"]


def test_the_data_is_pulled_again_not_served_from_the_cache(product):
    applicant = make_applicant(sequence="123")
    check(product, applicant, reference="DD0001")
    result = check(product, applicant, reference="DD0002")
    record = InLoanCheck.objects.get(reference=result.reference)
    assert [c.status for c in DataSourceCall.objects.filter(in_loan_check=record)] == [CallStatus.OK] * 3
    assert record.data_cost == Decimal("1.60")
    assert DataSourceCall.objects.filter(applicant=applicant, cost__gt=0).count() == 6


def test_the_same_drawdown_is_checked_once(product):
    applicant = make_applicant(sequence="960")
    first = check(product, applicant)
    again = check(product, applicant)
    assert again == first
    assert InLoanCheck.objects.count() == 1
    assert DataSourceCall.objects.count() == 3


def test_a_hit_on_our_own_list_freezes_even_when_the_list_source_is_down(product):
    configure_sources(fraud={"sandbox_failure_rate": Decimal("1")})
    applicant = make_applicant(sequence="123")
    risk_list_entry_add(actor=None, list_type="risk", kind="id_number", value=applicant.id_number, reason="test")
    result = check(product, applicant)
    assert result.outcome == "freeze"
    assert result.reason_codes == ["DATA_SOURCE_UNAVAILABLE", "IL_LIST_HIT"]
    record = InLoanCheck.objects.get(reference=result.reference)
    assert record.unavailable_sources == ["fraud"]
    assert record.data_cost == Decimal("1.30")


def test_a_source_that_does_not_answer_refers_never_passes(product):
    configure_sources(court={"sandbox_failure_rate": Decimal("1")})
    result = check(product, make_applicant(sequence="123"))
    assert (result.outcome, result.reason_codes) == ("refer", ["DATA_SOURCE_UNAVAILABLE"])
    record = InLoanCheck.objects.get(reference=result.reference)
    assert [(r["rule_code"], r["status"]) for r in record.rule_results] == [
        ("DD_LIST", "not_matched"), ("DD_COURT", "not_evaluated"), ("DD_MULTI", "not_matched")]


def test_a_product_without_in_loan_rules_passes_without_pulling_data():
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    result = check(product, make_applicant(sequence="970"))
    assert (result.outcome, result.reasons) == ("pass", [])
    assert DataSourceCall.objects.count() == 0
    assert InLoanCheck.objects.get(reference=result.reference).data_cost == Decimal("0.00")


@pytest.mark.parametrize(("sequence", "mobile", "hit", "action", "codes"), [
    ("123", "13812345678", False, "", []),
    ("960", "13812345678", True, "notify", ["IL_MULTI_LENDING"]),
    ("970", "13812345678", True, "reduce_limit", ["IL_COURT"]),
    ("950", "13812345678", True, "freeze", ["IL_LIST_HIT"]),
])
def test_the_warning_check_says_how_a_hit_is_handled(product, sequence, mobile, hit, action, codes):
    applicant = make_applicant(sequence=sequence, mobile=mobile)
    with translation.override("en"):
        result = warning_check(applicant_id=applicant.pk, product_id=product.pk, reference="mon-1-line-7", line_id=7)
    assert (result.hit, result.action, result.reason_codes, result.source) == (hit, action, codes, "monitoring")
    assert len(result.reasons) == len(codes)
    record = InLoanCheck.objects.get(reference=result.reference)
    assert (record.kind, record.hit, record.action, record.outcome, record.data_cost) == (
        "warning", hit, action, "", Decimal("1.60"))


def test_several_warning_rules_take_the_most_severe_handling(product):
    # On a list (freeze) and applying at many places (notify): freeze.
    applicant = make_applicant(sequence="960", mobile="13812341111")
    result = warning_check(applicant_id=applicant.pk, product_id=product.pk, reference="list-1-line-7",
                           source="list_entry")
    assert (result.hit, result.action, result.reason_codes, result.source) == (
        True, "freeze", ["IL_LIST_HIT", "IL_MULTI_LENDING"], "list_entry")
    again = warning_check(applicant_id=applicant.pk, product_id=product.pk, reference="list-1-line-7",
                          source="list_entry")
    assert again == result
    assert InLoanCheck.objects.count() == 1


def test_admin_shows_a_check_with_its_reasons_as_texts(product, admin_client):
    applicant = make_applicant(sequence="970")
    result = check(product, applicant)
    record = InLoanCheck.objects.get(reference=result.reference)
    listing = admin_client.get("/admin/risk/inloancheck/", HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    assert result.reference in listing.content.decode()
    page = admin_client.get(f"/admin/risk/inloancheck/{record.pk}/change/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "<li>The borrower has a new court record</li>" in page.content.decode()
    assert applicant.id_number not in page.content.decode()


def test_a_concurrent_check_of_the_same_drawdown_keeps_the_first(product, monkeypatch):
    from risk.services import inloan

    applicant = make_applicant(sequence="960")
    first = check(product, applicant)
    real, lookups = inloan._existing, []

    def not_yet_visible(kind, reference):
        # The other worker's check is not committed yet when this one looks.
        lookups.append(reference)
        return None if len(lookups) == 1 else real(kind, reference)

    monkeypatch.setattr(inloan, "_existing", not_yet_visible)
    again = check(product, applicant)
    assert again == first
    assert InLoanCheck.objects.count() == 1
    assert DataSourceCall.objects.filter(in_loan_check__isnull=False).count() == 3


def test_the_back_office_page_explains_a_check_in_the_readers_language(product, client):
    from django.contrib.auth.models import Permission

    from tests.factories import make_branch, make_staff

    applicant = make_applicant(sequence="123", mobile="13812341111")
    result = warning_check(applicant_id=applicant.pk, product_id=product.pk, reference="list-9-line-7")
    branch = make_branch("hq")
    client.force_login(make_staff("outsider", branch))
    url = f"/risk/decisions/in-loan/{result.reference}/"
    assert client.get(url).status_code == 403
    reviewer = make_staff("reviewer", branch)
    reviewer.user_permissions.add(Permission.objects.get(codename="view_decision"))
    client.force_login(reviewer)
    with translation.override("zh-hans"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    body = page.content.decode()
    assert page.status_code == 200
    assert result.reference in body
    assert "冻结额度" in body  # the handling, translated
    assert "多头借贷" in body and "法院信息" in body  # sources by their labels
    assert "1.60" in body
    assert applicant.id_number not in body and "13812341111" not in body
    assert client.get("/risk/decisions/in-loan/ILW-NOPE/").status_code == 404


def test_a_list_entry_names_its_applicants_by_blind_index():
    from creditfactory.core.pii import blind_index
    from risk.selectors import applicant_ids_for_list_entry

    first = make_applicant(sequence="123", mobile="13912345678")
    second = make_applicant(sequence="456", mobile="13912345678")
    assert applicant_ids_for_list_entry(kind="id_number", value_index=first.id_number_index) == [first.pk]
    assert applicant_ids_for_list_entry(kind="mobile", value_index=blind_index("mobile", "13912345678")) == [
        first.pk, second.pk]
    assert applicant_ids_for_list_entry(kind="device", value_index=blind_index("device", "DEV-1")) == []


def test_an_unpublished_in_loan_rule_set_is_named():
    from risk.models import RuleSet
    from risk.selectors import PolicyNotReady

    configure_sources()
    product = make_product("EDUCATION")
    policy = make_policy(product)
    policy.rule_sets.add(RuleSet.objects.create(code="DD_DRAFT", name="Draft", stage="in_loan_drawdown"))
    with pytest.raises(PolicyNotReady, match="DD_DRAFT"):
        check(product, make_applicant(sequence="123"))
    assert InLoanCheck.objects.count() == 0


def test_a_check_is_one_read_and_one_write_and_decrypts_no_bank_account(product, monkeypatch):
    from creditfactory.core import pii
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    applicant = make_applicant(sequence="123")
    check(product, applicant, reference="DD-WARM")  # the rule sets and source configurations now cached
    real, decrypted = pii.decrypt, []
    monkeypatch.setattr(pii, "decrypt", lambda token: decrypted.append(token) or real(token))
    with CaptureQueriesContext(connection) as queries:
        result = check(product, applicant, reference="DD0001")
    assert len(queries) == 2, [prepared_text(query["sql"]) for query in queries]
    assert prepared_text(queries[1]["sql"]).startswith("WITH c AS (INSERT INTO")
    assert len(decrypted) == 2  # the ID number and the mobile, for the query
    record = InLoanCheck.objects.get(reference=result.reference)
    assert DataSourceCall.objects.filter(in_loan_check=record).count() == 3
    assert sorted(record.snapshot["sources"][name]["call_id"] for name in ("court", "fraud", "multi_lending")) == \
        sorted(DataSourceCall.objects.filter(in_loan_check=record).values_list("pk", flat=True))


def test_a_data_source_configuration_change_takes_effect_on_the_next_check(product):
    applicant = make_applicant(sequence="123")
    assert check(product, applicant, reference="DD0001").outcome == "pass"
    configure_sources(court={"sandbox_failure_rate": Decimal("1")})  # as an admin's save
    result = check(product, applicant, reference="DD0002")
    assert (result.outcome, result.reason_codes) == ("refer", ["DATA_SOURCE_UNAVAILABLE"])
    configure_sources(court={"sandbox_failure_rate": Decimal("0"), "cost_per_call": Decimal("1.80")})
    result = check(product, applicant, reference="DD0003")
    assert result.outcome == "pass"
    assert InLoanCheck.objects.get(reference=result.reference).data_cost == Decimal("2.60")


def test_a_published_rule_change_takes_effect_on_the_next_check(product):
    from risk.models import Rule, RuleSet
    from risk.services.policies import rule_set_publish

    applicant = make_applicant(sequence="960")  # 8 institutions in 30 days
    assert check(product, applicant, reference="DD0001").outcome == "refer"
    rule_set = RuleSet.objects.get(code="T_IN_LOAN_DRAWDOWN")
    Rule.objects.filter(rule_set=rule_set, code="DD_MULTI").update(expression="multi_lending.institutions_30d >= 9")
    # Edited, not published: the published version still decides.
    assert check(product, applicant, reference="DD0002").outcome == "refer"
    rule_set_publish(rule_set=rule_set, actor=None)
    result = check(product, applicant, reference="DD0003")
    assert (result.outcome, result.reason_codes) == ("pass", [])
    assert InLoanCheck.objects.get(reference=result.reference).versions[0]["version"] == 2
    # Taken off the product's policy: the product has no drawdown rules any more.
    rule_set.policies.get().rule_sets.remove(rule_set)
    result = check(product, applicant, reference="DD0004")
    assert InLoanCheck.objects.get(reference=result.reference).versions == []
    assert DataSourceCall.objects.filter(in_loan_check__reference=result.reference).count() == 0


def test_a_duplicate_check_not_yet_visible_when_read_keeps_the_first_and_records_the_calls(product, monkeypatch):
    from risk.services import inloan

    applicant = make_applicant(sequence="960")
    first = check(product, applicant)
    real = inloan.in_loan_inputs
    # The other worker's check is not committed yet when this one reads.
    monkeypatch.setattr(inloan, "in_loan_inputs",
                        lambda **kwargs: dataclasses.replace(real(**kwargs), existing_id=None))
    again = check(product, applicant)
    assert again == first
    assert InLoanCheck.objects.count() == 1
    assert DataSourceCall.objects.filter(in_loan_check__isnull=False).count() == 3
    unlinked = DataSourceCall.objects.filter(in_loan_check__isnull=True)
    assert sorted((call.source, call.cost) for call in unlinked) == [
        ("court", Decimal("0.80")), ("fraud", Decimal("0.30")), ("multi_lending", Decimal("0.50"))]


def test_the_calls_stay_recorded_when_the_check_fails_after_pulling(product, monkeypatch):
    from risk.services import inloan

    def broken(*args, **kwargs):
        raise RuntimeError("rule engine down")

    monkeypatch.setattr(inloan, "evaluate_rule_set", broken)
    with pytest.raises(RuntimeError):
        check(product, make_applicant(sequence="123"))
    assert InLoanCheck.objects.count() == 0
    assert sorted(DataSourceCall.objects.values_list("source", "cost", "in_loan_check_id")) == [
        ("court", Decimal("0.80"), None), ("fraud", Decimal("0.30"), None), ("multi_lending", Decimal("0.50"), None)]


@pytest.mark.parametrize("sequence", ["123", "960", "950"])
def test_the_prebuilt_path_records_what_the_orm_path_records(product, monkeypatch, sequence):
    from risk.services import inloan

    applicant = make_applicant(sequence=sequence, mobile="13812341111")
    risk_list_entry_add(actor=None, list_type="fraud", kind="id_number", value=applicant.id_number, reason="test")
    fast = InLoanCheck.objects.get(reference=check(product, applicant, reference="DD-FAST").reference)
    monkeypatch.setattr(inloan, "in_loan_fast", lambda: False)
    slow = InLoanCheck.objects.get(reference=check(product, applicant, reference="DD-ORM").reference)

    def comparable(record):
        sources = {name: {**source, "call_id": None, "latency_ms": 0}
                   for name, source in record.snapshot["sources"].items()}
        return (record.outcome, record.reasons, record.rule_results, record.snapshot["features"], sources,
                record.unavailable_sources, record.versions, record.data_cost, record.amount, record.applicant_id)

    assert comparable(fast) == comparable(slow)
    assert fast.snapshot["sources"]["fraud"]["summary"]["own_list_hits"]  # our own lists were read
    for record in (fast, slow):
        calls = DataSourceCall.objects.filter(in_loan_check=record)
        assert sorted(call.pk for call in calls) == sorted(
            source["call_id"] for source in record.snapshot["sources"].values())
