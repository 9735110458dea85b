"""Partner-platform factories and client helpers for API tests (partners, keys, signed calls)."""

import json
import time

import pytest
from rest_framework.test import APIClient

from creditfactory.organisations.models import Branch
from creditfactory.partners.auth import sign_request
from creditfactory.partners.models import Partner
from creditfactory.partners.services import partners as partner_services
from tests.factories import make_branch

# Threads need committed data, hence transaction=True. Flushing only these apps' tables keeps the
# teardown fast; auth and contenttypes are left out on purpose, as flushing them would delete the
# permissions and content types that later tests rely on (post_migrate is not re-run).
CONCURRENT_DB = pytest.mark.django_db(
    transaction=True,
    available_apps=["creditfactory.core", "creditfactory.organisations", "creditfactory.partners", "products"],
)


def make_partner(code: str = "ACME", *, branch: Branch | None = None, products=(), **fields) -> Partner:
    if branch is None:
        branch = Branch.objects.filter(code="hq").first() or make_branch("hq", name="Head office")
    return partner_services.partner_create(
        actor=None, code=code, name=fields.pop("name", code.title()), branch=branch, products=products, **fields
    )


def issue_key(partner: Partner, name: str = "test") -> str:
    _key, plaintext = partner_services.partner_api_key_issue(partner=partner, name=name, actor=None)
    return plaintext


def partner_client(plaintext: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def signed_headers(secret: str, method: str, path: str, body: bytes = b"", *, timestamp: int | None = None) -> dict:
    """The two signing headers, as Django test-client extra kwargs."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "HTTP_X_CF_TIMESTAMP": ts,
        "HTTP_X_CF_SIGNATURE": sign_request(secret, timestamp=ts, method=method, path=path, body=body),
    }


def signed_call(client: APIClient, secret: str, method: str, path: str, payload=None, **extra):
    """Send a JSON request signed over exactly the bytes that go on the wire."""
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = {**signed_headers(secret, method, path, body), **extra}
    return client.generic(method, path, data=body, content_type="application/json", **headers)
