"""The SMS outbox and the sandbox gateway: written in the caller's transaction, delivered after
commit, deterministic failures, retries with back-off, idempotent delivery, PII kept masked."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection, transaction
from django.test import override_settings

from creditfactory.core.messaging import (
    OutgoingSms,
    SendReceipt,
    SmsProvider,
    SmsTemplate,
    count_segments,
    get_provider,
    register_provider,
    register_template,
    unregister_provider,
)
from creditfactory.core.messaging import sandbox
from creditfactory.core.messaging.sandbox import SandboxSmsProvider, sandbox_inbox
from creditfactory.core.messaging.services import OutboxText, retry_countdown, sms_requeue, sms_send, sms_send_many
from creditfactory.core.messaging.tasks import sms_deliver, sms_deliver_batch
from creditfactory.core.messaging.templates import SMS_TEMPLATES
from creditfactory.core.models import SandboxSms, SmsMessage

pytestmark = pytest.mark.django_db

REMINDER = {"template": "signing_reminder", "context": {"time": "2030-03-05 09:30"}}


def send(mobile="13800138000", **kwargs):
    return sms_send(mobile=mobile, **{**REMINDER, **kwargs})


def test_the_outbox_row_is_written_now_and_delivered_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = send("+86 138-0013-8000")
    assert len(callbacks) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider) == ("queued", 0, "sandbox")
    assert message.text == "【CreditFactory】您预约的远程面签时间为2030-03-05 09:30，请准时参加。"
    assert sandbox_inbox().count() == 0

    callbacks[0]()
    message.refresh_from_db()
    inbox = list(sandbox_inbox("13800138000"))
    assert len(inbox) == 1
    assert (inbox[0].text, inbox[0].sender, inbox[0].reference) == (message.text, "CreditFactory", str(message.pk))
    assert (message.status, message.attempts, message.segments, message.cost) == ("sent", 1, 1, Decimal("0.0500"))
    assert message.provider_message_id == inbox[0].message_id
    assert message.provider_message_id.startswith("SBX")
    assert message.sent_at is not None and message.error == ""


def test_a_rolled_back_send_leaves_no_row_and_texts_nobody(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                send()
                raise RuntimeError("business change failed")
    assert SmsMessage.objects.count() == 0
    assert SandboxSms.objects.count() == 0


def test_the_mobile_is_encrypted_at_rest_and_masked(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    assert message.mobile_masked == "138****8000"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT mobile FROM {SmsMessage._meta.db_table} WHERE id = %s", [message.pk])
        (stored,) = cursor.fetchone()
    assert "13800138000" not in stored
    assert SmsMessage.objects.get(pk=message.pk).mobile == "13800138000"


def test_english_text(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send(language="en")
    assert message.text == "【CreditFactory】Your remote signing appointment is at 2030-03-05 09:30. Please be on time."


@pytest.mark.parametrize("kwargs, field", [
    ({"mobile": "12345"}, "mobile"),
    ({"mobile": "10800138000"}, "mobile"),
    ({"template": "nope"}, "template"),
    ({"context": {}}, "context"),
    ({"language": "fr"}, "language"),
])
def test_bad_input_names_the_field_and_queues_nothing(kwargs, field, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as error:
            sms_send(**{"mobile": "13800138000", **REMINDER, **kwargs})
    assert list(error.value.message_dict) == [field]
    assert callbacks == []
    assert SmsMessage.objects.count() == 0


def test_an_unreachable_number_fails_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send("13800130000")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.cost) == ("failed", 1, Decimal("0"))
    assert message.error.startswith("unreachable:")
    assert SandboxSms.objects.count() == 0


def test_a_busy_gateway_is_retried_and_the_message_delivered(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send("13800130001")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert list(sandbox_inbox("13800130001").values_list("attempt", flat=True)) == [2]


@override_settings(SMS_MAX_ATTEMPTS=3)
def test_a_gateway_that_keeps_timing_out_fails_after_the_last_attempt(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send("13800130002")
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 3)
    assert message.error.startswith("timeout:")
    assert SandboxSms.objects.count() == 0


@override_settings(SMS_MAX_ATTEMPTS=4, SMS_SANDBOX_FAILURE_RATE="1")
def test_the_injected_failure_rate_throttles_every_send(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("failed", 4)
    assert message.error.startswith("throttled:")


def test_the_retry_back_off_doubles_up_to_its_cap():
    assert [retry_countdown(n) for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_delivery_is_idempotent(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send()
    assert sms_deliver.apply(args=[message.pk]).get() == "skipped"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 1)
    assert SandboxSms.objects.count() == 1


def test_a_dedupe_key_sends_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = send(dedupe_key="reminder:1")
        second = send(dedupe_key="reminder:1")
    assert first.pk == second.pk
    assert SmsMessage.objects.count() == 1
    assert SandboxSms.objects.count() == 1


def test_a_failed_message_can_be_queued_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = send("13800130000")
    with pytest.raises(ValidationError):
        sms_requeue(message=send("13800138000"))
    with override_settings(SMS_PROVIDER="sandbox"):
        SmsMessage.objects.filter(pk=message.pk).update(provider="recorder")
        register_provider("recorder", RecordingProvider)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                sms_requeue(message=message)
        finally:
            unregister_provider("recorder")
    message.refresh_from_db()
    assert (message.status, message.attempts, message.provider_message_id) == ("sent", 1, "REC-1")
    assert RecordingProvider.sent[-1].mobile == "13800130000"


class RecordingProvider(SmsProvider):
    name = "recorder"
    sent: list = []

    def send(self, message: OutgoingSms) -> SendReceipt:
        self.sent.append(message)
        return SendReceipt(provider_message_id=f"REC-{len(self.sent)}", segments=1, cost=Decimal("0.0300"))


def test_providers_come_from_the_registry_or_settings():
    assert isinstance(get_provider(), SandboxSmsProvider)
    with pytest.raises(ImproperlyConfigured):
        get_provider("nowhere")


def test_long_texts_are_billed_per_segment(django_capture_on_commit_callbacks):
    assert [count_segments("字" * n) for n in (1, 70, 71, 134, 135)] == [1, 1, 2, 2, 3]
    register_template(SmsTemplate(code="test_long", texts={"zh-hans": "{body}"}))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            message = sms_send(mobile="13800138000", template="test_long", context={"body": "长" * 80})
    finally:
        SMS_TEMPLATES.pop("test_long")
    message.refresh_from_db()
    assert (len(message.text), message.segments, message.cost) == (95, 2, Decimal("0.1000"))


def test_the_sandbox_waits_its_configured_latency(monkeypatch):
    waits = []
    monkeypatch.setattr(sandbox.time, "sleep", waits.append)
    provider = SandboxSmsProvider(latency_ms=250, unit_cost="0.05")
    provider.send(OutgoingSms(mobile="13800138000", text="hi", template="t"))
    assert waits == [0.25]


def test_admin_lists_only_the_masked_mobile_and_finds_the_full_one(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send("13800138000")
        send("13900139000")
    page = admin_client.get("/admin/core/smsmessage/").content.decode()
    assert "138****8000" in page and "139****9000" in page
    assert "13800138000" not in page
    found = admin_client.get("/admin/core/smsmessage/", {"q": "13800138000"}).content.decode()
    assert "138****8000" in found and "139****9000" not in found
    message = SmsMessage.objects.get(mobile_masked="138****8000")
    detail = admin_client.get(f"/admin/core/smsmessage/{message.pk}/change/").content.decode()
    assert "13800138000" not in detail
    inbox = admin_client.get("/admin/core/sandboxsms/").content.decode()
    assert "138****8000" in inbox and "13800138000" not in inbox


def test_on_a_worker_a_temporary_failure_schedules_a_retry_with_back_off(monkeypatch,
                                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = send("13800130001")
    scheduled = []

    class Scheduled(Exception):
        pass

    def fake_retry(**kwargs):
        scheduled.append(kwargs)
        return Scheduled()

    monkeypatch.setattr(sms_deliver, "retry", fake_retry)
    with pytest.raises(Scheduled):
        sms_deliver.run(message.pk)  # as a worker runs it: not eager
    message.refresh_from_db()
    assert scheduled == [{"countdown": 30}]
    assert (message.status, message.attempts, message.error) == ("queued", 1, "busy: The gateway is busy, try again "
                                                                               "(sandbox).")
    assert sms_deliver.run(message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


def _many(mobiles):
    return [OutboxText(mobile=mobile, dedupe_key=f"batch:{n}", **REMINDER) for n, mobile in enumerate(mobiles)]


@override_settings(SMS_BATCH_SIZE=2)
def test_many_texts_go_out_in_batches_one_task_each(django_capture_on_commit_callbacks):
    mobiles = ["13800138000", "13800138001", "13800138002", "13800138003", "13800138004"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued, refused = sms_send_many(texts=_many(mobiles))
    assert (queued, refused, len(callbacks)) == (5, [], 3)  # 2 + 2 + 1 texts: three broker messages
    assert SandboxSms.objects.count() == 0
    for callback in callbacks:
        callback()
    assert sorted(SmsMessage.objects.values_list("status", "attempts")) == [("sent", 1)] * 5
    assert SandboxSms.objects.count() == 5


@override_settings(SMS_BATCH_SIZE=10, SMS_MAX_ATTEMPTS=3)
def test_a_text_to_retry_leaves_its_batch_and_the_others_are_sent(django_capture_on_commit_callbacks):
    # 0001: busy once, then delivered; 0002: times out on every attempt; 0000: unreachable
    mobiles = ["13800138000", "13800130001", "13800130002", "13800130000"]
    with django_capture_on_commit_callbacks(execute=True):
        sms_send_many(texts=_many(mobiles))
    rows = dict(SmsMessage.objects.values_list("dedupe_key", "status"))
    attempts = dict(SmsMessage.objects.values_list("dedupe_key", "attempts"))
    assert rows == {"batch:0": "sent", "batch:1": "sent", "batch:2": "failed", "batch:3": "failed"}
    assert attempts == {"batch:0": 1, "batch:1": 2, "batch:2": 3, "batch:3": 1}


def test_a_redelivered_batch_sends_nothing_twice(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sms_send_many(texts=_many(["13800138000", "13800138001"]))
    ids = list(SmsMessage.objects.order_by("id").values_list("id", flat=True))
    assert sms_deliver_batch.apply(args=[ids]).get() == {"skipped": 2}
    assert SandboxSms.objects.count() == 2
