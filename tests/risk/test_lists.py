from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from creditfactory.core.models import StateTransition
from creditfactory.core.pii import blind_index
from risk.features import gather_features
from risk.models import ImportStatus, ListImportJob, RiskListEntry
from risk.services import lists as services
from risk.services.list_upload import list_import_create
from risk.validators import build_resident_id
from tests.risk.factories import make_applicant, make_application
from workflows.selectors.assessment import assessment_request

pytestmark = pytest.mark.django_db

LISTED_ID = build_resident_id(region="440305", birth_date=date(1988, 8, 8), sequence="123")
CSV = f"""list_type,kind,value,reason,expires_at
fraud,id_number,{LISTED_ID},forged documents,
fraud,id_number,340524198001010013,bad checksum,
fraud,mobile,+86 138-1234-5678,account takeover,2030-12-31
risk,mobile,12345,bad mobile,
blacklist,id_number,{LISTED_ID},unknown list,
fraud,id_number,{LISTED_ID.lower()},same person again,
fraud,device,DEV-FARM-1,device farm,
fraud,email,someone@example.test,,
risk,id_number,{LISTED_ID},also on the risk list,
fraud,mobile,13900001111,old,2001-01-01
"""
EXPECTED_REJECTED = [
    {"row": 3, "reason": "The ID number's check character is wrong; please check the number."},
    {"row": 5, "reason": "Enter a mainland mobile number: 11 digits starting with 13-19."},
    {"row": 6, "reason": "Unknown list type 'blacklist': use fraud or risk."},
    {"row": 7, "reason": "Duplicate of row 2."},
    {"row": 9, "reason": "Unknown kind 'email': use id_number, mobile or device."},
    {"row": 11, "reason": "expires_at is in the past."},
]


def test_csv_import_accepts_good_rows_and_rejects_bad_ones_with_reasons(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = list_import_create(actor=None, filename="list.csv", content=CSV.encode("utf-8-sig"))
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.accepted, job.rejected) == (ImportStatus.DONE, 10, 10, 4, 6)
    assert job.rejected_rows == EXPECTED_REJECTED
    assert job.content == ""  # the plaintext upload is not kept
    assert job.finished_at is not None
    entries = RiskListEntry.objects.order_by("id")
    assert [(e.list_type, e.kind, e.value_masked, e.reason, e.source) for e in entries] == [
        ("fraud", "id_number", "440305********" + LISTED_ID[-4:], "forged documents", f"import #{job.pk}"),
        ("fraud", "mobile", "138****5678", "account takeover", f"import #{job.pk}"),
        ("fraud", "device", "DEV-**RM-1", "device farm", f"import #{job.pk}"),
        ("risk", "id_number", "440305********" + LISTED_ID[-4:], "also on the risk list", f"import #{job.pk}"),
    ]
    assert entries[1].value_index == blind_index("mobile", "13812345678")
    assert timezone.localtime(entries[1].expires_at).date() == date(2030, 12, 31)


def test_import_reports_progress_chunk_by_chunk(monkeypatch):
    job = ListImportJob.objects.create(filename="list.csv", content=CSV, total=10)
    seen = []
    original = services._import_chunk

    def spy(job, rows, first_row):
        seen.append((ListImportJob.objects.get(pk=job.pk).processed, first_row, len(rows)))
        return original(job, rows, first_row)

    monkeypatch.setattr(services, "_import_chunk", spy)
    services.list_import_process(job_id=job.pk, chunk_size=3)
    assert seen == [(0, 2, 3), (3, 5, 3), (6, 8, 3), (9, 11, 1)]
    job.refresh_from_db()
    assert (job.status, job.processed, job.accepted, job.rejected, job.percent) == (ImportStatus.DONE, 10, 4, 6, 100)
    # Row 2 was committed with the first chunk, so row 7 meets it on the list.
    assert job.rejected_rows == [*EXPECTED_REJECTED[:3], {"row": 7, "reason": "Duplicate: already on the list."},
                                 *EXPECTED_REJECTED[4:]]


