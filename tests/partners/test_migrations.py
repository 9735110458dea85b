"""Moving the partner platform into its app keeps every row: a database at the migrations of the
previous layout (partners and keys in ``organisations``, idempotency, webhooks and usage in
``core``) migrates in place, ids and values unchanged, permissions and logs still attached."""

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from guardian.models import UserObjectPermission

from creditfactory.core.state import transitions_for
from creditfactory.partners.models import (
    ApiUsage,
    IdempotencyKey,
    Partner,
    PartnerApiKey,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from tests.factories import make_branch, make_product, make_staff

# Every migration of the move depends on partners.0001 (core.0003, organisations.0003,
# workflows.0004, servicing.0003, partners.0002): unapplying the partners app takes the database
# back to the layout before it — core at 0002_initial, organisations at 0002_standard_roles,
# workflows at 0003_flow_task_names, servicing at 0002_initial — and leaves everything else as is.
BEFORE_THE_MOVE = [("partners", None)]

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the project's database is PostgreSQL"),
]


def _migrate(targets):
    # The test's rows leave deferred FK checks pending, and PostgreSQL refuses to ALTER a table
    # with pending trigger events: check them now, as a commit would.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # what is applied now
    return executor


def _old_apps(executor):
    """The models as they were at the applied migrations (the state before the move)."""
    applied = [key for key in MigrationRecorder(connection).applied_migrations() if key in executor.loader.graph.nodes]
    return executor.loader.project_state(applied).apps


