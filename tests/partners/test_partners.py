"""Partners and their credentials: services, secrets at rest, and the admin screens."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection

from creditfactory.partners.models import Partner, PartnerApiKey
from creditfactory.partners.services import partners as partner_services
from tests.factories import make_branch, make_product, make_staff
from tests.partners.factories import issue_key, make_partner, partner_client

pytestmark = pytest.mark.django_db
KEY_IN_MESSAGE = re.compile(r"(cfk_[A-Za-z0-9_-]{43})")


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_partner_create_records_products_and_history():
    education, cash = make_product("EDUCATION"), make_product("CASH")
    partner = make_partner("ACME", products=[education, cash], kind="co_lending_bank", contact_email="it@acme.cn")
    assert set(partner.products.values_list("code", flat=True)) == {"EDUCATION", "CASH"}
    created, products_set = partner.history.order_by("history_id")
    assert (created.code, created.kind, created.history_type) == ("ACME", "co_lending_bank", "+")
    assert products_set.history_type == "~"
    assert {row.loanproduct.code for row in products_set.products.all()} == {"EDUCATION", "CASH"}
    assert not hasattr(created, "signing_secret") and not hasattr(created, "webhook_secret")


def test_an_invalid_rate_limit_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as error:
        make_partner("ACME", throttle_rate="fast")
    assert list(error.value.message_dict) == ["throttle_rate"]
    assert Partner.objects.count() == 0


def test_secrets_are_encrypted_at_rest():
    partner = make_partner("ACME", require_signature=True)
    assert len(partner.signing_secret) == 43
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT signing_secret, webhook_secret FROM {Partner._meta.db_table} WHERE id = %s",
                       [partner.pk])
        stored_signing, stored_webhook = cursor.fetchone()
    assert stored_signing.startswith("gAAAAA") and partner.signing_secret not in stored_signing
    assert stored_webhook.startswith("gAAAAA") and partner.webhook_secret not in stored_webhook
    assert Partner.objects.get().signing_secret == partner.signing_secret


def test_product_permission_per_partner():
    education = make_product("EDUCATION")
    make_product("CASH")
    partner = make_partner("ACME", products=[education])
    partner_services.partner_check_product(partner=partner, code="EDUCATION")
    with pytest.raises(partner_services.PartnerProductNotAllowed, match="Product CASH is not available"):
        partner_services.partner_check_product(partner=partner, code="CASH")


# --- admin -----------------------------------------------------------------------------------------
def test_admin_issues_a_key_from_the_partner_list_and_shows_it_once(admin_client):
    partner = make_partner("ACME")
    response = admin_client.post("/admin/partners/partner/",
                                 {"action": "issue_api_key", "_selected_action": [partner.pk]}, follow=True)
    shown = [m for m in messages_of(response) if "cfk_" in m]
    assert len(shown) == 1 and "copy it now, it will not be shown again." in shown[0]
    key = KEY_IN_MESSAGE.search(shown[0]).group(1)
    assert partner_client(key).get("/api/v1/partner").status_code == 200
    row = PartnerApiKey.objects.get()
    assert row.created_by.username == "root"

    listing = admin_client.get("/admin/partners/partnerapikey/").content.decode()
    assert f"{row.prefix}…" in listing
    assert key not in listing and row.key_hash not in listing
    change = admin_client.get(f"/admin/partners/partnerapikey/{row.pk}/change/").content.decode()
    assert key not in change and row.key_hash not in change


def test_admin_add_key_page_issues_a_key(admin_client):
    partner = make_partner("ACME")
    response = admin_client.post("/admin/partners/partnerapikey/add/", {"partner": partner.pk, "name": "UAT"},
                                 follow=True)
    assert response.status_code == 200
    key = KEY_IN_MESSAGE.search(" ".join(messages_of(response))).group(1)
    row = PartnerApiKey.objects.get()
    assert (row.name, row.partner_id, row.prefix) == ("UAT", partner.pk, key[:12])
    assert partner_client(key).get("/api/v1/partner").status_code == 200


def test_admin_revokes_keys(admin_client):
    partner = make_partner("ACME")
    key = issue_key(partner)
    row = PartnerApiKey.objects.get()
    response = admin_client.post("/admin/partners/partnerapikey/",
                                 {"action": "revoke_keys", "_selected_action": [row.pk]}, follow=True)
    assert "1 key(s) revoked." in messages_of(response)
    row.refresh_from_db()
    assert row.revoked_at is not None and row.revoked_by.username == "root"
    assert partner_client(key).get("/api/v1/partner").status_code == 401


def test_admin_creates_a_signing_partner_and_shows_its_secret_once(admin_client):
    hq = make_branch("hq")
    product = make_product("EDUCATION")
    response = admin_client.post("/admin/partners/partner/add/", {
        "code": "ACME", "name": "Acme", "kind": "channel", "branch": hq.pk, "contact_email": "", "is_active": "on",
        "products": [product.pk], "throttle_rate": "60/min", "require_signature": "on",
        "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
    }, follow=True)
    assert response.status_code == 200
    partner = Partner.objects.get()
    assert partner.webhook_secret and partner.signing_secret
    assert any(partner.signing_secret in m for m in messages_of(response))
    page = admin_client.get(f"/admin/partners/partner/{partner.pk}/change/").content.decode()
    assert partner.signing_secret not in page and partner.webhook_secret not in page


def test_credentials_need_the_issue_permission(client):
    hq = make_branch("hq")
    partner = make_partner("ACME", branch=hq)
    clerk = make_staff("clerk", hq)
    clerk.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_partner", "change_partner", "view_partnerapikey"]))
    client.force_login(clerk)

    page = client.get("/admin/partners/partner/")
    assert page.status_code == 200
    assert b"issue_api_key" not in page.content
    assert client.get("/admin/partners/partnerapikey/add/").status_code == 403
    client.post("/admin/partners/partner/", {"action": "issue_api_key", "_selected_action": [partner.pk]})
    assert PartnerApiKey.objects.count() == 0


def test_staff_see_only_the_partners_of_their_branches(client):
    hq = make_branch("hq")
    east, west = make_branch("east", parent=hq), make_branch("west", parent=hq)
    make_partner("EASTCO", branch=east)
    make_partner("WESTCO", branch=west)
    officer = make_staff("east-officer", east)
    officer.user_permissions.add(Permission.objects.get(codename="view_partner"))
    client.force_login(officer)
    page = client.get("/admin/partners/partner/").content.decode()
    assert "EASTCO" in page and "WESTCO" not in page
