from datetime import timedelta
from decimal import Decimal

import pytest

from risk.datasources import DataSourceError, DataSourceTimeout, Query
from risk.datasources.adapter import source_fetch
from risk.datasources.sandbox import SandboxBureau
from risk.models import CallStatus, DataSourceCall, DataSourceConfig
from risk.services.lists import risk_list_entry_add
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

pytestmark = pytest.mark.django_db


def _fetch(source, application):
    return source_fetch(source=source, query=Query.for_request(assessment_request(application)),
                        applicant=application.applicant, application_id=application.pk)


def _app(sequence="123", mobile="13812345678", device_id="", **kwargs):
    return make_application(applicant=make_applicant(sequence=sequence, mobile=mobile), device_id=device_id, **kwargs)


def test_ordinary_applicant_follows_the_sequence_formula():
    application = _app(sequence="123")  # n = 23
    assert _fetch("bureau", application).result == {
        "thin_file": False, "score": 669, "overdue_count": 0, "max_dpd_24m": 0, "inquiries_3m": 3,
        "outstanding_debt": Decimal("23000.00"), "monthly_debt_payment": Decimal("1150.00"),
    }
    assert _fetch("multi_lending", application).result == {
        "applications_7d": 1, "applications_30d": 3, "institutions_30d": 3}
    assert _fetch("fraud", application).result == {
        "id_hit": False, "mobile_hit": False, "device_hit": False, "risk_list_hit": False}
    assert _fetch("court", application).result == {"judgments": 0, "enforcements": 0, "dishonest_debtor": False}
    assert _fetch("scenario", application).result == {"existing_customer": False, "repaid_loans": 0, "max_dpd_own": 0}


def test_ordinary_applicant_with_sequence_050():
    application = _app(sequence="050")  # n = 50
    result = _fetch("bureau", application).result
    assert (result["score"], result["inquiries_3m"], result["outstanding_debt"], result["monthly_debt_payment"]) == (
        750, 2, Decimal("0.00"), Decimal("0.00"))
    assert _fetch("multi_lending", application).result == {
        "applications_7d": 0, "applications_30d": 2, "institutions_30d": 2}


@pytest.mark.parametrize(("sequence", "source", "expected"), [
    ("995", "bureau", {"thin_file": True, "score": 0, "overdue_count": 0, "max_dpd_24m": 0, "inquiries_3m": 0,
                       "outstanding_debt": Decimal("0.00"), "monthly_debt_payment": Decimal("0.00")}),
    ("981", "bureau", {"thin_file": False, "score": 480, "overdue_count": 2, "max_dpd_24m": 120, "inquiries_3m": 9,
                       "outstanding_debt": Decimal("85000.00"), "monthly_debt_payment": Decimal("4200.00")}),
    ("974", "court", {"judgments": 2, "enforcements": 1, "dishonest_debtor": True}),
    ("901", "court", {"judgments": 1, "enforcements": 0, "dishonest_debtor": False}),
    ("963", "multi_lending", {"applications_7d": 6, "applications_30d": 15, "institutions_30d": 8}),
    ("952", "fraud", {"id_hit": True, "mobile_hit": False, "device_hit": False, "risk_list_hit": False}),
    ("947", "fraud", {"id_hit": False, "mobile_hit": False, "device_hit": False, "risk_list_hit": True}),
    ("933", "scenario", {"existing_customer": True, "repaid_loans": 3, "max_dpd_own": 0}),
    ("920", "scenario", {"existing_customer": True, "repaid_loans": 1, "max_dpd_own": 45}),
])
def test_documented_trigger_sequences(sequence, source, expected):
    assert _fetch(source, _app(sequence=sequence)).result == expected


@pytest.mark.parametrize(("mobile", "device", "expected"), [
    ("13812340000", "", {"id_hit": False, "mobile_hit": True, "device_hit": False, "risk_list_hit": False}),
    ("13812341111", "", {"id_hit": False, "mobile_hit": False, "device_hit": False, "risk_list_hit": True}),
    ("13812345678", "fraud-7f3a", {"id_hit": False, "mobile_hit": False, "device_hit": True, "risk_list_hit": False}),
    ("13812345678", "ok-device-1", {"id_hit": False, "mobile_hit": False, "device_hit": False, "risk_list_hit": False}),
])
def test_documented_mobile_and_device_triggers(mobile, device, expected):
    assert _fetch("fraud", _app(mobile=mobile, device_id=device)).result == expected


def test_bureau_down_profile_times_out_after_every_attempt():
    DataSourceConfig.objects.create(source="bureau", retries=2, cost_per_call=Decimal("2.00"))
    application = _app(sequence="915")
    with pytest.raises(DataSourceTimeout) as info:
        _fetch("bureau", application)
    assert (info.value.attempts, info.value.retryable) == (3, True)
    call = DataSourceCall.objects.get(pk=info.value.call_id)
    assert (call.status, call.attempts, call.cost, call.result) == (CallStatus.TIMEOUT, 3, Decimal("0.00"), {})
    # The other sources answer for this applicant.
    assert _fetch("court", application).status == "ok"


def test_cost_is_recorded_per_call():
    DataSourceConfig.objects.create(source="bureau", cost_per_call=Decimal("2.00"))
    application = _app()
    answer = _fetch("bureau", application)
    call = DataSourceCall.objects.get()
    assert (answer.status, answer.cost, answer.call) == ("ok", Decimal("2.00"), call)
    assert (call.source, call.provider, call.status, call.attempts, call.cost) == (
        "bureau", "sandbox", CallStatus.OK, 1, Decimal("2.00"))
    assert call.application == application and call.applicant == application.applicant
    assert call.result["outstanding_debt"] == "23000.00"


