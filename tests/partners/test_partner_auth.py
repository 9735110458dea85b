"""Partner API keys, request signing and the per-partner rate limit, through the HTTP API."""

import json
import time

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from creditfactory.core.models import StateTransition
from creditfactory.partners.auth import PartnerPrincipal
from creditfactory.partners.models import PartnerApiKey
from creditfactory.partners.services import partners as partner_services
from tests.factories import make_product, make_staff
from tests.partners.factories import issue_key, make_partner, partner_client, signed_call, signed_headers

URL = "/api/v1/partner"
pytestmark = pytest.mark.django_db


def test_a_valid_key_identifies_the_partner_and_its_products():
    education = make_product("EDUCATION")
    make_product("DRAFTY", publish=False)
    partner = make_partner("ACME", name="Acme Channel", products=[education])
    key = issue_key(partner)

    response = partner_client(key).get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "code": "ACME",
        "name": "Acme Channel",
        "kind": "channel",
        "rate_limit": "120/min",
        "require_signature": False,
        "products": [{"code": "EDUCATION", "name": "Education loan", "status": "active", "version": 1}],
    }
    assert PartnerApiKey.objects.get(partner=partner).last_used_at is not None


def test_last_used_is_written_at_most_once_a_minute():
    partner = make_partner()
    key = issue_key(partner)
    client = partner_client(key)
    client.get(URL)
    first = PartnerApiKey.objects.get().last_used_at
    client.get(URL)
    assert PartnerApiKey.objects.get().last_used_at == first


def test_the_key_is_stored_hashed_with_a_visible_prefix_only():
    partner = make_partner()
    row, plaintext = partner_services.partner_api_key_issue(partner=partner, name="prod", actor=None)
    assert plaintext.startswith("cfk_") and len(plaintext) == 47
    assert row.prefix == plaintext[:12]
    stored = PartnerApiKey.objects.filter(pk=row.pk).values().get()
    assert plaintext not in json.dumps(stored, default=str)
    assert partner_services.partner_api_key_lookup(plaintext) == row
    assert partner_services.partner_api_key_lookup(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) is None


def test_missing_credentials_answer_401_with_a_bearer_challenge():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["code"] == "not_authenticated"
    assert set(response.json()) == {"code", "message", "errors"}


@pytest.mark.parametrize("header", ["Bearer cfk_unknownunknownunknownunknownunknownunknown1", "Bearer a b", "Bearer"])
def test_an_unknown_or_malformed_key_answers_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_key_answers_401_and_the_partners_other_keys_keep_working():
    partner = make_partner()
    old, new = issue_key(partner, "old"), issue_key(partner, "new")
    row = partner_services.partner_api_key_lookup(old)
    partner_services.partner_api_key_revoke(key=row, actor=None, reason="leaked")

    response = partner_client(old).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_revoked"
    assert partner_client(new).get(URL).status_code == 200
    log = StateTransition.objects.filter(object_id=str(row.pk), field="key").order_by("id")
    assert [(t.from_state, t.to_state, t.reason) for t in log] == [("", "active", "API key issued"),
                                                                    ("active", "revoked", "leaked")]


def test_revoking_twice_changes_nothing():
    partner = make_partner()
    row = partner_services.partner_api_key_lookup(issue_key(partner))
    first = partner_services.partner_api_key_revoke(key=row, actor=None).revoked_at
    again = partner_services.partner_api_key_revoke(key=row, actor=None).revoked_at
    assert first == again
    assert StateTransition.objects.filter(object_id=str(row.pk), to_state="revoked").count() == 1


def test_an_inactive_partner_answers_401():
    partner = make_partner()
    key = issue_key(partner)
    partner.is_active = False
    partner.save(update_fields=["is_active"])
    response = partner_client(key).get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "partner_inactive"


def test_a_staff_session_is_not_a_partner(client):
    client.force_login(make_staff("alice"))
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_principal_is_never_mistaken_for_staff():
    partner = make_partner()
    row = partner_services.partner_api_key_lookup(issue_key(partner))
    principal = PartnerPrincipal(partner, row)
    assert principal.pk is None and principal.is_authenticated and not principal.is_staff
    assert principal.has_perm("organisations.view_branch") is False
    assert principal.actor_label == "partner:ACME"


# --- signing -------------------------------------------------------------------------------------
@pytest.fixture
def signer():
    partner = make_partner("SIGNER", require_signature=True)
    return partner, partner_client(issue_key(partner))


def test_a_correctly_signed_request_passes(signer):
    partner, client = signer
    response = client.get(URL, **signed_headers(partner.signing_secret, "GET", URL))
    assert response.status_code == 200
    assert response.json()["require_signature"] is True


def test_a_signed_post_covers_the_body(signer):
    partner, client = signer
    payload = {"url": "https://hooks.example.cn/cf", "events": ["line.granted"]}
    response = signed_call(client, partner.signing_secret, "POST", "/api/v1/webhooks", payload)
    assert response.status_code == 201

    body = json.dumps({**payload, "url": "https://evil.example.cn/cf"}).encode()
    headers = signed_headers(partner.signing_secret, "POST", "/api/v1/webhooks", json.dumps(payload).encode())
    tampered = client.generic("POST", "/api/v1/webhooks", data=body, content_type="application/json", **headers)
    assert tampered.status_code == 401
    assert tampered.json()["code"] == "signature_invalid"
    assert partner.webhook_endpoints.count() == 1