def test_a_redelivered_import_resumes_and_a_finished_one_changes_nothing():
    job = ListImportJob.objects.create(filename="list.csv", content=CSV, total=10)
    # A first delivery got through rows 2-4 (2 and 4 accepted) before the worker died.
    services._import_chunk(job, services._rows(CSV)[:3], first_row=2)
    ListImportJob.objects.filter(pk=job.pk).update(processed=3, accepted=2, rejected=1,
                                                   rejected_rows=[EXPECTED_REJECTED[0]], status=ImportStatus.RUNNING)
    services.list_import_process(job_id=job.pk, chunk_size=3)
    job.refresh_from_db()
    assert (job.status, job.processed, job.accepted, job.rejected) == (ImportStatus.DONE, 10, 4, 6)
    assert [item["row"] for item in job.rejected_rows] == [3, 5, 6, 7, 9, 11]
    assert RiskListEntry.objects.count() == 4
    services.list_import_process(job_id=job.pk)
    job.refresh_from_db()
    assert (job.processed, job.accepted, RiskListEntry.objects.count()) == (10, 4, 4)


def test_rows_already_on_the_list_are_rejected_as_duplicates(django_capture_on_commit_callbacks):
    services.risk_list_entry_add(actor=None, list_type="fraud", kind="device", value="DEV-FARM-1")
    with django_capture_on_commit_callbacks(execute=True):
        job = list_import_create(actor=None, filename="a.csv", content=CSV)
    job.refresh_from_db()
    assert (job.accepted, job.rejected) == (3, 7)
    assert {"row": 8, "reason": "Duplicate: already on the list."} in job.rejected_rows


def test_a_file_without_the_columns_is_refused_and_nothing_is_created():
    with pytest.raises(ValidationError) as info:
        list_import_create(actor=None, filename="a.csv", content="id,number\n1,2\n")
    assert list(info.value.message_dict) == ["file"]
    assert ListImportJob.objects.count() == 0


def test_gbk_files_from_excel_are_read():
    text = f"list_type,kind,value,reason\nfraud,id_number,{LISTED_ID},伪造证件\n"
    job = list_import_create(actor=None, filename="excel.csv", content=text.encode("gb18030"))
    services.list_import_process(job_id=job.pk)
    assert RiskListEntry.objects.get().reason == "伪造证件"


def test_an_imported_id_number_then_hits_fraud_id_hit(django_capture_on_commit_callbacks):
    applicant = make_applicant(region="440305", birth_date=date(1988, 8, 8), sequence="123")
    assert applicant.id_number == LISTED_ID
    before = gather_features(assessment_request(make_application(applicant=applicant)), as_of=date(2025, 6, 1))
    assert before.features["fraud.id_hit"] is False
    with django_capture_on_commit_callbacks(execute=True):
        list_import_create(actor=None, filename="list.csv", content=CSV)
    after = gather_features(assessment_request(make_application(applicant=applicant)), as_of=date(2025, 6, 1))
    assert (after.features["fraud.id_hit"], after.features["fraud.risk_list_hit"]) == (True, True)
    assert after.sources["fraud"].status == "cached"  # the external answer was reused, our lists were not


def test_add_and_remove_entries_keep_history():
    entry = services.risk_list_entry_add(actor=None, list_type="fraud", kind="mobile", value="13812345678",
                                         reason="takeover")
    with pytest.raises(ValidationError) as info:
        services.risk_list_entry_add(actor=None, list_type="fraud", kind="mobile", value="+8613812345678")
    assert info.value.message_dict == {"value": ["This value is already on the list."]}
    services.risk_list_entry_remove(actor=None, entry=entry, reason="cleared")
    entry.refresh_from_db()
    assert entry.active is False
    again = services.risk_list_entry_add(actor=None, list_type="fraud", kind="mobile", value="13812345678",
                                         reason="again")
    assert (again.pk, again.active, again.reason) == (entry.pk, True, "again")
    moves = StateTransition.objects.filter(object_id=str(entry.pk), field="active").order_by("id")
    assert [(m.from_state, m.to_state, m.reason) for m in moves] == [
        ("", "active", "takeover"), ("active", "inactive", "cleared"), ("inactive", "active", "again")]


@pytest.mark.parametrize(("kind", "value", "field"), [
    ("id_number", "340524198001010013", "value"), ("mobile", "123", "value"), ("email", "x", "kind")])
