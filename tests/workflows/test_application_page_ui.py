"""The application page as officers read it (issue 14): the reviewer's opinion and conditions
for the approver (A3), labels instead of codes (A4), money and times formatted (A5), what waits
while a signing task is open (A8), required fields marked and forms laid out (A8, A9)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from tests.workflows.factories import at, make_schedule, make_signing_group
from workflows.services import applications as services
from workflows.services.signing import signing_book

from .flow_factories import applicant_data, create_application, setup_origination

pytestmark = pytest.mark.django_db


def detail(application):
    return f"/origination/applications/{application.pk}/"


def _referred(o, capture, **fields):
    with capture(execute=True):
        application = create_application(o, sequence="991", **fields)
    application.refresh_from_db()
    return application


def _page(client, user, application):
    client.force_login(user)
    with translation.override("en"):
        response = client.get(detail(application))
    assert response.status_code == 200
    return response.content.decode()


def _section(html, element_id):
    start = html.index(f'id="{element_id}"')
    return html[start:start + 3000]


def test_the_approver_sees_the_reviewers_opinion_and_conditions_on_the_task(
        client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    services.application_approve(application=application, actor=o.reviewer, note="Stable income for 4 years.",
                                 conditions="Six months of payslips before disbursement.", request_approval=True)
    html = _page(client, o.approver, application)
    task = _section(html, "approval-review-opinion")
    assert "The reviewer&#x27;s opinion" in task or "The reviewer's opinion" in task
    assert "Stable income for 4 years." in task
    assert "Six months of payslips before disbursement." in task
    assert str(o.reviewer) in task
    opinions = _section(html, "opinions")
    assert "Manual review" in opinions and "Approved" in opinions and "asked for an approver" in opinions
    assert "Six months of payslips before disbursement." in opinions


def test_the_approve_form_takes_conditions_and_the_service_records_them(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    client.force_login(o.reviewer)
    response = client.post(f"{detail(application)}approve/", {"approve-note": "OK", "approve-conditions": "Guarantor",
                                                                "approve-request_approval": "on"})
    assert response.status_code == 303
    application.process.refresh_from_db()
    action = application.process.data["actions"][-1]
    assert (action["node"], action["action"], action["reason"], action["conditions"]) == (
        "review", "approve", "OK", "Guarantor")


def test_codes_are_shown_as_labels_and_money_and_times_formatted(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks, amount=Decimal("23456.70"))
    html = _page(client, o.reviewer, application)
    assert '<dd id="amount">23,456.70</dd>' in html
    assert "<td>Draft</td><td>Submitted</td>" in html
    assert "<td>draft</td>" not in html and "<td>submitted</td>" not in html
    reasons = _section(html, "decision-reasons")
    assert "Refer to manual review" in reasons and "<td>refer</td>" not in reasons
    assert '<dd id="decision-rate">annual 8.00 %</dd>' in html
    assert timezone.localtime(application.created_at).strftime("%Y-%m-%d %H:%M") in html
    client.force_login(o.reviewer)
    with translation.override("en"):
        revealed = client.post(f"{detail(application)}reveal/", {"reveal-field": "id_number",
                                                                  "reveal-reason": "Phone check"}).content.decode()
    assert "(id_number)" not in revealed
    assert applicant_data("991")["id_number"] in _section(revealed, "revealed")


def test_required_fields_are_marked_and_check_boxes_sit_in_their_labels(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    html = _page(client, o.reviewer, application)
    reason = _section(html, "field-reject-reason")
    assert 'class="bo-required"' in reason[:reason.index("</label>")]
    customer = _section(html, "field-reject-customer_reason")
    assert "bo-required" not in customer[:customer.index("</label>")]
    request_approval = _section(html, "field-approve-request_approval")
    assert request_approval.index('<label class="bo-check"') < request_approval.index('type="checkbox"') \
        < request_approval.index("Ask for an approver")
    assert '<div class="bo-field bo-field--textarea" id="field-approve-note">' in html


def test_while_signing_is_open_the_page_says_so_and_links_the_booking(client, django_capture_on_commit_callbacks):
    o = setup_origination(signing=True)
    application = _referred(o, django_capture_on_commit_callbacks)
    services.application_approve(application=application, actor=o.reviewer)
    html = _page(client, o.reviewer, application)
    waiting = _section(html, "waiting-signing")
    assert "Waiting for remote signing." in waiting
    assert "No signing session is booked yet." in waiting
    assert f'href="/signing/appointments/book/?application={application.number}"' in waiting
    assert "Nothing waits for staff." not in html

    officer = o.reviewer
    schedule = make_schedule(work_group=make_signing_group(branch=o.branch, members=[officer]))
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    appointment = signing_book(application=application, slot_start=at(monday, 9), schedule=schedule, actor=officer,
                               channel="back_office")
    html = _page(client, o.reviewer, application)
    waiting = _section(html, "waiting-signing")
    assert f"{monday:%Y-%m-%d} 09:00 – 09:30" in waiting
    assert "Booked" in waiting
    assert f'href="/signing/appointments/{appointment.pk}/"' in waiting


def test_the_page_folds_its_sections_on_a_phone(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    html = _page(client, o.reviewer, application)
    assert html.count("bo-collapsible") >= 6
    assert 'id="task-panel" data-phone-open' in html
    assert 'matchMedia("(max-width: 600px)")' in html


def test_form_errors_name_choices_by_their_labels(client):
    o = setup_origination()
    client.force_login(o.clerk)
    with translation.override("en"):
        response = client.get("/origination/applications/new/")
    assert response.status_code == 200
    from django.core.exceptions import ValidationError

    with translation.override("en"), pytest.raises(ValidationError) as refused:
        create_application(o, repayment_method="bullet")
    message = refused.value.message_dict["repayment_method"][0]
    assert message == "Choose one of: Equal installment (等额本息), Equal principal (等额本金)."
    assert "equal_installment" not in message


def test_search_finds_applications_by_part_of_the_applicants_name(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    other = create_application(o, sequence="123", applicant=applicant_data("123", mobile="13900000002", name="李四"))
    client.force_login(o.reviewer)
    found = client.get("/origination/applications/", {"q": "张"}).content.decode()
    assert application.number in found and other.number not in found
    assert "张*" in found


def test_the_process_page_shows_the_application_not_a_model_dump(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks, amount=Decimal("23456.70"))
    client.force_login(o.reviewer)
    with translation.override("en"):
        html = client.get(f"/workflow/flows/creditapplication/{application.process_id}/").content.decode()
    panel = _section(html, "process-data")
    assert "23,456.70" in panel and f'href="/origination/applications/{application.pk}/"' in panel
    for raw in (">Artifact<", "Created at", "Updated at", "{&#x27;credit_report&#x27;", "Consents", "Device id"):
        assert raw not in panel, raw
    assert panel.count(">Status<") == 1


def test_the_sla_dashboard_names_steps_by_their_labels(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    _referred(o, django_capture_on_commit_callbacks)
    client.force_login(o.reviewer)
    with translation.override("en"):
        html = client.get("/origination/sla/").content.decode()
    summary = _section(html, "sla-summary")
    assert "Manual review" in summary and "<td>review</td>" not in summary


def test_the_risk_decision_page_shows_labels_and_formats(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    application = _referred(o, django_capture_on_commit_callbacks)
    decision = application.risk_decisions.get()
    client.force_login(o.reviewer)
    with translation.override("en"):
        html = client.get(f"/risk/decisions/{decision.pk}/").content.decode()
    assert '<dd id="rate">annual 8.00 %</dd>' in html
    assert '<dd id="limit">20,000.00</dd>' in html
    assert 'class="bo-span-all"' in html and 'class="bo-versions"' in html
    steps = _section(html, "steps")
    steps = steps[:steps.index("</table>")]
    assert ">passed<" not in steps and "Passed" in steps
    rules = _section(html, "rules")
    assert 'class="bo-table bo-table--wrap"' in html
    assert "=True" not in rules and "=False" not in rules
    sources = html[html.index('id="sources"'):]
    assert "{&#x27;" not in sources and "external=" not in sources