def test_unsigned_requests_of_a_signing_partner_answer_401(signer):
    _partner, client = signer
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_required"


def test_a_signature_with_the_wrong_secret_or_path_answers_401(signer):
    partner, client = signer
    wrong_secret = client.get(URL, **signed_headers("not-the-secret", "GET", URL))
    assert (wrong_secret.status_code, wrong_secret.json()["code"]) == (401, "signature_invalid")
    # The query string is part of what is signed.
    unsigned_query = client.get(URL + "?x=1", **signed_headers(partner.signing_secret, "GET", URL))
    assert (unsigned_query.status_code, unsigned_query.json()["code"]) == (401, "signature_invalid")
    signed_query = client.get(URL + "?x=1", **signed_headers(partner.signing_secret, "GET", URL + "?x=1"))
    assert signed_query.status_code == 200


@override_settings(PARTNER_SIGNATURE_MAX_SKEW_SECONDS=300)
def test_timestamps_outside_the_skew_window_are_refused(signer):
    partner, client = signer
    now = int(time.time())
    for offset in (-400, 400):
        response = client.get(URL, **signed_headers(partner.signing_secret, "GET", URL, timestamp=now + offset))
        assert (response.status_code, response.json()["code"]) == (401, "signature_expired")
    inside = client.get(URL, **signed_headers(partner.signing_secret, "GET", URL, timestamp=now - 200))
    assert inside.status_code == 200
    malformed = client.get(URL, HTTP_X_CF_TIMESTAMP="yesterday", HTTP_X_CF_SIGNATURE="00")
    assert (malformed.status_code, malformed.json()["code"]) == (401, "signature_invalid")


def test_a_signature_is_accepted_once(signer):
    partner, client = signer
    headers = signed_headers(partner.signing_secret, "GET", URL)
    assert client.get(URL, **headers).status_code == 200
    replay = client.get(URL, **headers)
    assert (replay.status_code, replay.json()["code"]) == (401, "signature_replayed")


def test_rotating_the_signing_secret_invalidates_the_old_one(signer):
    partner, client = signer
    old = partner.signing_secret
    new = partner_services.partner_signing_secret_rotate(partner=partner, actor=None)
    assert new != old
    assert client.get(URL, **signed_headers(old, "GET", URL)).status_code == 401
    assert client.get(URL, **signed_headers(new, "GET", URL)).status_code == 200


# --- throttling ----------------------------------------------------------------------------------
def test_the_partner_rate_limit_answers_429_with_retry_after():
    limited = make_partner("LIMITED", throttle_rate="3/min")
    other = make_partner("OTHER", throttle_rate="3/min")
    client_a, client_a2 = partner_client(issue_key(limited, "a")), partner_client(issue_key(limited, "b"))
    statuses = [client_a.get(URL).status_code, client_a2.get(URL).status_code, client_a.get(URL).status_code]
    refused = client_a2.get(URL)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Another partner has its own allowance.
    assert partner_client(issue_key(other)).get(URL).status_code == 200


@override_settings(PARTNER_DEFAULT_THROTTLE_RATE="2/min")
def test_partners_without_their_own_rate_get_the_default():
    client = partner_client(issue_key(make_partner()))
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 429]


# --- staff endpoints -----------------------------------------------------------------------------
@pytest.mark.urls("tests.partners.partner_test_urls")
def test_staff_endpoints_refuse_partner_keys(client):
    key = issue_key(make_partner())
    refused = partner_client(key).get("/staff-only")
    assert refused.status_code == 403
    assert refused.json()["code"] == "partner_key_not_accepted"

    # Public endpoints (the schema) ignore the key rather than refuse it.
    assert partner_client(key).get("/api/schema/").status_code == 200

    anonymous = APIClient().get("/staff-only")
    assert (anonymous.status_code, anonymous["WWW-Authenticate"]) == (401, 'Bearer realm="api"')
    client.force_login(make_staff("alice"))
    assert client.get("/staff-only").json() == {"user": "alice"}


def test_the_documented_signing_examples_hold():
    """docs/api.md gives worked examples; partners test their code against them."""
    from creditfactory.partners.auth import sign_request
    from creditfactory.partners.services.delivery import webhook_signature

    body = b'{"url":"https://hooks.example.cn/cf","events":["line.granted"]}'
    assert sign_request("s3cr3t-example", timestamp="1767225600", method="POST", path="/api/v1/webhooks",
                        body=body) == "a53393f525dc9100252fc0d07cd06e8be4d14e002462191ae56066a674d0cd7d"
    event = b'{"id":"7d1f0b2e-3c4a-4f5e-9a8b-1c2d3e4f5a6b","event":"line.granted"}'
    assert webhook_signature("whsec_example", timestamp="1767225600", body=event) == (
        "fced52ce07dda6614c097c5e562e17ffe2d27fc2907985e4d883e46bb5856624")
