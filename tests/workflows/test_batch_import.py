"""Batch entry (批量录入): a CSV or Excel file of applications uploaded in the back office, each row
created through ``application_create(channel="batch")`` in its own transaction by a chunked
Celery task; per-row errors with row number and field; the progress JSON; limits; the template
and rejected-rows downloads; branch scoping."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from creditfactory.core.models import StateTransition
from risk.models import Applicant
from tests.factories import make_branch, make_staff
from workflows.models import BatchImport, BatchImportRow, BatchStatus, CreditApplication
from workflows.services import batch as services
from workflows.services.batch_upload import batch_import_create
from workflows.tasks import batch_import_run

from .flow_factories import applicant_data, grant, setup_origination

pytestmark = pytest.mark.django_db

URL = "/origination/batch/"
HEADER = ("product", "amount", "term", "term_unit", "repayment_method", "purpose", "name", "id_number", "mobile",
          "monthly_income", "employment", "address", "employer_name", "years_at_employer", "external_reference")
OFFICER_PERMISSIONS = ("workflows.add_batchimport", "workflows.view_batchimport", "workflows.add_creditapplication",
                       "workflows.view_creditapplication")


def row(sequence: str = "123", *, mobile: str = "13812345678", **overrides) -> dict:
    person = applicant_data(sequence, mobile=mobile)
    values = {"product": "EDUCATION", "amount": "20000.00", "term": "12", "term_unit": "months",
              "repayment_method": "equal_installment", "purpose": "education", "name": person["name"],
              "id_number": person["id_number"], "mobile": mobile, "monthly_income": "10000.00",
              "employment": "employed", "address": person["address"], "employer_name": "示例科技有限公司",
              "years_at_employer": "4", "external_reference": f"REF-{sequence}"}
    values.update(overrides)
    return values


def csv_bytes(rows, header=HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for values in rows:
        writer.writerow([values.get(column, "") for column in header] if isinstance(values, dict) else values)
    return out.getvalue().encode()


def upload(client, content: bytes, name: str = "applications.csv", **data):
    form = {"file": SimpleUploadedFile(name, content), "consent_credit_report": "on",
            "consent_personal_information": "on", **data}
    return client.post(f"{URL}new/", form)


@pytest.fixture
def o():
    return setup_origination()


@pytest.fixture
def officer(o):
    return grant(make_staff("cm", o.branch), *OFFICER_PERMISSIONS)


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def imported(client, content, capture, **kwargs) -> BatchImport:
    with capture(execute=True):
        response = upload(client, content, **kwargs)
    assert response.status_code == 303, response.content.decode()[:2000]
    batch = BatchImport.objects.get()
    assert response["Location"] == f"{URL}{batch.pk}/"
    return batch


# --- happy paths -----------------------------------------------------------------------------------


def test_a_csv_file_becomes_applications_through_the_credit_flow(officer_client, officer, o,
                                                                 django_capture_on_commit_callbacks):
    rows = [row("123"), row("124", mobile="13900000001"), row("991", mobile="13900000002", amount="30000")]
    batch = imported(officer_client, csv_bytes(rows), django_capture_on_commit_callbacks)

    assert (batch.status, batch.total, batch.processed, batch.accepted, batch.rejected) == ("done", 3, 3, 3, 0)
    assert batch.branch == o.branch and batch.created_by == officer and batch.file_format == "csv"
    assert batch.content == ""  # the plain rows are not kept once imported
    applications = list(CreditApplication.objects.order_by("id"))
    assert len(applications) == 3
    assert {(a.channel, a.branch_id, a.created_by_id) for a in applications} == {("batch", o.branch.pk, officer.pk)}
    assert [a.amount for a in applications] == [Decimal("20000.00"), Decimal("20000.00"), Decimal("30000.00")]
    assert [a.external_reference for a in applications] == ["REF-123", "REF-124", "REF-991"]
    # The flow ran: the sandbox referred or approved each one; the product sends both to review.
    assert [a.status for a in applications] == ["in_review", "in_review", "in_review"]
    assert [a.consents for a in applications] == [{"credit_report": True, "personal_information": True}] * 3
    assert list(BatchImportRow.objects.filter(batch=batch).values_list("row", "application_id", "errors")) == [
        (2, applications[0].pk, []), (3, applications[1].pk, []), (4, applications[2].pk, [])]

    page = officer_client.get(f"{URL}{batch.pk}/").content.decode()
    assert 'id="no-rejected"' in page and "setTimeout(poll" not in page
    assert '<dd id="count-accepted">3</dd>' in page


def test_an_excel_file_with_numeric_cells_and_chinese_headers(officer_client, o,
                                                              django_capture_on_commit_callbacks):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["产品代码", "申请金额", "期限", "还款方式", "贷款用途", "姓名", "身份证号", "手机号", "月收入",
                  "就业状况", "地址", "工作年限"])
    first, second = applicant_data("123"), applicant_data("125")
    sheet.append(["EDUCATION", 20000, 12, "equal_installment", "education", "李四", first["id_number"],
                  13812345678, 9500.5, "employed", "上海市", 3.0])
    sheet.append([None] * 12)  # a blank line in the middle is skipped
    sheet.append(["EDUCATION", 45000.75, 24, "Equal_Principal", "education", "王五", second["id_number"],
                  "13912345678", 20000, "self_employed", "杭州市", None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    batch = imported(officer_client, buffer.getvalue(), django_capture_on_commit_callbacks, name="申请.xlsx")

    assert (batch.status, batch.file_format, batch.total, batch.accepted, batch.rejected) == ("done", "xlsx", 2, 2, 0)
    assert list(batch.rows.values_list("row", flat=True)) == [2, 4]  # sheet rows, the blank one skipped
    a, b = CreditApplication.objects.order_by("id")
    assert (a.amount, a.term, a.applicant.mobile, a.applicant.monthly_income, a.applicant.years_at_employer) == (
        Decimal("20000.00"), 12, "13812345678", Decimal("9500.50"), 3)
    assert (b.amount, b.term, b.repayment_method, b.applicant.employment) == (
        Decimal("45000.75"), 24, "equal_principal", "self_employed")


# --- per-row errors --------------------------------------------------------------------------------


def test_bad_rows_are_rejected_with_row_and_field_and_leave_nothing_behind(officer_client, o,
                                                                         django_capture_on_commit_callbacks):
    rows = [
        row("123"),                                              # line 2: fine
        row("130", mobile="12345"),                              # line 3: mobile
        row("131", mobile="13900000003", amount="500"),          # line 4: amount below the product's minimum
        row("132", mobile="13900000004", product="NOPE"),        # line 5: unknown product
        row("133", mobile="13900000005", years_at_employer="four"),  # line 6: fine for the service, not for us
        row("134", mobile="13900000006", term="99", name=""),    # line 7: two fields at once
        row("135", mobile="13900000007"),                        # line 8: fine
    ]
    transitions_before = list(StateTransition.objects.values_list("pk", flat=True))
    batch = imported(officer_client, csv_bytes(rows), django_capture_on_commit_callbacks)

    assert (batch.status, batch.total, batch.processed, batch.accepted, batch.rejected) == ("done", 7, 7, 2, 5)
    rejected = {r.row: r.errors for r in BatchImportRow.objects.filter(batch=batch, application__isnull=True)}
    assert rejected == {
        3: [{"field": "applicant.mobile", "message": "Enter a mainland mobile number: 11 digits starting with 13-19."}],
        4: [{"field": "amount", "message": "The amount must be between 10000.00 and 100000.00."}],
        5: [{"field": "product", "message": "Unknown product NOPE."}],
        6: [{"field": "applicant.years_at_employer", "message": "Enter a whole number of years."}],
        7: [{"field": "applicant.name", "message": "Required: the cell is empty."},
            {"field": "term", "message": "The term must be between 6 and 36."}],
    }
    # Nothing of a rejected row was written: no applicant, no application, no state change.
    accepted_ids = {applicant_data("123")["id_number"], applicant_data("135")["id_number"]}
    assert Applicant.objects.count() == 2
    assert {a.id_number for a in Applicant.objects.all()} == accepted_ids
    assert CreditApplication.objects.count() == 2
    written = StateTransition.objects.exclude(pk__in=transitions_before)
    assert {t.object_id for t in written} == {str(pk) for pk in CreditApplication.objects.values_list("pk", flat=True)}
    assert sorted(BatchImportRow.objects.filter(application__isnull=False).values_list("row", flat=True)) == [2, 8]

    page = officer_client.get(f"{URL}{batch.pk}/").content.decode()
    assert 'id="rejected-rows"' in page
    assert '<span class="bo-field-name">Applicant · Mobile</span>: Enter a mainland mobile number' in page
    assert "applicant.mobile" not in page
    assert applicant_data("130")["id_number"] not in page  # masked


def test_a_row_with_more_cells_than_the_header_is_rejected(officer_client, django_capture_on_commit_callbacks, o):
    good = row("123")
    shifted = [row("124", mobile="13900000001")[c] for c in HEADER[:11]] + ["北京市", "朝阳区", "x", "y", "z"]
    batch = imported(officer_client, csv_bytes([good, shifted]), django_capture_on_commit_callbacks)
    assert (batch.accepted, batch.rejected) == (1, 1)
    [record] = batch.rows.filter(application__isnull=True)
    assert record.row == 3 and record.errors[0]["field"] == "row"


def test_an_unexpected_error_in_one_row_does_not_stop_the_others(officer_client, o, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    real = services.application_create

    def flaky(**kwargs):
        if kwargs["external_reference"] == "REF-124":
            raise RuntimeError("boom")
        return real(**kwargs)

    monkeypatch.setattr(services, "application_create", flaky)
    rows = [row("123"), row("124", mobile="13900000001"), row("125", mobile="13900000002")]
    batch = imported(officer_client, csv_bytes(rows), django_capture_on_commit_callbacks)
    assert (batch.status, batch.accepted, batch.rejected) == ("done", 2, 1)
    [record] = batch.rows.filter(application__isnull=True)
    assert record.row == 3
    assert record.errors == [{"field": "", "message": "Unexpected error (RuntimeError): the row was not imported."}]


# --- processing: chunks, progress, idempotency -----------------------------------------------------


def test_progress_json_follows_the_rows(officer_client, o):
    rows = [row("123"), row("124", mobile="13900000001"), row("125", mobile="13900000002")]
    response = upload(officer_client, csv_bytes(rows))  # on_commit does not fire: the task is not run
    batch = BatchImport.objects.get()
    status_url = f"{URL}{batch.pk}/status/"
    assert officer_client.get(status_url).json() == {
        "id": batch.pk, "status": "pending", "status_label": "Waiting", "total": 3, "processed": 0, "accepted": 0,
        "rejected": 0, "percent": 0, "finished": False, "error": ""}
    page = officer_client.get(response["Location"]).content.decode()
    assert 'id="batch-progress" max="100" value="0"' in page and "setTimeout(poll" in page

    services.batch_import_process(batch_id=batch.pk, max_rows=1)
    progress = officer_client.get(status_url).json()
    assert (progress["status"], progress["processed"], progress["accepted"], progress["percent"],
            progress["finished"]) == ("running", 1, 1, 33, False)

    services.batch_import_process(batch_id=batch.pk)
    progress = officer_client.get(status_url).json()
    assert (progress["status"], progress["processed"], progress["accepted"], progress["percent"],
            progress["finished"]) == ("done", 3, 3, 100, True)


def test_the_task_works_in_chunks_and_a_second_delivery_imports_nothing(officer, o, settings,
                                                                        django_capture_on_commit_callbacks):
    settings.WORKFLOW_BATCH_CHUNK_SIZE = 2
    rows = [row(f"{140 + i}", mobile=f"1390000001{i}") for i in range(5)]
    batch = batch_import_create(actor=officer, branch=o.branch, filename="five.csv",
                                         content=csv_bytes(rows), consents=services.CONSENTS)

    # One chunk at a time: exactly two rows per call.
    services.batch_import_process(batch_id=batch.pk, max_rows=2)
    batch.refresh_from_db()
    assert (batch.status, batch.processed) == ("running", 2)

    with django_capture_on_commit_callbacks(execute=True):
        result = batch_import_run.delay(batch.pk).get()
    assert result == {"batch": batch.pk, "status": "done", "processed": 5, "accepted": 5, "rejected": 0}
    assert batch_import_run.delay(batch.pk).get()["processed"] == 5  # delivered again: nothing more
    assert services.batch_import_process(batch_id=batch.pk).accepted == 5
    assert CreditApplication.objects.count() == 5
    assert BatchImportRow.objects.count() == 5


# --- upload checks and limits ----------------------------------------------------------------------


def _refused(response, field_id: str, message: str):
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="{field_id}"' in html and message in html, html[:3000]
    assert BatchImport.objects.count() == 0


def test_a_file_larger_than_the_limit_is_refused(officer_client, settings):
    settings.WORKFLOW_BATCH_MAX_BYTES = 1024
    content = csv_bytes([row("123")] * 6)
    assert len(content) > 1024
    _refused(upload(officer_client, content), "field-file", "The file is larger than 1 KB; split it.")


def test_more_rows_than_the_limit_are_refused(officer_client, settings):
    settings.WORKFLOW_BATCH_MAX_ROWS = 2
    _refused(upload(officer_client, csv_bytes([row("123")] * 3)), "field-file",
             "The file has more than 2 rows; split it.")


def test_header_format_and_consent_problems_are_refused(officer_client):
    no_mobile = csv_bytes([row("123")], header=[c for c in HEADER if c != "mobile"] + ["colour"])
    _refused(upload(officer_client, no_mobile), "field-file",
             "The first line must name the columns (download the template): missing columns: mobile; "
             "unknown columns: colour.")
    _refused(upload(officer_client, csv_bytes([row("123")]), name="applications.txt"), "field-file",
             "Upload a .csv or .xlsx file.")
    _refused(upload(officer_client, b"not a workbook", name="applications.xlsx"), "field-file",
             "The file is not an Excel workbook (.xlsx).")
    _refused(upload(officer_client, csv_bytes([])), "field-file", "The file has no rows after the header.")
    response = officer_client.post(f"{URL}new/", {"file": SimpleUploadedFile("a.csv", csv_bytes([row("123")])),
                                                  "consent_credit_report": "on"})
    _refused(response, "field-consent_personal_information", "This field is required.")


def test_the_service_checks_branch_and_consents_too(officer, o):
    from django.core.exceptions import ValidationError

    elsewhere = make_branch("gz", name="Guangzhou")
    with pytest.raises(ValidationError) as caught:
        batch_import_create(actor=officer, branch=elsewhere, filename="a.csv", content=csv_bytes([row()]),
                                     consents={"credit_report": True})
    assert caught.value.message_dict == {
        "branch": ["Choose one of your branches."],
        "consents": ["Confirm that every applicant in the file consented to: personal_information."]}
    assert BatchImport.objects.count() == 0


# --- branch, permissions, scoping ------------------------------------------------------------------


def test_an_officer_of_several_branches_chooses_one(client, o, django_capture_on_commit_callbacks):
    second = make_branch("sz", name="Shenzhen")
    officer = grant(make_staff("cm2", o.branch, second), *OFFICER_PERMISSIONS)
    client.force_login(officer)
    assert 'name="branch"' in client.get(f"{URL}new/").content.decode()
    response = upload(client, csv_bytes([row("123")]))
    assert response.status_code == 422 and BatchImport.objects.count() == 0
    batch = imported(client, csv_bytes([row("123")]), django_capture_on_commit_callbacks, branch=second.pk)
    assert batch.branch == second
    assert CreditApplication.objects.get().branch == second


def test_one_branch_needs_no_choice(officer_client):
    assert 'name="branch"' not in officer_client.get(f"{URL}new/").content.decode()


def test_permissions_and_branch_scoping(client, officer_client, o, django_capture_on_commit_callbacks):
    batch = imported(officer_client, csv_bytes([row("123", mobile="12")]), django_capture_on_commit_callbacks)

    reader = grant(make_staff("viewer", o.branch), "workflows.view_batchimport")
    client.force_login(reader)
    assert client.get(f"{URL}{batch.pk}/").status_code == 200
    assert client.get(f"{URL}new/").status_code == 403
    assert upload(client, csv_bytes([row("123")])).status_code == 403

    elsewhere = grant(make_staff("bj", make_branch("bj", name="Beijing")), *OFFICER_PERMISSIONS)
    client.force_login(elsewhere)
    for url in (f"{URL}{batch.pk}/", f"{URL}{batch.pk}/status/", f"{URL}{batch.pk}/rejected.csv"):
        assert client.get(url).status_code == 404, url
    assert str(batch) not in client.get(URL).content.decode()
    assert BatchImport.objects.count() == 1


# --- downloads -------------------------------------------------------------------------------------


def test_the_template_lists_every_column(officer_client):
    response = officer_client.get(f"{URL}template.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="batch-import-template.csv"'
    text = response.content.decode("utf-8")
    assert text == "\ufeff" + ",".join(services.COLUMNS) + "\r\n"


def test_the_template_filled_in_imports(officer_client, o, django_capture_on_commit_callbacks):
    header = officer_client.get(f"{URL}template.csv").content.decode("utf-8-sig").strip().split(",")
    content = "\ufeff" + csv_bytes([row("123")], header=header).decode()
    batch = imported(officer_client, content.encode(), django_capture_on_commit_callbacks)
    assert (batch.accepted, batch.rejected) == (1, 0)


def test_the_rejected_rows_download(officer_client, o, django_capture_on_commit_callbacks):
    rows = [row("123"), row("130", mobile="12345", name="=HYPERLINK(\"x\")"),
            row("134", mobile="13900000006", term="99", amount="1")]
    batch = imported(officer_client, csv_bytes(rows), django_capture_on_commit_callbacks)
    response = officer_client.get(f"{URL}{batch.pk}/rejected.csv")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    id_130, id_134 = applicant_data("130")["id_number"], applicant_data("134")["id_number"]
    assert lines == [
        ["row", "external_reference", "name", "id_number", "mobile", "columns", "errors"],
        ["3", "REF-130", "'=HYPERLINK(\"x\")", f"{id_130[:6]}********{id_130[-4:]}", "***45",
         "mobile", "Applicant · Mobile: Enter a mainland mobile number: 11 digits starting with 13-19."],
        ["4", "REF-134", "张三", f"{id_134[:6]}********{id_134[-4:]}", "139****0006", "amount, term",
         "Amount: The amount must be between 10000.00 and 100000.00. | Term: The term must be between 6 and 36."],
    ]
    assert id_130 not in response.content.decode("utf-8-sig")
    assert BatchStatus.DONE == batch.status


def test_admin_shows_imports_read_only(admin_client, officer_client, o, django_capture_on_commit_callbacks):
    batch = imported(officer_client, csv_bytes([row("123")]), django_capture_on_commit_callbacks)
    listing = admin_client.get("/admin/workflows/batchimport/")
    assert listing.status_code == 200 and f"/origination/batch/{batch.pk}/" in listing.content.decode()
    page = admin_client.get(f"/admin/workflows/batchimport/{batch.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert admin_client.get("/admin/workflows/batchimport/add/").status_code == 403
