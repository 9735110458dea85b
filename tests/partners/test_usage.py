"""Usage statistics (使用情况): calls per partner, endpoint pattern, method, status and day."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from creditfactory.partners.models import ApiUsage
from creditfactory.partners.services.usage import usage_record
from tests.partners.factories import CONCURRENT_DB, issue_key, make_partner, partner_client, signed_headers  # noqa: E501


def rows():
    return sorted(
        ApiUsage.objects.values_list("partner__code", "endpoint", "method", "status_code", "count")
    )


@pytest.mark.django_db
def test_calls_are_counted_per_partner_endpoint_method_and_status():
    acme, other = make_partner("ACME"), make_partner("OTHER", throttle_rate="1/min")
    signer = make_partner("SIGNER", require_signature=True)
    acme_client, other_client = partner_client(issue_key(acme)), partner_client(issue_key(other))
    signer_client = partner_client(issue_key(signer))

    acme_client.get("/api/v1/partner")
    acme_client.get("/api/v1/partner")
    acme_client.get("/api/v1/webhooks/41")
    acme_client.get("/api/v1/webhooks/42")
    acme_client.post("/api/v1/webhooks", {"url": "https://a.example.cn/h", "events": []}, format="json")
    other_client.get("/api/v1/partner")
    other_client.get("/api/v1/partner")  # over its 1/min
    signer_client.get("/api/v1/partner")  # unsigned
    signer_client.get("/api/v1/partner", **signed_headers(signer.signing_secret, "GET", "/api/v1/partner"))
    # Not attributable to a partner: not counted.
    APIClient().get("/api/v1/partner")
    partner_client("cfk_" + "x" * 43).get("/api/v1/partner")

    assert rows() == [
        ("ACME", "api/v1/partner", "GET", 200, 2),
        ("ACME", "api/v1/webhooks", "POST", 400, 1),
        ("ACME", "api/v1/webhooks/<int:pk>", "GET", 404, 2),
        ("OTHER", "api/v1/partner", "GET", 200, 1),
        ("OTHER", "api/v1/partner", "GET", 429, 1),
        ("SIGNER", "api/v1/partner", "GET", 200, 1),
        ("SIGNER", "api/v1/partner", "GET", 401, 1),
    ]
    assert set(ApiUsage.objects.values_list("day", flat=True)) == {timezone.localdate()}


@pytest.mark.django_db
def test_days_are_separate_buckets():
    partner = make_partner()
    for day in (datetime.date(2026, 3, 1), datetime.date(2026, 3, 1), datetime.date(2026, 3, 2)):
        usage_record(partner_id=partner.pk, endpoint="api/v1/partner", method="get", status_code=200, day=day)
    assert sorted(ApiUsage.objects.values_list("day", "method", "count")) == [
        (datetime.date(2026, 3, 1), "GET", 2), (datetime.date(2026, 3, 2), "GET", 1)]


@CONCURRENT_DB
def test_concurrent_increments_are_not_lost():
    partner = make_partner()
    threads, calls, barrier = 8, 25, threading.Barrier(8)

    def hammer():
        try:
            barrier.wait(10)
            for _ in range(calls):
                usage_record(partner_id=partner.pk, endpoint="api/v1/partner", method="GET", status_code=200)
        finally:
            connection.close()

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert list(ApiUsage.objects.values_list("count", flat=True)) == [threads * calls]


@pytest.mark.django_db
def test_the_admin_shows_filtered_totals(admin_client):
    acme, other = make_partner("ACME"), make_partner("OTHER")
    day = datetime.date(2026, 3, 1)
    for partner, status, count in ((acme, 200, 7), (acme, 404, 2), (acme, 500, 1), (other, 200, 5)):
        usage_record(partner_id=partner.pk, endpoint="api/v1/partner", method="GET", status_code=status, day=day,
                     count=count)

    everything = admin_client.get("/admin/partners/apiusage/")
    assert everything.context["usage_totals"] == {"total": 15, "2xx": 12, "3xx": 0, "4xx": 2, "5xx": 1}
    assert "15 calls — 2xx 12 · 4xx 2 · 5xx 1" in everything.content.decode()
    only_acme = admin_client.get(f"/admin/partners/apiusage/?partner__id__exact={acme.pk}")
    assert only_acme.context["usage_totals"] == {"total": 10, "2xx": 7, "3xx": 0, "4xx": 2, "5xx": 1}
    client_errors = admin_client.get("/admin/partners/apiusage/?status_code=404")
    assert client_errors.context["usage_totals"]["total"] == 2
