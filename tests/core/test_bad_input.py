"""Bad input on the API never answers 500 nor an HTML page: nesting bombs, oversized bodies,
out-of-range pagination, malformed encodings and bodies that are not objects all answer 400/413
in the documented error format. The generic tests walk the URL conf, so a new endpoint is covered
the day it is routed."""

import json
import time
import uuid

import pytest
from django.test import override_settings
from django.urls import get_resolver

from creditfactory.partners.services import webhooks
from tests.partners.scoping_matrix import _walk
from tests.workflows.api_factories import URL, api_setup, body

pytestmark = pytest.mark.django_db

NESTED = ("[" * 1000 + "]" * 1000).encode()
CALCULATOR = "/api/v1/calculator/schedule"
WEBHOOKS = "/api/v1/webhooks"


@pytest.fixture
def api():
    return api_setup()


@pytest.fixture
def world(api, django_capture_on_commit_callbacks):
    """One of the partner's applications and webhook endpoints, so object routes reach their body."""
    with django_capture_on_commit_callbacks(execute=True):
        application = api.client.post(URL, body(), format="json").json()["id"]
    endpoint, _secret = webhooks.webhook_endpoint_create(partner=api.partner, url="https://hooks.example.cn/h",
                                                         events=["line.granted"])
    return {"applications": application, "webhooks": endpoint.pk, "credit-lines": 1}


def _post_raw(client, url, data: bytes, content_type="application/json", **headers):
    return client.generic("POST", url, data=data, content_type=content_type,
                          HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()), **headers)


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    data = response.json()
    assert set(data) == {"code", "message", "errors"}, data
    assert isinstance(data["message"], str) and data["message"]
    assert isinstance(data["errors"], dict)
    if code is not None:
        assert data["code"] == code, data
    return data


# --- nesting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, WEBHOOKS, CALCULATOR])
def test_a_nesting_bomb_answers_400_on_the_named_endpoints(api, url):
    data = _assert_error(_post_raw(api.client, url, NESTED), 400, "parse_error")
    assert "nested" in data["message"]


def test_nesting_within_the_limit_is_parsed_and_deeper_refused(api, settings):
    settings.API_JSON_MAX_DEPTH = 5
    ok = {"a": [[[{"b": 1}]]]}  # five levels
    response = _post_raw(api.client, WEBHOOKS, json.dumps(ok).encode())
    _assert_error(response, 400, "invalid")  # parsed: the serializer names the missing url
    deeper = {"a": [[[{"b": [1]}]]]}
    _assert_error(_post_raw(api.client, WEBHOOKS, json.dumps(deeper).encode()), 400, "parse_error")


def _post_routes():
    """(route, view class) of every API route whose view takes POST."""
    for route, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if route.startswith("api/v1/") and view_class is not None and hasattr(view_class, "post"):
            yield route, view_class


def _accepts_json(view_class) -> bool:
    from rest_framework.settings import api_settings

    parsers = getattr(view_class, "parser_classes", None) or api_settings.DEFAULT_PARSER_CLASSES
    return any(parser.media_type == "application/json" for parser in parsers)


def test_every_api_post_route_refuses_a_nesting_bomb_with_the_error_format(api, world):
    routes = list(_post_routes())
    assert len(routes) >= 9  # applications, withdraw, documents, signing ×3, contract, webhooks, ping, calculator
    failures = []
    for route, view_class in routes:
        path = "/" + route.replace("<int:pk>", str(world.get(route.split("/")[2], 1)))
        response = _post_raw(api.client, path, NESTED)
        expected = 400 if _accepts_json(view_class) else 415
        if response.status_code != expected or not response["Content-Type"].startswith("application/json") \
                or set(response.json()) != {"code", "message", "errors"}:
            failures.append(f"{path}: {response.status_code} {response.content[:200]!r}")
    assert not failures, "\n".join(failures)


