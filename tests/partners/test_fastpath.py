"""The partner platform's prebuilt statements read and write exactly what the ORM would."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creditfactory.core.rows import prepared_text
from creditfactory.partners import fastpath
from creditfactory.partners.models import ApiUsage, IdempotencyKey, PartnerApiKey, WebhookDelivery, WebhookEvent
from creditfactory.partners.services import webhooks
from tests.factories import make_branch
from tests.partners.factories import issue_key, make_partner

pytestmark = pytest.mark.django_db
PAYLOAD = {"application": {"number": "CF202601010001", "amount": "20000.00"}, "reasons": ["收入不足"]}


def _fields(instance, *, leave_out=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in leave_out}


def test_the_api_keys_of_a_prefix_read_as_the_orm_reads_them_in_one_statement():
    partner = make_partner("ACME", branch=make_branch("sz", name="深圳分行"), require_signature=True)
    plaintext = issue_key(partner)
    issue_key(partner, "second"), issue_key(make_partner("OTHER"))
    prefix = plaintext[:len("cfk_") + 8]
    expected = list(PartnerApiKey.objects.select_related("partner__branch").filter(prefix=prefix))
    with CaptureQueriesContext(connection) as queries:
        found = fastpath.api_keys_by_prefix(prefix)
        partner_read, branch_read = found[0].partner, found[0].partner.branch
    assert len(queries) == 1
    assert [_fields(key) for key in found] == [_fields(key) for key in expected] and len(found) == 1
    assert _fields(partner_read) == _fields(expected[0].partner)  # the secrets decrypted as the ORM does
    assert partner_read.signing_secret == partner.signing_secret != ""
    assert _fields(branch_read) == _fields(expected[0].partner.branch)
    assert fastpath.api_keys_by_prefix("cfk_nothing") == []


def test_an_idempotency_key_is_inserted_as_save_inserts_it_in_one_statement():
    partner = make_partner()
    now = timezone.now()
    values = dict(partner=partner, endpoint="api:webhook-list", request_hash="c" * 64, locked_at=now)
    by_orm = IdempotencyKey(key="by-orm", **values)
    by_orm.save()
    with CaptureQueriesContext(connection) as queries:
        record = fastpath.idempotency_key_insert(IdempotencyKey(key="prebuilt", **values))
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("INSERT INTO")
    assert record.pk is not None and record._state.adding is False
    stored, twin = IdempotencyKey.objects.get(pk=record.pk), IdempotencyKey.objects.get(pk=by_orm.pk)
    assert _fields(stored) == _fields(record)
    assert _fields(stored, leave_out=("id", "key", "created_at")) == _fields(twin, leave_out=("id", "key",
                                                                                             "created_at"))
    assert (stored.status, stored.response_status, stored.response_body, stored.response_headers) == (
        "in_progress", None, "", {})


def test_an_idempotency_keys_completion_is_written_as_save_update_fields_writes_it():
    partner = make_partner()
    values = dict(partner=partner, endpoint="api:webhook-list", request_hash="d" * 64, locked_at=timezone.now())
    by_orm, prebuilt = (IdempotencyKey.objects.create(key=key, **values) for key in ("by-orm", "prebuilt"))
    done_at = timezone.now()
    for record in (by_orm, prebuilt):
        record.status, record.response_status, record.completed_at = "completed", 201, done_at
        record.response_body, record.response_headers = '{"id": 7, "名": "张三"}', {"Location": "/api/v1/x/7"}
    by_orm.save(update_fields=["status", "response_status", "response_body", "response_headers", "completed_at"])
    with CaptureQueriesContext(connection) as queries:
        fastpath.idempotency_key_complete(prebuilt)
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith("UPDATE")
    stored, twin = IdempotencyKey.objects.get(pk=prebuilt.pk), IdempotencyKey.objects.get(pk=by_orm.pk)
    assert _fields(stored, leave_out=("id", "key", "created_at")) == _fields(twin, leave_out=("id", "key",
                                                                                             "created_at"))
    assert (stored.status, stored.response_status, stored.response_headers) == (
        "completed", 201, {"Location": "/api/v1/x/7"})


def test_the_outbox_statement_writes_what_the_orm_path_writes(monkeypatch):
    partner = make_partner("ACME")
    other = make_partner("OTHER")
    first, _ = webhooks.webhook_endpoint_create(partner=partner, url="https://a.example.cn/h",
                                                events=["line.granted", "application.decided"])
    webhooks.webhook_endpoint_create(partner=partner, url="https://b.example.cn/h", events=["application.decided"])
    second, _ = webhooks.webhook_endpoint_create(partner=partner, url="https://c.example.cn/h",
                                                 events=["line.granted"])
    gone, _ = webhooks.webhook_endpoint_create(partner=partner, url="https://d.example.cn/h", events=["line.granted"])
    webhooks.webhook_endpoint_delete(endpoint=gone)
    paused, _ = webhooks.webhook_endpoint_create(partner=partner, url="https://e.example.cn/h",
                                                 events=["line.granted"])
    type(paused).objects.filter(pk=paused.pk).update(is_active=False)
    webhooks.webhook_endpoint_create(partner=other, url="https://f.example.cn/h", events=["line.granted"])

    before = timezone.now()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        event, delivery_ids = fastpath.webhook_event_insert(partner=partner, event="line.granted", payload=PAYLOAD)
    assert len(queries) == 1
    monkeypatch.setattr(fastpath, "outbox_in_one_statement", lambda: False)
    with transaction.atomic():
        twin = webhooks.webhook_emit(partner=partner, event="line.granted", payload=PAYLOAD)
    after = timezone.now()

    stored, stored_twin = WebhookEvent.objects.get(pk=event.pk), WebhookEvent.objects.get(pk=twin.pk)
    assert _fields(stored) == _fields(event) and event._state.adding is False
    assert _fields(stored, leave_out=("id", "uuid", "created_at")) == _fields(
        stored_twin, leave_out=("id", "uuid", "created_at"))
    assert stored.payload == PAYLOAD and before <= stored.created_at <= stored_twin.created_at <= after

    deliveries = list(WebhookDelivery.objects.filter(event=event).order_by("id"))
    twins = list(WebhookDelivery.objects.filter(event=twin).order_by("id"))
    assert [d.pk for d in deliveries] == delivery_ids
    times = ("id", "uuid", "event_id", "next_attempt_at", "created_at")
    assert [_fields(d, leave_out=times) for d in deliveries] == [_fields(d, leave_out=times) for d in twins]
    assert [d.endpoint_id for d in deliveries] == [first.pk, second.pk]  # in the endpoints' order
    assert all(d.next_attempt_at == d.created_at == stored.created_at for d in deliveries)
    assert len({d.uuid for d in deliveries + twins}) == 4


def test_an_event_nobody_subscribed_to_is_written_without_deliveries():
    partner = make_partner()
    event, delivery_ids = fastpath.webhook_event_insert(partner=partner, event="contract.ready", payload={})
    assert delivery_ids == [] and WebhookEvent.objects.get(pk=event.pk).event == "contract.ready"


def test_usage_is_counted_into_the_row_the_orm_would_create():
    partner = make_partner()
    bucket = dict(partner_id=partner.pk, day=date(2026, 3, 1), endpoint="api/v1/partner", method="GET",
                  status_code=200)
    with CaptureQueriesContext(connection) as queries:
        fastpath.api_usage_add(**bucket, count=2)
    assert len(queries) == 1
    fastpath.api_usage_add(**bucket, count=3)
    fastpath.api_usage_add(**{**bucket, "status_code": 429}, count=1)
    expected = ApiUsage(**bucket, count=5)
    stored = ApiUsage.objects.get(**bucket)
    assert _fields(stored, leave_out=("id",)) == _fields(expected, leave_out=("id",))
    assert sorted(ApiUsage.objects.values_list("status_code", "count")) == [(200, 5), (429, 1)]
