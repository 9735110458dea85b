"""The drawdown back office: a clerk enters a drawdown for a line (form errors name the field),
the drawdown page shows why this funder, the disbursement attempts and the history; the reviewer
approves through the review form (the clerk who entered it gets no form: four-eyes); staff cancel;
another branch's drawdown answers 404."""

from decimal import Decimal

import pytest
from django.test import Client

from servicing.models import CreditLine, Drawdown
from tests.factories import make_branch, make_staff
from tests.workflows.flow_factories import grant

from .drawdown_factories import line_api
from .test_drawdown_e2e import money, review_queue  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

PERMS = ("servicing.view_drawdown", "servicing.enter_drawdown", "servicing.cancel_drawdown",
         "servicing.review_drawdown", "servicing.view_creditline")


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def _enter(client, line, **overrides):
    data = {"amount": "60000.00", "term": "12", "repayment_method": "equal_installment", "purpose": "education",
            "bank_account": "6222021234567890128", **overrides}
    return client.post(f"/lending/drawdowns/new/{line.pk}/", data)


def test_enter_review_and_see_the_drawdown(money, django_capture_on_commit_callbacks):  # noqa: F811
    api = line_api(limit=Decimal("100000.00"))
    branch = api.line.branch
    clerk = grant(make_staff("clerk", branch), *PERMS)
    reviewer = grant(make_staff("reviewer", branch), *PERMS)
    review_queue(api, members=[reviewer, clerk])
    api.line.product_version.__class__.objects.filter(pk=api.line.product_version_id).update(
        drawdown_review_above=Decimal("50000.00"))
    clerk_client, reviewer_client = _client(clerk), _client(reviewer)

    refused = _enter(clerk_client, api.line, amount="150000.00")
    assert refused.status_code == 200 and "between 10,000.00 and 100,000.00" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        entered = _enter(clerk_client, api.line)
    drawdown = Drawdown.objects.get()
    assert entered.status_code == 302 and entered["Location"] == f"/lending/drawdowns/{drawdown.pk}/"
    assert (drawdown.status, drawdown.entered_by) == ("reviewing", clerk)

    page = clerk_client.get(f"/lending/drawdowns/{drawdown.pk}/").content.decode()
    assert ('<li>Rule “Large to the pair” matches.</li><li>Co-lent by PAIR3070.</li>'
            '<li>BANK lends 70% = 42,000.00.</li><li>COOP lends 30% = 18,000.00.</li>') in page
    assert "60,000.00" in page and 'id="review-form"' not in page  # four-eyes: not the clerk's to review
    page = reviewer_client.get(f"/lending/drawdowns/{drawdown.pk}/").content.decode()
    assert 'id="review-form"' in page
    with django_capture_on_commit_callbacks(execute=True):
        reviewer_client.post(f"/lending/drawdowns/{drawdown.pk}/review/", {"approve": "1"})
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.reviewed_by) == ("disbursed", reviewer)
    page = reviewer_client.get(f"/lending/drawdowns/{drawdown.pk}/").content.decode()
    assert "Callback" in page or "callback" in page
    assert CreditLine.objects.get(pk=api.line.pk).used == Decimal("60000.00")


def test_cancel_from_the_back_office_and_branch_scoping(money, django_capture_on_commit_callbacks):  # noqa: F811
    api = line_api(limit=Decimal("100000.00"))
    clerk = grant(make_staff("clerk", api.line.branch), *PERMS)
    stranger = grant(make_staff("stranger", make_branch("sz")), *PERMS)
    review_queue(api, members=[clerk])
    api.line.product_version.__class__.objects.filter(pk=api.line.product_version_id).update(
        drawdown_review_above=Decimal("50000.00"))
    with django_capture_on_commit_callbacks(execute=True):
        _enter(_client(clerk), api.line)
    drawdown = Drawdown.objects.get()
    assert _client(stranger).get(f"/lending/drawdowns/{drawdown.pk}/").status_code == 404
    assert _enter(_client(stranger), api.line).status_code == 404
    _client(clerk).post(f"/lending/drawdowns/{drawdown.pk}/cancel/", {"reason": "Borrower changed mind"})
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.line_hold) == ("cancelled", "released")
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