# --- size ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, WEBHOOKS, CALCULATOR])
def test_a_body_over_the_upload_limit_answers_413_in_the_error_format(api, url):
    big = json.dumps({"description": "x" * (3 * 1024 * 1024)}).encode()
    data = _assert_error(_post_raw(api.client, url, big), 413, "request_too_large")
    assert "2621440" in data["message"] or "2.5" in data["message"]


def test_a_signed_partners_oversized_body_answers_413(api):
    from creditfactory.partners.services import partners as partner_services

    api.partner.require_signature = True
    api.partner.save(update_fields=["require_signature"])
    partner_services.partner_signing_secret_rotate(partner=api.partner, actor=None)
    big = json.dumps({"description": "x" * (3 * 1024 * 1024)}).encode()
    response = _post_raw(api.client, WEBHOOKS, big, HTTP_X_CF_TIMESTAMP=str(int(time.time())),
                         HTTP_X_CF_SIGNATURE="0" * 64)
    _assert_error(response, 413, "request_too_large")


def test_too_many_multipart_fields_answer_400(api, world):
    fields = {f"f{i}": "x" for i in range(1100)}
    response = api.client.post(f"{URL}/{world['applications']}/documents", fields, format="multipart",
                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    _assert_error(response, 400, "too_many_fields")


def test_a_large_body_outside_the_api_gets_a_page_not_a_traceback(client, db):
    response = client.post("/accounts/login/", {"username": "x", "password": "y" * (3 * 1024 * 1024)})
    assert response.status_code in (400, 413)
    assert b"Traceback" not in response.content


# --- encoding and shape ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", [URL, WEBHOOKS, CALCULATOR])
def test_bad_utf8_answers_400_parse_error(api, url):
    _assert_error(_post_raw(api.client, url, b'{"url": "\xff\xfe"}'), 400, "parse_error")


@pytest.mark.parametrize("raw", [b"[]", b'"x"', b"1", b"null", b"true"])
def test_a_body_that_is_not_an_object_answers_400_on_every_create_endpoint(api, world, raw):
    for route, view_class in _post_routes():
        if not _accepts_json(view_class) or route.endswith(("/ping", "/contract/accept")):
            continue  # these take no body
        path = "/" + route.replace("<int:pk>", str(world.get(route.split("/")[2], 1)))
        response = _post_raw(api.client, path, raw)
        data = _assert_error(response, 400, "parse_error")
        assert "must be a JSON object" in data["message"], (path, data)


# --- pagination and integer query parameters ------------------------------------------------------


@pytest.mark.parametrize("url", [URL, WEBHOOKS])
def test_a_huge_limit_is_clamped_to_the_largest_page(api, world, url, settings):
    webhooks.webhook_endpoint_create(partner=api.partner, url="https://hooks.example.cn/second",
                                     events=["line.granted"])
    settings.API_MAX_PAGE_SIZE = 1
    response = api.client.get(url, {"limit": "100000000000000000000"})
    assert response.status_code == 200, response.content
    data = response.json()
    assert len(data["results"]) == 1
    if url == WEBHOOKS:
        assert data["count"] == 2 and "limit=1" in data["next"]


@pytest.mark.parametrize("url", [URL, WEBHOOKS])
def test_a_huge_offset_answers_an_empty_page(api, world, url):
    response = api.client.get(url, {"offset": "100000000000000000000", "limit": "100000000000000000000"})
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


@pytest.mark.parametrize("url", [URL, WEBHOOKS])
@pytest.mark.parametrize("name,value", [("limit", "abc"), ("limit", "0"), ("limit", "-1"), ("limit", "１０"),
                                        ("offset", "-1"), ("offset", "x"), ("offset", "１")])
def test_a_malformed_limit_or_offset_answers_400_naming_it(api, url, name, value):
    data = _assert_error(api.client.get(url, {name: value}), 400, "invalid")
    assert list(data["errors"]) == [name], data


@override_settings(DEBUG=True)
def test_the_nesting_bomb_is_no_traceback_page_under_debug(api):
    _assert_error(_post_raw(api.client, CALCULATOR, NESTED), 400, "parse_error")
