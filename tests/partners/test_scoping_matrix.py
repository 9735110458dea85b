"""Partner scoping over the partner-platform endpoints, with the reusable matrix."""

import pytest

from creditfactory.partners.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from creditfactory.partners.services import webhooks
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.partners.scoping_matrix import (
    ScopedEndpoint,
    assert_lists_exclude,
    assert_partner_isolation,
    partner_object_routes,
    uncovered_routes,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ScopedEndpoint("GET", "/api/v1/webhooks/{webhook}"),
    ScopedEndpoint("POST", "/api/v1/webhooks/{webhook}/ping"),
    ScopedEndpoint("DELETE", "/api/v1/webhooks/{webhook}"),
]


@pytest.fixture
def two_partners():
    a, b = make_partner("ALPHA"), make_partner("BETA")
    endpoint, _secret = webhooks.webhook_endpoint_create(partner=a, url="https://a.example.cn/h",
                                                         events=["line.granted"])
    return (a, partner_client(issue_key(a))), (b, partner_client(issue_key(b))), endpoint


def _endpoints_state():
    endpoints = list(WebhookEndpoint.objects.order_by("pk").values_list("pk", "partner__code", "is_active",
                                                                         "deleted_at"))
    return endpoints, WebhookEvent.objects.count(), WebhookDelivery.objects.count()


def test_another_partners_objects_answer_404_and_stay_unchanged(two_partners):
    (_a, owner), (_b, intruder), endpoint = two_partners
    assert_partner_isolation(owner=owner, intruder=intruder, endpoints=ENDPOINTS, ids={"webhook": endpoint.pk},
                             snapshot=_endpoints_state)


def test_lists_show_only_the_callers_objects(two_partners):
    (_a, owner), (b, intruder), endpoint = two_partners
    webhooks.webhook_endpoint_create(partner=b, url="https://b.example.cn/h", events=["line.granted"])
    assert_lists_exclude(intruder=intruder, urls=["/api/v1/webhooks"], foreign_ids=[endpoint.pk])
    assert [row["id"] for row in owner.get("/api/v1/webhooks").json()["results"]] == [endpoint.pk]


def test_ids_that_do_not_exist_answer_the_same_404(two_partners):
    (_a, owner), _b, _endpoint = two_partners
    missing = owner.get("/api/v1/webhooks/999999")
    assert missing.status_code == 404
    assert missing.json() == {"code": "not_found", "message": "Not found.", "errors": {}}


def test_the_matrix_covers_every_partner_platform_object_route(two_partners):
    _a, _b, endpoint = two_partners
    assert ("GET", "api/v1/webhooks/<int:pk>") in partner_object_routes()
    assert uncovered_routes(ENDPOINTS, {"webhook": endpoint.pk}, route_prefix="api/v1/webhooks") == set()


def test_the_matrix_catches_a_leak(two_partners):
    """The helper itself: an endpoint that answers the intruder is reported."""
    (_a, owner), (_b, intruder), endpoint = two_partners
    with pytest.raises(AssertionError, match="intruder got 200"):
        assert_partner_isolation(owner=owner, intruder=owner, endpoints=ENDPOINTS[:1], ids={"webhook": endpoint.pk})
    with pytest.raises(AssertionError, match="the owner got 404"):
        assert_partner_isolation(owner=intruder, intruder=intruder, endpoints=ENDPOINTS[:1],
                                 ids={"webhook": endpoint.pk})
