"""Voice-robot reminders (语音机器人) as their own channel: the voice outbox and its sandbox
provider (docs/sandbox.md), the strategy's voice step through ``contact_record`` (contact hours,
the daily limit across channels, the hardship hold — each refused and logged, no call placed),
the call's result fed back onto the case's contact, and the strategy action's template checked
against the channel."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError

from collection.models import (
    Bucket, CollectionStrategy, CompliancePolicy, ComplianceRefusal, Contact, StrategyAction,
)
from collection.services.contacts import ContactRefused, contact_record, hardship_approve, hardship_request
from collection.services.reminders import collection_reminders_send
from creditfactory.core.messaging.sandbox import sandbox_call_seconds
from creditfactory.core.messaging.voice_services import voice_call
from creditfactory.core.models import SmsMessage, StateTransition, VoiceCall
from servicing.services.calendar import business_date_set
from tests.collection.factories import ensure_defaults, make_case, make_strategy
from tests.factories import UserFactory, make_staff

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal
VOICE_LADDER = [("M1", 1, "voice", {"template": "collection_voice_reminder", "cadence_days": 1})]


@pytest.fixture(autouse=True)
def _setup():
    business_date_set(date=DAY, reason="test")
    ensure_defaults()
    # Contact hours all day: the robot calls "now", whatever the hour the suite runs at.
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))


def _call(mobile, callbacks):
    with callbacks(execute=True):
        call = voice_call(mobile=mobile, template="collection_voice_reminder",
                          context={"loan": "L1", "dpd": 3, "amount": "1730.53"})
    call.refresh_from_db()
    return call


@pytest.mark.parametrize("mobile, status, attempts, error", [
    ("13812345678", "answered", 1, ""),
    ("13812340001", "answered", 2, ""),  # busy once, then answered
    ("13812340003", "no_answer", 1, ""),
    ("13812340004", "failed", 3, "busy: The line is busy, call again (sandbox)."),  # VOICE_MAX_ATTEMPTS
    ("13812340000", "failed", 1, "unreachable: The number is unreachable (sandbox)."),
])
def test_the_sandbox_voice_robot_answers_by_the_documented_suffixes(mobile, status, attempts, error,
                                                                    django_capture_on_commit_callbacks):
    call = _call(mobile, django_capture_on_commit_callbacks)
    assert (call.status, call.attempts, call.error, call.provider) == (status, attempts, error, "sandbox")
    assert call.mobile_masked == f"138****{mobile[-4:]}" and call.finished_at is not None
    if status == "answered":
        # 5 s to connect + 1 s per 4 characters of the script; 0.12 a started minute
        assert len(call.text) == 57 and call.text.startswith("您好，这里是贷后服务中心。您的贷款L1已逾期3天")
        assert (call.duration_seconds, call.cost) == (sandbox_call_seconds(call.text), D("0.1200"))
        assert call.duration_seconds == 20 and call.provider_call_id.startswith("SBV")
    else:
        assert (call.duration_seconds, call.cost) == (0, D("0"))


def test_a_voice_call_is_placed_after_commit_and_a_bad_template_names_the_field(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call = voice_call(mobile="+86 138 1234 5678", template="collection_voice_reminder",
                          context={"loan": "L1", "dpd": 3, "amount": "1.00"}, dedupe_key="k")
    assert (call.status, call.attempts, len(callbacks)) == ("queued", 0, 1)
    assert voice_call(mobile="13812345678", template="collection_voice_reminder",
                      context={"loan": "L1", "dpd": 3, "amount": "1.00"}, dedupe_key="k").pk == call.pk
    with pytest.raises(ValidationError) as exc:
        voice_call(mobile="13812345678", template="collection_reminder", context={"loan": "L1", "dpd": 3,
                                                                                  "amount": "1.00"})
    assert list(exc.value.message_dict) == ["template"]  # an SMS template is not a voice script
    with pytest.raises(ValidationError) as exc:
        voice_call(mobile="12345", template="collection_voice_reminder", context={})
    assert list(exc.value.message_dict) == ["mobile"]
    assert VoiceCall.objects.count() == 1


def _voice_case(mobile="13812345678"):
    strategy = make_strategy(actions=VOICE_LADDER)
    case = make_case(strategy=strategy, step=0)
    applicant = case.loan.applicant
    applicant.mobile = mobile
    applicant.save()
    return case


@pytest.mark.parametrize("mobile, result, call_status", [
    ("13812345678", "reached", "answered"), ("13812340003", "no_answer", "no_answer"),
    ("13812340000", "failed", "failed")])
def test_a_voice_reminder_s_result_is_recorded_on_the_case(mobile, result, call_status,
                                                          django_capture_on_commit_callbacks):
    case = _voice_case(mobile)
    with django_capture_on_commit_callbacks(execute=True):
        assert collection_reminders_send(business_date=DAY) == {"sent": 1, "refused": 0, "failed": 0}
    contact = Contact.objects.get(case=case)
    call = VoiceCall.objects.get()
    assert (contact.channel, contact.result, call.status, call.related) == ("voice", result, call_status, contact)
    assert call.dedupe_key == f"collection-voice/{case.pk}/{DAY.isoformat()}"
    log = StateTransition.objects.get(object_id=str(contact.pk), field="result")
    assert (log.from_state, log.to_state, log.actor_label) == ("calling", result, "voice robot")
    assert not SmsMessage.objects.exists()  # its own channel, not an SMS
    with django_capture_on_commit_callbacks(execute=True):  # a re-run of the day calls nobody again
        assert collection_reminders_send(business_date=DAY) == {"sent": 0, "refused": 0, "failed": 0}
    assert (VoiceCall.objects.count(), Contact.objects.count()) == (1, 1)


def test_a_voice_call_counts_towards_the_daily_limit_across_channels(django_capture_on_commit_callbacks):
    CompliancePolicy.objects.update(max_contacts_per_day=2)
    case = _voice_case("13812340003")
    collector = make_staff("li", case.loan.branch)
    collector.user_permissions.add(Permission.objects.get(codename="work_on_cases"))
    contact_record(case=case, channel="call", result="no_answer", actor=collector)
    with django_capture_on_commit_callbacks(execute=True):
        assert collection_reminders_send(business_date=DAY)["sent"] == 1  # the second contact of the day
    assert Contact.objects.get(channel="voice").result == "no_answer"
    with pytest.raises(ContactRefused) as exc:
        contact_record(case=case, channel="sms", result="sent", actor=collector)
    assert exc.value.rule == "daily_limit"


def test_a_voice_reminder_past_the_daily_limit_is_refused_logged_and_not_placed(django_capture_on_commit_callbacks):
    CompliancePolicy.objects.update(max_contacts_per_day=1)
    case = _voice_case()
    contact_record(case=case, channel="sms", result="sent")
    with django_capture_on_commit_callbacks(execute=True):
        assert collection_reminders_send(business_date=DAY) == {"sent": 0, "refused": 1, "failed": 0}
    refusal = ComplianceRefusal.objects.get()
    assert (refusal.rule, refusal.channel) == ("daily_limit", "voice")
    assert (VoiceCall.objects.count(), Contact.objects.filter(channel="voice").count()) == (0, 0)


def test_a_voice_reminder_outside_contact_hours_is_refused(django_capture_on_commit_callbacks):
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(0, 0, 0, 1))
    _voice_case()
    with django_capture_on_commit_callbacks(execute=True):
        assert collection_reminders_send(business_date=DAY)["refused"] == 1
    assert (ComplianceRefusal.objects.get().rule, VoiceCall.objects.count()) == ("contact_hours", 0)


def test_a_voice_reminder_under_a_hardship_hold_is_refused(django_capture_on_commit_callbacks):
    case = _voice_case()
    staff = make_staff("li", case.loan.branch)
    staff.user_permissions.add(Permission.objects.get(codename="work_on_cases"))
    approver = UserFactory(username="approver")
    approver.user_permissions.add(Permission.objects.get(codename="approve_hardshiphold"))
    hardship_approve(hold=hardship_request(case=case, reason="Hospitalised", actor=staff), actor=approver)
    with django_capture_on_commit_callbacks(execute=True):
        assert collection_reminders_send(business_date=DAY)["refused"] == 1
    assert (ComplianceRefusal.objects.get().rule, VoiceCall.objects.count(), Contact.objects.count()) == (
        "hardship", 0, 0)


def test_the_strategy_action_s_template_must_be_of_its_channel():
    strategy = CollectionStrategy.objects.create(code="T", name="T")
    m1 = Bucket.objects.get(code="M1")

    def errors(kind, template):
        action = StrategyAction(strategy=strategy, bucket=m1, from_dpd=1, kind=kind, template=template)
        try:
            action.full_clean()
        except ValidationError as exc:
            return exc.message_dict.get("template")
        return None

    assert errors("voice", "collection_voice_reminder") is None
    assert errors("sms", "collection_reminder") is None
    assert errors("voice", "collection_reminder") == ["There is no voice template with this code."]
    assert errors("sms", "collection_voice_reminder") == ["There is no SMS template with this code."]
    assert errors("voice", "nonsense") == ["There is no voice template with this code."]
