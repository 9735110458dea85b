"""Usage statistics (使用情况): API calls per partner and day, endpoint and status; staff active per
day; tasks handled per work group and officer; webhook deliveries per partner — exact counts of a
constructed fortnight, and the page."""

import datetime

import pytest
from django.utils import timezone

from creditfactory.organisations.roles import role_group
from creditfactory.partners.models import ApiUsage, WebhookDelivery, WebhookEndpoint, WebhookEvent
from tests.factories import make_staff
from tests.partners.factories import make_partner
from workflows.selectors.usage import usage_figures
from workflows.services import applications as services

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


@pytest.fixture
def fortnight(django_capture_on_commit_callbacks):
    """Today: the reviewer sends one application to approval (a review task done in the review
    group). API calls: ACME 3 + 1 (a 422) today and 5 yesterday, BETA 2 today; webhooks: ACME one
    delivered and one given up, BETA one pending."""
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    with django_capture_on_commit_callbacks(execute=True):
        services.application_approve(application=application, actor=o.reviewer)
    today = timezone.localdate()
    acme, beta = make_partner("ACME", branch=o.branch, name="ACME"), make_partner("BETA", branch=o.branch, name="BETA")
    for partner, day, endpoint, status, count in (
            (acme, today, "/api/v1/applications", 201, 3), (acme, today, "/api/v1/applications", 422, 1),
            (acme, today - datetime.timedelta(days=1), "/api/v1/loans/{id}", 200, 5),
            (beta, today, "/api/v1/applications", 201, 2),
            (acme, today - datetime.timedelta(days=20), "/api/v1/applications", 201, 7)):  # before the range
        ApiUsage.objects.create(partner=partner, day=day, endpoint=endpoint, method="POST", status_code=status,
                                count=count)
    for partner, statuses in ((acme, ("succeeded", "failed")), (beta, ("pending",))):
        endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://example.com/hook", events=[])
        for status in statuses:
            event = WebhookEvent.objects.create(partner=partner, event="loan.paid_off", payload={})
            WebhookDelivery.objects.create(event=event, endpoint=endpoint, status=status)
    manager = make_staff("boss", o.branch)
    manager.groups.add(role_group("manager"))
    return o, today, manager


def test_usage_figures(fortnight):
    o, today, _manager = fortnight
    figures = usage_figures(start=today - datetime.timedelta(days=13), end=today)
    assert len(figures["days"]) == 14 and figures["api_total"] == 11
    series = dict(figures["api_series"])
    assert (series["ACME"][-1], series["ACME"][-2], sum(series["ACME"]), series["BETA"][-1]) == (4, 5, 9, 2)
    assert [(r["partner__name"], r["endpoint"], r["calls"], r["errors"]) for r in figures["api_by_endpoint"]] == [
        ("ACME", "/api/v1/applications", 4, 1), ("ACME", "/api/v1/loans/{id}", 5, None),
        ("BETA", "/api/v1/applications", 2, None)]
    assert [(r["status_code"], r["calls"]) for r in figures["api_by_status"]] == [(200, 5), (201, 5), (422, 1)]
    assert figures["tasks_by_group"] == [("Review", 1)]
    assert [(r["owner__username"], r["n"]) for r in figures["tasks_by_officer"]] == [
        (o.clerk.username, 1), (o.reviewer.username, 1)]  # the clerk's start of the flow, the review
    # the clerk (submitting) and the reviewer (approving) changed an application's state today
    assert figures["active_staff"][-1] == 2 and sum(figures["active_staff"]) == 2
    assert [(r["endpoint__partner__name"], r["delivered"], r["failed"], r["pending"]) for r in figures["webhooks"]] == [
        ("ACME", 1, 1, 0), ("BETA", 0, 0, 1)]


def test_the_page(client, fortnight):
    _o, _today, manager = fortnight
    client.force_login(manager)
    response = client.get("/dashboard/usage/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd id="api-total">11</dd>' in html and html.count("<svg") == 3
    assert client.get("/dashboard/usage/", {"end": "2026-02-30"}).status_code == 400


def test_the_page_needs_the_managers_permission(client, fortnight):
    o, _today, _manager = fortnight
    client.force_login(o.reviewer)
    assert client.get("/dashboard/usage/").status_code == 403

