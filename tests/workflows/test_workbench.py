"""The officer's workbench: list and search, the application page (404 across branches), the new
application form, action forms (422 on bad input, 303 on success), PII reveal with an audit row,
documents, and viewflow's inbox / queue / process pages for the credit flow."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.documents import png_bytes
from tests.factories import make_branch, make_staff
from workflows.models import ApplicationDocument, CreditApplication, PiiReveal

from .flow_factories import applicant_data, create_application, grant, setup_origination

pytestmark = pytest.mark.django_db

PNG = png_bytes()


@pytest.fixture
def o():
    return setup_origination()


@pytest.fixture
def referred(o, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    application.refresh_from_db()
    return application


@pytest.fixture
def reviewer_client(client, o):
    client.force_login(o.reviewer)
    return client


def detail(application):
    return f"/origination/applications/{application.pk}/"


def test_list_and_exact_search_by_number_id_number_and_mobile(reviewer_client, referred):
    html = reviewer_client.get("/origination/applications/").content.decode()
    assert referred.number in html
    assert applicant_data("991")["id_number"] not in html  # masked
    assert referred.applicant.id_number_masked in html
    for term in (referred.number, applicant_data("991")["id_number"], "+86 138-1234-5678",
                 referred.applicant.id_number_masked):
        found = reviewer_client.get("/origination/applications/", {"q": term}).content.decode()
        assert referred.number in found, term
    missing = reviewer_client.get("/origination/applications/", {"q": "13900000000"}).content.decode()
    assert referred.number not in missing and "No application matches." in missing


def test_an_officer_of_another_branch_gets_404(client, o, referred):
    elsewhere = grant(make_staff("bj", make_branch("bj", name="Beijing")))
    client.force_login(elsewhere)
    assert client.get(detail(referred)).status_code == 404
    assert client.post(f"{detail(referred)}approve/", {}).status_code == 404
    assert referred.number not in client.get("/origination/applications/").content.decode()
    assert referred.number not in client.get("/workflow/queue/").content.decode()
    assert client.get(f"/workflow/flows/creditapplication/{referred.process_id}/").status_code == 404
    assert client.get(f"/workflow/flows/creditapplication/{referred.process_id}/chart/").status_code == 404


def test_the_application_page_explains_the_decision_and_shows_the_flow(reviewer_client, referred):
    response = reviewer_client.get(detail(referred))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd id="status">In review</dd>' in html
    assert "THIN_FILE" in html and "SCORE_GRADE_REFER" in html
    assert f"/risk/decisions/{referred.risk_decisions.get().pk}/" in html
    assert f"/workflow/flows/creditapplication/{referred.process_id}/chart/" in html
    assert 'id="claim-form"' in html
    assert applicant_data("991")["mobile"] not in html
    chart = reviewer_client.get(f"/workflow/flows/creditapplication/{referred.process_id}/chart/")
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"


def test_new_application_form_422_then_303(client, o, django_capture_on_commit_callbacks):
    client.force_login(o.clerk)
    assert client.get("/origination/applications/new/").status_code == 200
    data = {"product": "EDUCATION", "branch": o.branch.pk, "amount": "20000.00", "term": "12",
            "repayment_method": "equal_installment", "purpose": "education",
            **{k: v for k, v in applicant_data("991").items()}, "id_number": "110105199005201234",
            "consent_credit_report": "on", "consent_personal_information": "on"}
    bad = client.post("/origination/applications/new/", data)
    assert bad.status_code == 422
    assert 'id="field-id_number"' in bad.content.decode() and "bo-field--error" in bad.content.decode()
    assert CreditApplication.objects.count() == 0

    data["id_number"] = applicant_data("991")["id_number"]
    data.pop("consent_personal_information")
    refused = client.post("/origination/applications/new/", data)
    assert refused.status_code == 422
    assert "The applicant must consent to: personal_information." in refused.content.decode()

    data["consent_personal_information"] = "on"
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/origination/applications/new/", data)
    application = CreditApplication.objects.get()
    assert created.status_code == 303 and created["Location"] == detail(application)
    assert (application.status, application.created_by, application.channel) == ("in_review", o.clerk, "back_office")


def test_action_forms_need_their_reason_and_redirect_on_success(reviewer_client, referred):
    refused = reviewer_client.post(f"{detail(referred)}reject/", {"reject-reason": ""})
    assert refused.status_code == 422
    assert 'id="field-reject-reason"' in refused.content.decode()
    returned = reviewer_client.post(f"{detail(referred)}return/", {"return-reason": ""})
    assert returned.status_code == 422
    referred.refresh_from_db()
    assert referred.status == "in_review"

    done = reviewer_client.post(f"{detail(referred)}return/", {"return-reason": "Payslips please",
                                                               "return-documents": ["income_proof"]})
    assert done.status_code == 303 and done["Location"] == detail(referred)
    referred.refresh_from_db()
    assert referred.status == "returned"

    upload = reviewer_client.post(f"{detail(referred)}documents/", {
        "document-kind": "income_proof", "document-file": SimpleUploadedFile("pay.png", PNG, "image/png"),
        "document-resume": "on"})
    assert upload.status_code == 303
    referred.refresh_from_db()
    assert referred.status == "in_review"
    document = ApplicationDocument.objects.get(application=referred)
    assert (document.kind, document.content_type, document.size, document.uploaded_by) == (
        "income_proof", "image/png", 72, referred.reviewed_by)
    download = reviewer_client.get(f"{detail(referred)}documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG

    approved = reviewer_client.post(f"{detail(referred)}approve/", {"approve-note": "fine"})
    assert approved.status_code == 303
    referred.refresh_from_db()
    assert referred.status == "contract"


def test_an_upload_that_is_not_a_pdf_or_image_is_refused(reviewer_client, referred):
    response = reviewer_client.post(f"{detail(referred)}documents/", {
        "document-kind": "other", "document-file": SimpleUploadedFile("x.png", b"MZ not an image", "image/png")})
    assert response.status_code == 422
    assert "Upload a PDF, JPEG or PNG file." in response.content.decode()
    assert ApplicationDocument.objects.count() == 0


def test_revealing_pii_needs_a_reason_and_is_logged(reviewer_client, client, o, referred):
    url = f"{detail(referred)}reveal/"
    no_reason = reviewer_client.post(url, {"reveal-field": "mobile", "reveal-reason": ""})
    assert no_reason.status_code == 422
    assert PiiReveal.objects.count() == 0
    shown = reviewer_client.post(url, {"reveal-field": "mobile", "reveal-reason": "Call to verify income"})
    assert shown.status_code == 200 and shown["Cache-Control"] == "no-store"
    assert "13812345678" in shown.content.decode()
    [log] = PiiReveal.objects.all()
    assert (log.user, log.application, log.field, log.reason) == (
        o.reviewer, referred, "mobile", "Call to verify income")

    no_permission = make_staff("viewer", o.branch)
    grant(no_permission, "workflows.view_creditapplication")
    client.force_login(no_permission)
    assert client.post(url, {"reveal-field": "mobile", "reveal-reason": "curious"}).status_code == 403
    assert PiiReveal.objects.count() == 1


def test_queue_claim_and_inbox(reviewer_client, o, referred):
    queue = reviewer_client.get("/workflow/queue/")
    assert queue.status_code == 200 and referred.number in queue.content.decode()
    claimed = reviewer_client.post(f"{detail(referred)}claim/")
    assert claimed.status_code == 303
    inbox = reviewer_client.get("/workflow/inbox/").content.decode()
    assert referred.number in inbox
    assert referred.number not in reviewer_client.get("/workflow/queue/").content.decode()
    page = reviewer_client.get(detail(referred)).content.decode()
    assert f'<dd id="task-owner">{o.reviewer}</dd>' in page
    # viewflow's own task link opens the workbench
    task = referred.process.task_set.get(flow_task_type="HUMAN")
    execute = reviewer_client.get(f"/workflow/flows/creditapplication/{referred.process_id}/review/{task.pk}/execute/")
    assert execute.status_code == 302 and execute["Location"] == detail(referred)


def test_a_claimed_task_cannot_be_decided_by_someone_else(client, o, referred):
    from creditfactory.organisations import services as org_services

    other = grant(make_staff("rev2", o.branch))
    org_services.work_group_add_member(work_group=o.review_group, user=other)
    client.force_login(o.reviewer)
    client.post(f"{detail(referred)}claim/")
    client.force_login(other)
    response = client.post(f"{detail(referred)}approve/", {"approve-note": ""})
    assert response.status_code == 403
    referred.refresh_from_db()
    assert referred.status == "in_review"
    assert Decimal(referred.amount) == Decimal("20000.00")


def test_the_flow_pages_of_viewflow_are_served_and_scoped(reviewer_client, referred):
    base = "/workflow/flows/creditapplication/"
    assert reviewer_client.get("/workflow/archive/").status_code == 200
    listing = reviewer_client.get(base, follow=True)
    assert listing.status_code == 200 and f"{base}{referred.process_id}/" in listing.content.decode()
    process = reviewer_client.get(f"{base}{referred.process_id}/")
    assert process.status_code == 200 and "Manual review" in process.content.decode()
    job = referred.process.task_set.get(flow_task_type="JOB")
    assert reviewer_client.get(f"{base}{referred.process_id}/assess/{job.pk}/detail/").status_code == 200
    assert reviewer_client.get("/origination/sla/").status_code == 200


def test_the_list_does_not_query_per_application(reviewer_client, o, referred, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert reviewer_client.get("/origination/applications/").status_code == 200
        return len(captured)

    queries()  # the first request of the day also writes the business date row (servicing)
    one = queries()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            create_application(o, sequence="991")
    assert CreditApplication.objects.count() == 3
    assert queries() == one


def test_the_task_history_leaves_out_the_disarmed_error_boundary(reviewer_client, referred):
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    # The job's "Assessment failed" boundary was armed and, the job succeeding, disarmed.
    assert Task.objects.filter(process_id=referred.process_id, flow_task_type="EVENT",
                               status=STATUS.CANCELED).count() == 1
    html = reviewer_client.get(detail(referred)).content.decode()
    rows = html.split('id="tasks"', 1)[1].split("</table>", 1)[0]
    assert "Risk assessment" in rows and "Manual review" in rows
    assert "Assessment failed" not in rows