def test_second_application_within_the_cache_window_pays_nothing_and_calls_no_provider(monkeypatch):
    DataSourceConfig.objects.create(source="bureau", cost_per_call=Decimal("2.00"), cache_days=30)
    calls = []
    original_fetch = SandboxBureau.fetch

    def counting_fetch(self, query, *, timeout_s):
        calls.append(1)
        return original_fetch(self, query, timeout_s=timeout_s)

    monkeypatch.setattr(SandboxBureau, "fetch", counting_fetch)
    applicant = make_applicant()
    first = _fetch("bureau", make_application(applicant=applicant))
    second_application = make_application(applicant=applicant)
    second = _fetch("bureau", second_application)
    assert len(calls) == 1
    assert (second.status, second.cost, second.result) == ("cached", Decimal("0.00"), first.result)
    cached = DataSourceCall.objects.get(application=second_application)
    assert (cached.status, cached.cost, cached.attempts, cached.cached_from_id) == (
        CallStatus.CACHED, Decimal("0.00"), 0, first.call.pk)
    assert sum(c.cost for c in DataSourceCall.objects.all()) == Decimal("2.00")


def test_cache_expires_after_cache_days():
    DataSourceConfig.objects.create(source="bureau", cost_per_call=Decimal("2.00"), cache_days=30)
    applicant = make_applicant()
    first = _fetch("bureau", make_application(applicant=applicant))
    DataSourceCall.objects.filter(pk=first.call.pk).update(created_at=first.call.created_at - timedelta(days=31))
    second = _fetch("bureau", make_application(applicant=applicant))
    assert (second.status, second.cost, second.call.cached_from_id) == ("ok", Decimal("2.00"), None)


def test_cache_days_zero_disables_the_cache():
    DataSourceConfig.objects.create(source="court", cost_per_call=Decimal("0.80"), cache_days=0)
    applicant = make_applicant()
    _fetch("court", make_application(applicant=applicant))
    second = _fetch("court", make_application(applicant=applicant))
    assert (second.status, second.cost) == ("ok", Decimal("0.80"))
    assert DataSourceCall.objects.filter(status=CallStatus.OK).count() == 2


def test_a_new_mobile_asks_the_multi_lending_source_again():
    DataSourceConfig.objects.create(source="multi_lending", cost_per_call=Decimal("0.50"))
    _fetch("multi_lending", _app(mobile="13812345678"))
    again = _fetch("multi_lending", _app(mobile="13912345678"))  # same person, new mobile
    assert (again.status, again.cost) == ("ok", Decimal("0.50"))


def test_failure_rate_one_fails_every_attempt_and_counts_them():
    DataSourceConfig.objects.create(source="court", retries=3, sandbox_failure_rate=Decimal("1"),
                                    cost_per_call=Decimal("0.80"))
    with pytest.raises(DataSourceTimeout) as info:
        _fetch("court", _app())
    assert info.value.attempts == 4
    call = DataSourceCall.objects.get()
    assert (call.status, call.attempts, call.cost, call.error) == (
        CallStatus.TIMEOUT, 4, Decimal("0.00"), "sandbox court: no answer (simulated)")


def test_failure_rate_zero_never_fails():
    DataSourceConfig.objects.create(source="court", retries=0, sandbox_failure_rate=Decimal("0"))
    application = _app()
    assert [_fetch("court", application).status for _ in range(3)] == ["ok", "cached", "cached"]


def test_latency_above_the_timeout_is_a_timeout():
    DataSourceConfig.objects.create(source="scenario", retries=1, timeout_ms=1, sandbox_latency_ms=5)
    with pytest.raises(DataSourceTimeout) as info:
        _fetch("scenario", _app())
    assert info.value.attempts == 2
    assert DataSourceCall.objects.get().status == CallStatus.TIMEOUT


def test_an_unknown_provider_is_an_error_without_retries():
    DataSourceConfig.objects.create(source="bureau", provider="acme", retries=2)
    with pytest.raises(DataSourceError) as info:
        _fetch("bureau", _app())
    assert not isinstance(info.value, DataSourceTimeout)
    assert (info.value.retryable, info.value.attempts) == (False, 0)
    assert DataSourceCall.objects.get().status == CallStatus.ERROR


def test_the_fraud_source_also_consults_our_own_lists_even_when_cached():
    applicant = make_applicant(sequence="123")
    first = _fetch("fraud", make_application(applicant=applicant))
    assert first.result["id_hit"] is False
    risk_list_entry_add(actor=None, list_type="fraud", kind="id_number", value=applicant.id_number, reason="forged")
    second = _fetch("fraud", make_application(applicant=applicant))
    assert second.status == "cached"
    assert second.result == {"id_hit": True, "mobile_hit": False, "device_hit": False, "risk_list_hit": False}
    [hit] = second.summary["own_list_hits"]
    assert (hit["list_type"], hit["kind"], hit["value"], hit["reason"]) == (
        "fraud", "id_number", applicant.id_number_masked, "forged")
    assert applicant.id_number not in str(second.summary)


def test_own_risk_list_mobile_entry_sets_risk_list_hit_and_expired_entries_do_not():
    from django.utils import timezone

    risk_list_entry_add(actor=None, list_type="risk", kind="mobile", value="13812345678", reason="complaint")
    expiring = risk_list_entry_add(actor=None, list_type="fraud", kind="device", value="dev-1", reason="farm",
                                   expires_at=timezone.now() + timedelta(days=1))
    application = _app(device_id="dev-1")
    assert _fetch("fraud", application).result == {
        "id_hit": False, "mobile_hit": False, "device_hit": True, "risk_list_hit": True}
    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _fetch("fraud", application).result["device_hit"] is False