def _seed_the_old_layout(apps, *, branch, product, user, staff):
    """One row of every moved model (and a grant of each kind on them) through the old models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    OldPartner = apps.get_model("organisations", "Partner")
    now = timezone.now()
    partner = OldPartner.objects.create(code="ACME", name="Acme", kind="channel", branch_id=branch.pk,
                                        throttle_rate="600/min", require_signature=True,
                                        signing_secret="sign-secret", webhook_secret="hook-secret",
                                        contact_email="it@acme.example.cn")
    partner.products.add(product.pk)
    history = apps.get_model("organisations", "HistoricalPartner").objects.create(
        id=partner.pk, created_at=partner.created_at, code="ACME", name="Acme", kind="channel", is_active=True,
        throttle_rate="600/min", require_signature=True, contact_email="it@acme.example.cn", branch_id=branch.pk,
        history_date=now, history_type="+", history_user_id=user.pk)
    history_products = apps.get_model("organisations", "HistoricalPartner_products").objects.create(
        id=1, history_id=history.pk, partner_id=partner.pk, loanproduct_id=product.pk)
    key = apps.get_model("organisations", "PartnerApiKey").objects.create(
        partner=partner, name="prod", prefix="cfk_abcdefgh", key_hash="a" * 64, created_by_id=user.pk)
    core = {name: apps.get_model("core", name) for name in (
        "IdempotencyKey", "WebhookEndpoint", "WebhookEvent", "WebhookDelivery", "WebhookDeliveryAttempt",
        "ApiUsage", "StateTransition")}
    idempotency_key = core["IdempotencyKey"].objects.create(
        partner=partner, key="order-1", endpoint="api:application-list", request_hash="b" * 64,
        status="completed", response_status=201, response_body='{"id": 1}', response_headers={"Location": "/x"},
        locked_at=now, completed_at=now)
    endpoint = core["WebhookEndpoint"].objects.create(
        partner=partner, url="https://hooks.acme.example.cn/cf", events=["application.decided"], secret="whsec_1")
    event = core["WebhookEvent"].objects.create(partner=partner, event="application.decided",
                                                payload={"application": {"number": "CF1"}})
    delivery = core["WebhookDelivery"].objects.create(event=event, endpoint=endpoint, status="failed", attempts=1,
                                                      last_status_code=500, last_error="HTTP 500")
    redelivery = core["WebhookDelivery"].objects.create(event=event, endpoint=endpoint, redelivery_of=delivery,
                                                        next_attempt_at=now)
    attempt = core["WebhookDeliveryAttempt"].objects.create(delivery=delivery, number=1, started_at=now,
                                                            duration_ms=12, status_code=500, response_excerpt="no")
    usage = core["ApiUsage"].objects.create(partner=partner, day=date(2026, 3, 1), endpoint="api/v1/partner",
                                            method="GET", status_code=200, count=7)
    key_type = ContentType.objects.get(app_label="organisations", model="partnerapikey")
    partner_type = ContentType.objects.get(app_label="organisations", model="partner")
    transition = core["StateTransition"].objects.create(content_type=key_type, object_id=str(key.pk),
                                                        field="key", to_state="active", actor_id=user.pk)
    Permission = apps.get_model("auth", "Permission")
    group = apps.get_model("auth", "Group").objects.create(name="Partner desk")
    group.permissions.add(Permission.objects.get(content_type=partner_type, codename="view_partner"))
    apps.get_model("auth", "User").objects.get(pk=staff.pk).groups.add(group)
    apps.get_model("guardian", "UserObjectPermission").objects.create(
        user_id=staff.pk, content_type=partner_type, object_pk=str(partner.pk),
        permission=Permission.objects.get(content_type=partner_type, codename="change_partner"))
    return {"partner": partner.pk, "history": history.pk, "history_products": history_products.pk, "key": key.pk,
            "idempotency_key": idempotency_key.pk, "endpoint": endpoint.pk, "event": event.pk,
            "delivery": delivery.pk, "redelivery": redelivery.pk, "attempt": attempt.pk, "usage": usage.pk,
            "transition": transition.pk, "group": group.pk, "event_uuid": event.uuid}


def test_migrate_keeps_every_row_of_the_moved_models_with_its_id():
    branch = make_branch("sh", name="上海分行")
    product = make_product("EDUCATION")
    user, staff = make_staff("operator"), make_staff("desk")
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()

    executor = _migrate(BEFORE_THE_MOVE)
    applied = MigrationRecorder(connection).applied_migrations()
    assert {("core", "0002_initial"), ("organisations", "0002_standard_roles")} <= set(applied)
    assert not {key for key in applied if key[0] == "partners" or key in (
        ("core", "0003_partner_platform_moved"), ("organisations", "0003_partner_platform_moved"))}
    ids = _seed_the_old_layout(_old_apps(executor), branch=branch, product=product, user=user, staff=staff)
    _migrate(latest)

    partner = Partner.objects.get(pk=ids["partner"])
    assert (partner.code, partner.name, partner.branch_id, partner.throttle_rate, partner.require_signature) == (
        "ACME", "Acme", branch.pk, "600/min", True)
    assert (partner.signing_secret, partner.webhook_secret) == ("sign-secret", "hook-secret")  # still decrypts
    assert list(partner.products.all()) == [product]
    history = partner.history.get()
    assert (history.history_id, history.history_user_id) == (ids["history"], user.pk)
    assert list(history.products.values_list("pk", "loanproduct_id")) == [(ids["history_products"], product.pk)]
    key = PartnerApiKey.objects.get(pk=ids["key"])
    assert (key.partner_id, key.prefix, key.created_by_id) == (partner.pk, "cfk_abcdefgh", user.pk)
    assert [t.pk for t in transitions_for(key)] == [ids["transition"]]

    stored = IdempotencyKey.objects.get(pk=ids["idempotency_key"])
    assert (stored.partner_id, stored.key, stored.response_status, stored.response_body) == (
        partner.pk, "order-1", 201, '{"id": 1}')
    endpoint = WebhookEndpoint.objects.get(pk=ids["endpoint"])
    assert (endpoint.partner_id, endpoint.events, endpoint.signing_secret) == (
        partner.pk, ["application.decided"], "whsec_1")
    event = WebhookEvent.objects.get(pk=ids["event"])
    assert (event.uuid, event.payload) == (ids["event_uuid"], {"application": {"number": "CF1"}})
    assert sorted(WebhookDelivery.objects.filter(event=event).values_list("pk", "redelivery_of_id", "status")) == [
        (ids["delivery"], None, "failed"), (ids["redelivery"], ids["delivery"], "pending")]
    attempt = WebhookDeliveryAttempt.objects.get(pk=ids["attempt"])
    assert (attempt.delivery_id, attempt.status_code, attempt.duration_ms) == (ids["delivery"], 500, 12)
    usage = ApiUsage.objects.get(pk=ids["usage"])
    assert (usage.partner_id, usage.day, usage.count) == (partner.pk, date(2026, 3, 1), 7)

    # Permissions and grants follow the models to their new app label.
    assert Group.objects.get(pk=ids["group"]).permissions.get().content_type.app_label == "partners"
    assert staff.has_perm("partners.view_partner")
    assert staff.has_perm("partners.change_partner", partner)
    assert UserObjectPermission.objects.get(user=staff).content_object == partner
    assert product.partners.get() == partner
