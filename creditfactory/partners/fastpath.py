"""The partner platform's prebuilt statements: only those on the measured origination path
(docs/benchmarks.md) — the API-key lookup of every request, the idempotency key of every create,
the webhook outbox of every event and the usage counter of every call. Each reads or writes
exactly what the ORM would (tests/partners/test_fastpath.py); everything else in the app uses the
ORM. The mechanism is ``creditfactory.core.rows``.
"""

from __future__ import annotations

from django.utils import timezone

from creditfactory.core.rows import RowReader, RowWriter, default_connection, execute, save_fields

from .models import (
    ApiUsage,
    DeliveryStatus,
    IdempotencyKey,
    PartnerApiKey,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

# Every API request starts with it: the keys sharing a prefix, each with its partner and the
# partner's branch (which owns what the partner creates).
_KEYS_BY_PREFIX = RowReader(PartnerApiKey, related=("partner__branch",), by="prefix")
# A key row per create-POST.
_IDEMPOTENCY_KEYS = RowWriter(IdempotencyKey)


def api_keys_by_prefix(prefix: str) -> list[PartnerApiKey]:
    """``PartnerApiKey.objects.select_related("partner__branch").filter(prefix=prefix)``, unordered."""
    return _KEYS_BY_PREFIX.filter(prefix)


def idempotency_key_insert(record: IdempotencyKey) -> IdempotencyKey:
    """``record.save()`` of a new key, as one prebuilt INSERT (the ORM where it must)."""
    return _IDEMPOTENCY_KEYS.insert(record)


_COMPLETED_FIELDS = ["status", "response_status", "response_body", "response_headers", "completed_at"]


def idempotency_key_complete(record: IdempotencyKey) -> None:
    """``record.save(update_fields=[status, response_status, response_body, response_headers,
    completed_at])`` as one prebuilt UPDATE: every create-POST stores its response."""
    save_fields(record, _COMPLETED_FIELDS)


def outbox_in_one_statement() -> bool:
    """Whether ``webhook_event_insert`` can be used (a data-modifying CTE: PostgreSQL)."""
    connection = default_connection()
    return connection.vendor == "postgresql"


def webhook_event_insert(*, partner, event: str, payload: dict) -> tuple[WebhookEvent, list[int]]:
    """PostgreSQL: the event row and one delivery per subscribed live endpoint (active, not
    deleted, ``event`` in its ``events``; in the endpoints' order, created_at then id) in a single
    statement; every application writes two or three events, and the ORM's two statements (plus
    reading the endpoints) cost more than the rows. Returns the event and its delivery ids."""
    connection = default_connection()
    quote = connection.ops.quote_name

    def column(model, name):
        return quote(model._meta.get_field(name).column)

    record = WebhookEvent(partner=partner, event=event, payload=payload, created_at=timezone.now())
    event_values = [record.uuid, partner.pk, event,
                    WebhookEvent._meta.get_field("payload").get_db_prep_save(payload, connection), record.created_at]
    E, D = WebhookEndpoint, WebhookDelivery
    event_columns = ("uuid", "partner", "event", "payload", "created_at")
    delivery_columns = ("uuid", "event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code",
                        "last_error", "delivered_at", "redelivery_of", "created_at")
    sql = f"""
        WITH new_event AS (
            INSERT INTO {quote(WebhookEvent._meta.db_table)}
                ({", ".join(column(WebhookEvent, name) for name in event_columns)})
            VALUES (%s, %s, %s, %s, %s) RETURNING id
        ), new_deliveries AS (
            INSERT INTO {quote(D._meta.db_table)} ({", ".join(column(D, name) for name in delivery_columns)})
            SELECT gen_random_uuid(), new_event.id, e.{quote(E._meta.pk.column)}, %s, 0, %s, NULL, '', NULL, NULL, %s
            FROM new_event, {quote(E._meta.db_table)} e
            WHERE e.{column(E, "partner")} = %s AND e.{column(E, "deleted_at")} IS NULL AND e.{column(E, "is_active")}
                AND e.{column(E, "events")} ? %s
            ORDER BY e.{column(E, "created_at")}, e.{quote(E._meta.pk.column)}
            RETURNING id
        )
        SELECT (SELECT id FROM new_event), ARRAY(SELECT id FROM new_deliveries ORDER BY id)
    """
    with connection.cursor() as cursor:
        execute(cursor, sql, [*event_values, DeliveryStatus.PENDING, record.created_at, record.created_at,
                             partner.pk, event])
        record.pk, delivery_ids = cursor.fetchone()
    record._state.adding, record._state.db = False, connection.alias
    return record, list(delivery_ids)


def api_usage_add(*, partner_id: int, day, endpoint: str, method: str, status_code: int, count: int) -> None:
    """Add ``count`` calls to the bucket (partner, day, endpoint, method, status), creating it at
    ``count``: ``INSERT … ON CONFLICT DO UPDATE SET count = count + EXCLUDED.count``, atomic in the
    database (PostgreSQL and SQLite ≥ 3.24), so concurrent requests never lose an increment — the
    ORM's upsert can only overwrite the counter."""
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = ApiUsage._meta
    table = quote(meta.db_table)
    key = [quote(meta.get_field(name).column) for name in ("partner", "day", "endpoint", "method", "status_code")]
    counter = quote(meta.get_field("count").column)
    sql = (
        f"INSERT INTO {table} ({', '.join([*key, counter])}) VALUES (%s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {counter} = {table}.{counter} + EXCLUDED.{counter}"
    )
    with connection.cursor() as cursor:
        execute(cursor, sql, [partner_id, day, endpoint, method, status_code, count])
