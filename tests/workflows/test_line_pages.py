"""Back office: the line page (figures, history, change requests, warnings), requesting a change
and deciding it with four-eyes, the approvals queue, the warnings queue (permission, confirm/lift)."""

from decimal import Decimal

import pytest

from servicing.models import CreditLine, CreditLineChange, LineWarning
from tests.factories import make_staff
from tests.workflows.line_factories import setup_lines

pytestmark = pytest.mark.django_db


def _client(client, user):
    client.force_login(user)
    return client


def test_the_line_page_shows_the_figures_with_separators(client):
    s = setup_lines(limit="123456.78", used="20000.00", held="3456.78")
    page = _client(client, s.officer).get(f"/servicing/lines/{s.line.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    for figure in ("123,456.78", "20,000.00", "3,456.78", "100,000.00"):
        assert figure in html
    assert s.line.applicant.id_number_masked in html and s.line.applicant.id_number not in html


def test_an_officer_requests_a_decrease_and_another_person_approves_it_on_the_page(client):
    s = setup_lines(limit="50000.00", used="10000.00")
    officer = _client(client, s.officer)
    response = officer.post(f"/servicing/lines/{s.line.pk}/changes/",
                            {"kind": "decrease", "new_limit": "30000.00", "reason": "Income fell"})
    assert response.status_code == 303
    change = CreditLineChange.objects.get()
    assert (change.status, change.requested_by) == ("requested", s.officer)
    html = officer.get(f"/servicing/lines/{s.line.pk}/").content.decode()
    assert "Waiting for approval" in html and f'id="decide-{change.pk}"' not in html  # four-eyes
    refused = officer.post(f"/servicing/lines/{s.line.pk}/changes/{change.pk}/", {"action": "approve"})
    assert refused.status_code == 422
    client.logout()
    approver = _client(client, s.approver)
    queue = approver.get("/servicing/lines/approvals/").content.decode()
    assert change.number in queue
    html = approver.get(f"/servicing/lines/{s.line.pk}/").content.decode()
    assert f'id="decide-{change.pk}"' in html
    response = approver.post(f"/servicing/lines/{s.line.pk}/changes/{change.pk}/",
                             {"action": "approve", "note": "Verified"})
    assert response.status_code == 303
    assert CreditLine.objects.get(pk=s.line.pk).limit == Decimal("30000.00")
    html = approver.get(f"/servicing/lines/{s.line.pk}/").content.decode()
    assert "50,000.00 → 30,000.00" in html and "Income fell" in html


def test_a_decrease_below_what_is_drawn_is_a_form_error_with_the_figures(client):
    s = setup_lines(limit="50000.00", used="40000.00")
    response = _client(client, s.officer).post(f"/servicing/lines/{s.line.pk}/changes/",
                                               {"kind": "decrease", "new_limit": "30000.00", "reason": "x"})
    assert response.status_code == 422
    assert "used 40,000.00 + held 0.00 = 40,000.00" in response.content.decode()
    assert CreditLineChange.objects.count() == 0


def test_another_branchs_line_is_404_and_the_pages_need_the_permission(client):
    from tests.factories import make_branch

    s = setup_lines()
    elsewhere = make_staff("elsewhere", make_branch("sz"))
    from tests.workflows.flow_factories import grant

    grant(elsewhere, "servicing.view_creditline")
    assert _client(client, elsewhere).get(f"/servicing/lines/{s.line.pk}/").status_code == 404
    client.logout()
    plain = make_staff("plain", s.branch)
    assert _client(client, plain).get(f"/servicing/lines/{s.line.pk}/").status_code == 403
    assert client.get("/servicing/warnings/").status_code == 403


def test_the_warnings_queue_confirms_and_lifts(client):
    s = setup_lines(status="frozen")
    warning = LineWarning.objects.create(credit_line=s.line, source="list_entry", action="freeze",
                                         rules=[{"code": "fraud_list", "description": "On the fraud list"}],
                                         business_date=s.line.valid_from)
    handler = _client(client, s.approver)
    html = handler.get("/servicing/warnings/").content.decode()
    assert "On the fraud list" in html and "Freeze the line" in html
    assert handler.post(f"/servicing/warnings/{warning.pk}/", {"action": "lift"}).status_code == 422  # no reason
    response = handler.post(f"/servicing/warnings/{warning.pk}/", {"action": "confirm", "note": "ok"})
    assert response.status_code == 303
    warning.refresh_from_db()
    assert (warning.status, warning.handled_by) == ("confirmed", s.approver)


def test_with_a_warnings_work_group_only_its_members_handle_warnings(client):
    from creditfactory.organisations import services as org_services
    from tests.workflows.flow_factories import grant

    s = setup_lines()
    outsider = grant(make_staff("outsider", s.branch), "servicing.handle_linewarning")
    org_services.work_group_create(code="warnings", name="Warnings", branch=s.branch, policy="claim",
                                   lead=s.approver, members=[s.approver])
    assert _client(client, outsider).get("/servicing/warnings/").status_code == 403
    client.logout()
    assert _client(client, s.approver).get("/servicing/warnings/").status_code == 200