def test_invalid_entries_are_refused_naming_the_field(kind, value, field):
    with pytest.raises(ValidationError) as info:
        services.risk_list_entry_add(actor=None, list_type="fraud", kind=kind, value=value)
    assert list(info.value.message_dict) == [field]
    assert RiskListEntry.objects.count() == 0


def test_admin_import_view_end_to_end(admin_client, django_capture_on_commit_callbacks):
    changelist = admin_client.get(reverse("admin:risk_risklistentry_changelist"))
    import_url = reverse("admin:risk_risklistentry_import")
    assert import_url in changelist.content.decode()
    assert admin_client.get(import_url).status_code == 200
    upload = SimpleUploadedFile("list.csv", CSV.encode("utf-8"), content_type="text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(import_url, {"file": upload})
    job = ListImportJob.objects.get()
    progress_url = reverse("admin:risk_risklistentry_import_progress", args=[job.pk])
    assert (response.status_code, response["Location"]) == (302, progress_url)
    page = admin_client.get(progress_url).content.decode()
    assert "10 of 10 rows processed: 4 accepted, 6 rejected." in page
    assert "Unknown kind &#x27;email&#x27;: use id_number, mobile or device." in page
    assert "<td>7</td><td>Duplicate of row 2.</td>" in page
    assert LISTED_ID not in page
    status = admin_client.get(reverse("admin:risk_risklistentry_import_status", args=[job.pk])).json()
    assert {k: status[k] for k in ("status", "total", "processed", "accepted", "rejected", "percent", "finished")} == {
        "status": "done", "total": 10, "processed": 10, "accepted": 4, "rejected": 6, "percent": 100, "finished": True}
    listing = admin_client.get(reverse("admin:risk_risklistentry_changelist")).content.decode()
    assert "138****5678" in listing and "13812345678" not in listing and LISTED_ID not in listing


def test_admin_import_refuses_a_bad_file_with_a_form_error(admin_client):
    upload = SimpleUploadedFile("list.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = admin_client.post(reverse("admin:risk_risklistentry_import"), {"file": upload})
    assert response.status_code == 200
    assert "missing: list_type, kind, value" in response.content.decode()
    assert ListImportJob.objects.count() == 0


def test_admin_progress_page_polls_while_running(admin_client):
    job = ListImportJob.objects.create(filename="big.csv", content=CSV, total=10, processed=3,
                                       status=ImportStatus.RUNNING)
    page = admin_client.get(reverse("admin:risk_risklistentry_import_progress", args=[job.pk])).content.decode()
    assert '<progress id="import-progress" max="100" value="30"' in page
    assert reverse("admin:risk_risklistentry_import_status", args=[job.pk]) in page


def test_admin_add_entry_and_search_by_exact_value(admin_client):
    response = admin_client.post(reverse("admin:risk_risklistentry_add"), {
        "list_type": "fraud", "kind": "mobile", "value": "+86 139 1234 5678", "reason": "takeover", "expires_at": "",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = RiskListEntry.objects.get()
    assert (entry.value_masked, entry.value_index) == ("139****5678", blind_index("mobile", "13912345678"))
    duplicate = admin_client.post(reverse("admin:risk_risklistentry_add"), {
        "list_type": "fraud", "kind": "mobile", "value": "13912345678", "reason": "", "expires_at": ""})
    assert "This value is already on the list." in duplicate.content.decode()
    found = admin_client.get(reverse("admin:risk_risklistentry_changelist"), {"q": "13912345678"})
    assert list(found.context["cl"].result_list) == [entry]
    assert "139****5678" in found.content.decode()
    missing = admin_client.get(reverse("admin:risk_risklistentry_changelist"), {"q": "13912345679"})
    assert list(missing.context["cl"].result_list) == []
    assert RiskListEntry.objects.count() == 1


def test_admin_remove_action_deactivates(admin_client):
    entry = services.risk_list_entry_add(actor=None, list_type="risk", kind="device", value="DEV-9")
    admin_client.post(reverse("admin:risk_risklistentry_changelist"),
                      {"action": "remove_selected", "_selected_action": [entry.pk]})
    entry.refresh_from_db()
    assert entry.active is False
    assert RiskListEntry.objects.filter(active=True).count() == 0
