"""Brute-force protection (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user from
one address, that user is locked out from that address — on the back-office login and on the
admin login — with a translated page (429), logged, until the cool-off passes or an admin lifts
it. Other users at the same address, and partners calling the API with keys, are not affected."""

import logging
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from axes.utils import reset
from django.core.management import call_command
from django.utils import timezone

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-1234-word"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def officer():
    return UserFactory(username="officer")


def _attempt(client, url, username, password, address="10.0.0.1", **extra):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _fail(client, url, username, times, address="10.0.0.1"):
    return [_attempt(client, url, username, "wrong", address).status_code for _ in range(times)]


def test_five_wrong_passwords_lock_the_user_out_even_with_the_right_one(client, officer, settings, caplog):
    assert settings.AXES_FAILURE_LIMIT == 5
    with caplog.at_level(logging.WARNING):
        statuses = _fail(client, LOGIN, "officer", 5)
    assert statuses[:4] == [200, 200, 200, 200] and statuses[4] == 429
    refused = _attempt(client, LOGIN, "officer", PASSWORD)
    assert refused.status_code == 429 and not _signed_in(client)
    page = refused.content.decode()
    assert 'id="login-locked"' in page and "Too many failed sign-ins" in page and "<html" in page
    assert AccessAttempt.objects.get(username="officer", ip_address="10.0.0.1").failures_since_start >= 5
    assert AccessFailureLog.objects.filter(username="officer").count() >= 5
    assert any("locked out" in record.getMessage().lower() and "officer" in record.getMessage()
               for record in caplog.records)


def test_the_lockout_page_is_translated(client, officer):
    _fail(client, LOGIN, "officer", 5)
    page = _attempt(client, LOGIN, "officer", PASSWORD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录失败次数过多" in page


def test_the_lock_is_per_user_and_address(client, officer):
    UserFactory(username="colleague")
    _fail(client, LOGIN, "officer", 5)
    assert _attempt(client, LOGIN, "colleague", PASSWORD).status_code == 302  # same address, other user
    client.logout()
    assert _attempt(client, LOGIN, "officer", PASSWORD, address="10.0.0.2").status_code == 302  # other address


def test_an_admin_lifts_the_lock_and_the_right_password_works_again(client, officer):
    _fail(client, LOGIN, "officer", 5)
    assert _attempt(client, LOGIN, "officer", PASSWORD).status_code == 429
    reset(username="officer")
    response = _attempt(client, LOGIN, "officer", PASSWORD)
    assert response.status_code == 302 and _signed_in(client)


def test_the_reset_command_lifts_it_too(client, officer):
    _fail(client, LOGIN, "officer", 5)
    call_command("axes_reset_username", "officer")
    assert _attempt(client, LOGIN, "officer", PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, officer, settings):
    _fail(client, LOGIN, "officer", 5)
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert _attempt(client, LOGIN, "officer", PASSWORD).status_code == 302


def test_the_admin_login_locks_out_the_same_way(client, admin_user):
    statuses = _fail(client, ADMIN_LOGIN, "root", 5)
    assert statuses[-1] == 429
    refused = _attempt(client, ADMIN_LOGIN, "root", PASSWORD)
    assert refused.status_code == 429 and not _signed_in(client)
    reset(username="root")
    assert _attempt(client, ADMIN_LOGIN, "root", PASSWORD).status_code == 302 and _signed_in(client)


def test_access_attempts_are_listed_in_admin_for_lifting(admin_client, officer):
    from django.test import Client

    _fail(Client(), LOGIN, "officer", 5)
    attempt = AccessAttempt.objects.get(username="officer")
    page = admin_client.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and "officer" in page.content.decode()
    admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_partner_api_keys_are_not_affected(client, django_capture_on_commit_callbacks):
    from tests.partners.factories import issue_key, make_partner, partner_client

    UserFactory(username="acme-ops")
    _fail(client, LOGIN, "acme-ops", 5, address="127.0.0.1")
    partner = make_partner("ACME")
    api = partner_client(issue_key(partner))
    assert api.get("/api/v1/partner").status_code == 200
    for _ in range(6):
        assert partner_client("cfk_wrong").get("/api/v1/partner").status_code == 401
    assert api.get("/api/v1/partner").status_code == 200
    assert AccessAttempt.objects.filter(username__isnull=True).count() == 0


def test_the_test_clients_login_helpers_still_work(client, officer):
    assert client.login(username="officer", password=PASSWORD)
    client.logout()
    client.force_login(officer)
    assert _signed_in(client)


def test_behind_proxies_the_address_is_the_one_the_outermost_proxy_saw(settings):
    from django.test import RequestFactory

    from creditfactory.core.signin import client_address

    request = RequestFactory().post(LOGIN, REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_address(request) == "10.0.0.9"  # no proxy configured: X-Forwarded-For is not trusted
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"  # the client cannot forge past its own proxy
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"
    settings.TRUSTED_PROXY_COUNT = 3
    assert client_address(request) == "10.0.0.9"  # fewer hops than proxies: the peer
