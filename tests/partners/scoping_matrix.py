"""The partner scoping matrix: a reusable check that no partner endpoint reveals or changes
another partner's objects.

Describe every object-level endpoint once, with placeholders for ids::

    ENDPOINTS = [
        ScopedEndpoint("GET", "/api/v1/applications/{application}"),
        ScopedEndpoint("POST", "/api/v1/applications/{application}/withdraw", {"reason": "x"}),
        ScopedEndpoint("POST", "/api/v1/applications/{application}/documents", {"file": ...}, format="multipart"),
    ]
    assert_partner_isolation(owner=a_client, intruder=b_client, endpoints=ENDPOINTS,
                             ids={"application": app.pk}, snapshot=lambda: ...)

The intruder must get 404 in the project's error format (never 403, never 2xx) for each, the
optional ``snapshot()`` must be unchanged afterwards (nothing written), and the owner's GETs
on the same URLs must succeed (so a typo in a URL cannot pass as "404"). ``uncovered_routes``
lists partner routes with path parameters that the matrix does not exercise: assert it is
empty so a new endpoint cannot be added without its scoping test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, get_resolver, resolve

from creditfactory.partners.auth import PartnerKeyAuthentication

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class ScopedEndpoint:
    method: str
    url: str
    body: dict | None = field(default=None)
    format: str = "json"

    def render(self, ids: dict) -> str:
        return self.url.format(**ids)


def _call(client, endpoint: ScopedEndpoint, url: str):
    send = getattr(client, endpoint.method.lower())
    # A fresh Idempotency-Key per call: replay protection must not mask the scoping answer.
    headers = {"HTTP_IDEMPOTENCY_KEY": f"scoping-{uuid.uuid4()}"}
    if endpoint.method.upper() in SAFE_METHODS:
        return send(url, **headers)
    return send(url, endpoint.body or {}, format=endpoint.format, **headers)


def assert_partner_isolation(*, owner, intruder, endpoints, ids: dict, snapshot=None) -> None:
    """``owner``/``intruder``: API clients authenticated as two partners; ``ids``: the owner's
    object ids for the URL placeholders; ``snapshot``: a callable returning a comparable view of
    the data an unsafe call could change."""
    before = snapshot() if snapshot else None
    failures = []
    for endpoint in endpoints:
        url = endpoint.render(ids)
        resolve(url.split("?")[0])  # raises Resolver404 for a URL that is not routed at all
        response = _call(intruder, endpoint, url)
        body = response.json() if response.get("Content-Type", "").startswith("application/json") else None
        if response.status_code != 404 or not body or body.get("code") != "not_found":
            failures.append(f"{endpoint.method} {url}: intruder got {response.status_code} {body}")
    if snapshot is not None:
        after = snapshot()
        assert after == before, f"an intruder's call changed data:\nbefore={before}\nafter={after}"
    for endpoint in endpoints:
        if endpoint.method.upper() == "GET":
            url = endpoint.render(ids)
            response = _call(owner, endpoint, url)
            if response.status_code != 200:
                failures.append(f"GET {url}: the owner got {response.status_code}, so the URL proves nothing")
    assert not failures, "partner scoping broken:\n" + "\n".join(failures)


def assert_lists_exclude(*, intruder, urls, foreign_ids, id_field: str = "id") -> None:
    """List endpoints show the intruder none of ``foreign_ids`` (paginated or plain lists)."""
    for url in urls:
        response = intruder.get(url)
        assert response.status_code == 200, f"GET {url}: {response.status_code}"
        data = response.json()
        rows = data["results"] if isinstance(data, dict) and "results" in data else data
        leaked = {row[id_field] for row in rows} & set(foreign_ids)
        assert not leaked, f"GET {url} shows another partner's objects: {sorted(leaked)}"


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def partner_object_routes() -> set[tuple[str, str]]:
    """(METHOD, route) of every partner-authenticated route that takes a path parameter."""
    found = set()
    for route, callback in _walk(get_resolver().url_patterns):
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        if view_class is None or "<" not in route:
            continue
        if PartnerKeyAuthentication not in list(getattr(view_class, "authentication_classes", ())):
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view_class, method):
                found.add((method.upper(), route))
    return found


def uncovered_routes(endpoints, ids: dict, *, route_prefix: str = "") -> set[tuple[str, str]]:
    """Partner object routes (optionally only those starting with ``route_prefix``) that no
    entry of ``endpoints`` exercises."""
    covered = {(e.method.upper(), resolve(e.render(ids).split("?")[0]).route) for e in endpoints}
    wanted = {(m, r) for m, r in partner_object_routes() if r.startswith(route_prefix)}
    return wanted - covered
