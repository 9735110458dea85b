"""Partner API of origination: create (201, consents, product rights, nested field errors), read
(decision with customer-facing reasons only, masked applicant), list (filters, pagination, a
constant number of queries), withdraw, documents, and the 409s of a state that does not allow
the call. Eager Celery: the assessment runs when the request's transaction commits."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from risk.models import Applicant
from tests.factories import make_product
from workflows.models import ApplicationDocument, CreditApplication
from workflows.services import applications as services

from .api_factories import PDF, PNG, URL, another_partner, api_setup, body

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return api_setup()


@pytest.fixture
def submit(api, django_capture_on_commit_callbacks):
    """POST an application; the assessment job runs (eagerly) on commit."""

    def run(payload=None, client=None, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            response = (client or api.client).post(URL, payload or body(), format="json", **headers)
        return response

    return run


def get(api, application_id):
    return api.client.get(f"{URL}/{application_id}")


def events(partner):
    return list(WebhookEvent.objects.filter(partner=partner).order_by("id").values_list("event", flat=True))


# --- create ----------------------------------------------------------------------------------------


def test_create_answers_201_with_the_application_before_its_decision(api):
    response = api.client.post(URL, body(external_reference="ACME-1"), format="json")
    assert response.status_code == 201
    data = response.json()
    application = CreditApplication.objects.get()
    assert response["Location"] == f"/api/v1/applications/{application.pk}"
    assert (data["id"], data["number"], data["status"], data["decision"], data["current_node"]) == (
        application.pk, application.number, "submitted", None, "assess")
    assert (data["product"], data["amount"], data["term"], data["term_unit"], data["repayment_method"],
            data["purpose"], data["external_reference"]) == (
        "EDUCATION", "20000.00", 12, "months", "equal_installment", "education", "ACME-1")
    assert (data["applicant"]["id_number_masked"], data["applicant"]["mobile_masked"]) == (
        "110105********1236", "138****5678")
    assert "110105199005201236" not in response.content.decode()
    assert "13812345678" not in response.content.decode()
    assert (data["documents"], data["documents_requested"], data["signing"], data["credit_line"]) == ([], [], None,
                                                                                                         None)
    assert (application.channel, application.partner, application.branch, application.created_by) == (
        "api", api.partner, api.partner.branch, None)
    assert application.consents == {"credit_report": True, "personal_information": True}
    assert [(t.to_state, t.actor_label) for t in transitions_for(application).filter(field="status")] == [
        ("submitted", "partner:ACME")]
    assert events(api.partner) == ["application.created"]


def test_a_referred_application_shows_the_decision_with_customer_reasons_only(api, submit):
    created = submit(body("991"))  # sandbox: thin file → THIN_FILE refers
    response = get(api, created.json()["id"])
    data = response.json()
    assert (data["status"], data["current_node"]) == ("in_review", "review")
    decision = data["decision"]
    assert (decision["outcome"], decision["grade"], decision["limit"], decision["rate_percent"],
            decision["rate_basis"], decision["reasons"]) == (
        "refer", "D", "20000.00", "8.000000", "annual",
        ["Manual review needed", "Your application will be reviewed by our staff."])
    content = response.content.decode()
    for internal in ("THIN_FILE", "bureau", "score", "expression"):
        assert internal not in content
    assert events(api.partner) == ["application.created", "application.decided"]


def test_a_rejected_application_shows_its_customer_reason_in_the_request_language(api, submit):
    application_id = submit(body("981")).json()["id"]  # sandbox: delinquent → reject
    data = get(api, application_id).json()
    assert (data["status"], data["current_node"], data["decision"]["outcome"], data["decision"]["reasons"]) == (
        "rejected", "", "reject", ["Credit record does not qualify"])
    chinese = api.client.get(f"{URL}/{application_id}", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert chinese["decision"]["reasons"] == ["征信记录不符合要求"]
    assert events(api.partner) == ["application.created", "application.decided", "application.rejected"]


def test_missing_consents_answer_400_naming_each_consent_and_create_nothing(api):
    payload = body()
    del payload["consents"]
    response = api.client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "The request has invalid fields.", "errors": {
        "consents.credit_report": ["The applicant must give this consent (true)."],
        "consents.personal_information": ["The applicant must give this consent (true)."]}}

    response = api.client.post(URL, body(consents={"credit_report": False, "personal_information": True}),
                               format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"consents.credit_report": ["The applicant must give this consent (true)."]}
    assert (CreditApplication.objects.count(), Applicant.objects.count(), WebhookEvent.objects.count()) == (0, 0, 0)


def test_a_product_the_partner_may_not_sell_answers_400_on_product(api):
    make_product("CASH")
    response = api.client.post(URL, body(product="CASH"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"product": ["Product CASH is not open to this partner."]}
    response = api.client.post(URL, body(product="NOPE"), format="json")
    assert response.json()["errors"] == {"product": ["Unknown product NOPE."]}
    assert CreditApplication.objects.count() == 0


def test_nested_applicant_errors_are_named_by_their_path(api):
    payload = body()
    payload["applicant"].update(id_number="110105199005201237", mobile="12345")
    del payload["applicant"]["address"]
    response = api.client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["applicant.address", "applicant.id_number", "applicant.mobile"]
    assert response.json()["errors"]["applicant.address"] == ["This field is required."]
    assert CreditApplication.objects.count() == 0


def test_the_products_limits_are_checked_by_field(api):
    response = api.client.post(URL, body(amount="5000.00", term=48, purpose="travel"), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "amount": ["The amount must be between 10000.00 and 100000.00."],
        "term": ["The term must be between 6 and 36."],
        "purpose": ["Choose one of: Education."],
    }
    assert CreditApplication.objects.count() == 0


def test_an_external_reference_is_unique_per_partner(api):
    assert api.client.post(URL, body(external_reference="R-1"), format="json").status_code == 201
    again = api.client.post(URL, body(external_reference="R-1"), format="json")
    assert again.status_code == 400
    assert again.json()["errors"] == {"external_reference": ["An application with this reference exists already."]}
    _other, other_client = another_partner(api)
    assert other_client.post(URL, body(external_reference="R-1"), format="json").status_code == 201
    assert CreditApplication.objects.count() == 2


def test_a_business_loan_needs_the_enterprise():
    api_business = api_setup("SME", partner_code="BIZ", product_type="small_business", purposes=["working_capital"],
                             amount_min=Decimal("100000.00"), amount_max=Decimal("500000.00"))
    payload = body(product="SME", amount="200000.00", purpose="working_capital")
    response = api_business.client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"enterprise": ["A business loan needs the enterprise's details."]}
    payload["enterprise"] = {"name": "示例商贸有限公司", "credit_code": "91350100M000100Y43", "years_in_business": 5,
                             "annual_revenue": "3000000.00"}
    response = api_business.client.post(URL, payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["enterprise"]["credit_code"] == "91350100M000100Y43"
    payload["enterprise"]["credit_code"] = "91350100M000100Y44"
    payload["external_reference"] = "x"
    response = api_business.client.post(URL, payload, format="json")
    assert list(response.json()["errors"]) == ["enterprise.credit_code"]


# --- read and list ---------------------------------------------------------------------------------


def test_list_filters_by_status_product_dates_and_reference(api, submit):
    refer = submit(body("991", external_reference="A")).json()["id"]
    reject = submit(body("981", external_reference="B")).json()["id"]
    approve = submit(body("123", external_reference="C")).json()["id"]

    def ids(**query):
        response = api.client.get(URL, query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [approve, reject, refer]  # newest first
    assert ids(status="rejected") == [reject]
    assert ids(status="in_review") == [approve, refer]  # without straight-through both wait for review
    assert ids(external_reference="A") == [refer]
    assert ids(product="EDUCATION") == [approve, reject, refer]
    assert ids(product="CASH") == []
    today = CreditApplication.objects.get(pk=refer).created_at.astimezone().date().isoformat()
    assert ids(created_from=today, created_to=today) == [approve, reject, refer]
    assert ids(created_to="2000-01-01") == []
    page = api.client.get(URL, {"limit": 2, "offset": 1}).json()
    assert (page["count"], [row["id"] for row in page["results"]]) == (3, [reject, refer])


def test_list_parameters_are_validated_by_name(api):
    response = api.client.get(URL, {"status": "lost", "created_from": "yesterday", "limit": 0})
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["created_from", "limit", "status"]
    response = api.client.get(URL, {"created_from": "2026-02-01", "created_to": "2026-01-01"})
    assert response.json()["errors"] == {"created_to": ["The end date is before the start date."]}


def test_the_list_runs_a_constant_number_of_queries(api, submit):
    submit(body("991"))

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = api.client.get(URL)
        assert response.status_code == 200
        return len(queries), len(response.json()["results"])

    one = count()
    for sequence in ("981", "123", "992"):
        submit(body(sequence))
    four = count()
    # Key lookup, page count, page, one query each for decisions, waiting tasks, signing
    # appointments and documents, and the usage counter (3, in its savepoint) — whatever the page holds.
    assert one == (10, 1)
    assert four == (10, 4)


# --- withdraw --------------------------------------------------------------------------------------


def test_withdraw_cancels_the_flow_and_then_conflicts(api, submit):
    application_id = submit(body("991")).json()["id"]
    missing = api.client.post(f"{URL}/{application_id}/withdraw", {}, format="json")
    assert (missing.status_code, missing.json()["errors"]) == (400, {"reason": ["This field is required."]})

    response = api.client.post(f"{URL}/{application_id}/withdraw", {"reason": "found cheaper credit"}, format="json")
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["current_node"]) == ("withdrawn", "")
    again = api.client.post(f"{URL}/{application_id}/withdraw", {"reason": "twice"}, format="json")
    assert again.status_code == 409
    assert again.json() == {"code": "conflict", "message": "The application's state does not allow this now.",
                            "errors": {"status": [f"Application {response.json()['number']} is withdrawn and can "
                                                  "no longer be withdrawn."]}}
    assert events(api.partner)[-1] == "application.withdrawn"


def test_a_locked_application_answers_409_busy(api, submit, monkeypatch):
    application_id = submit(body("991")).json()["id"]

    def locked(**kwargs):
        raise FlowLockFailed("Lock failed")

    monkeypatch.setattr(services, "application_withdraw", locked)
    response = api.client.post(f"{URL}/{application_id}/withdraw", {"reason": "x"}, format="json")
    assert response.status_code == 409
    assert response.json() == {"code": "application_busy", "errors": {},
                               "message": "Another request is moving this application right now; retry shortly."}
    assert CreditApplication.objects.get().status == "in_review"


# --- documents -------------------------------------------------------------------------------------


def upload(api, application_id, content=PNG, name="proof.png", **fields):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"file": SimpleUploadedFile(name, content), **fields}
    return api.client.post(f"{URL}/{application_id}/documents", data, format="multipart")


def test_a_document_upload_answers_201_with_the_document(api, submit):
    application_id = submit(body("991")).json()["id"]
    response = upload(api, application_id, kind="income_proof", note="payslip")
    assert response.status_code == 201
    data = response.json()
    document = ApplicationDocument.objects.get()
    assert (data["document"]["id"], data["document"]["kind"], data["document"]["content_type"],
            data["document"]["size"], data["document"]["note"]) == (document.pk, "income_proof", "image/png", 72,
                                                                     "payslip")
    assert [d["id"] for d in data["application"]["documents"]] == [document.pk]
    assert document.uploaded_by_label == "partner:ACME"


@pytest.mark.parametrize(("content", "name", "fields", "error"), [
    (b"GIF89a....", "x.gif", {}, {"file": ["Upload a PDF, JPEG or PNG file."]}),
    (PNG, "x.png", {"kind": "selfie"}, {"kind": ['"selfie" is not a valid choice.']}),
    (b"", "x.png", {}, {"file": ["The submitted file is empty."]}),
])
def test_a_bad_document_is_refused_by_field(api, submit, content, name, fields, error):
    application_id = submit(body("991")).json()["id"]
    response = upload(api, application_id, content, name, **fields)
    assert (response.status_code, response.json()["errors"]) == (400, error)
    assert ApplicationDocument.objects.count() == 0


def test_a_document_over_the_size_limit_is_refused(api, submit, settings):
    application_id = submit(body("991")).json()["id"]
    settings.WORKFLOW_DOCUMENT_MAX_BYTES = 1024 * 1024
    response = upload(api, application_id, PDF + b"0" * (1024 * 1024))
    assert (response.status_code, response.json()["errors"]) == (400, {"file": ["The file is larger than 1 MB."]})
    assert ApplicationDocument.objects.count() == 0


def test_json_is_not_accepted_for_documents(api, submit):
    application_id = submit(body("991")).json()["id"]
    response = api.client.post(f"{URL}/{application_id}/documents", {"kind": "other"}, format="json")
    assert (response.status_code, response.json()["code"]) == (415, "unsupported_media_type")


def test_uploads_resume_a_returned_application_once_every_requested_kind_is_in(api, submit):
    application_id = submit(body("991")).json()["id"]
    application = CreditApplication.objects.get(pk=application_id)
    services.application_claim(application=application, actor=api.o.reviewer)
    services.application_return_for_documents(application=application, actor=api.o.reviewer,
                                              reason="Need income and bank proof",
                                              documents=["income_proof", "bank_statement"])
    data = get(api, application_id).json()
    assert (data["status"], data["current_node"], data["documents_requested"]) == (
        "returned", "await_documents", ["income_proof", "bank_statement"])

    first = upload(api, application_id, kind="income_proof").json()["application"]
    assert (first["status"], first["documents_requested"]) == ("returned", ["income_proof", "bank_statement"])
    held = upload(api, application_id, kind="bank_statement", resume="false").json()["application"]
    assert held["status"] == "returned"
    last = upload(api, application_id, kind="bank_statement").json()["application"]
    assert (last["status"], last["current_node"], last["documents_requested"]) == ("in_review", "review", [])
    assert events(api.partner)[-2:] == ["application.decided", "application.returned"]


def test_resume_true_sends_a_returned_application_back_at_once(api, submit):
    application_id = submit(body("991")).json()["id"]
    application = CreditApplication.objects.get(pk=application_id)
    services.application_claim(application=application, actor=api.o.reviewer)
    services.application_return_for_documents(application=application, actor=api.o.reviewer, reason="More",
                                              documents=["income_proof", "bank_statement"])
    resumed = upload(api, application_id, kind="other", resume="true").json()["application"]
    assert resumed["status"] == "in_review"
