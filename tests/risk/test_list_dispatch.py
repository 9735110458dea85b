"""A new fraud/risk-list entry is handed to the task named by RISK_LIST_ENTRY_HANDLER_TASK once it
is committed — once per entry, from the admin, the service and the CSV import — and never for an
entry whose transaction rolled back; an unregistered task name is skipped."""

from datetime import date

import pytest
from celery import shared_task
from django.db import transaction
from django.urls import reverse

from creditfactory.core.pii import blind_index
from risk.models import RiskListEntry
from risk.services import lists as services
from risk.services.list_upload import list_import_create
from risk.validators import build_resident_id

pytestmark = pytest.mark.django_db

SEEN: list[dict] = []
TASK = "tests.risk.list_entry_seen"


@shared_task(name=TASK)
def list_entry_seen(**kwargs):
    SEEN.append(kwargs)


@pytest.fixture(autouse=True)
def handler(settings):
    settings.RISK_LIST_ENTRY_HANDLER_TASK = TASK
    SEEN.clear()
    yield SEEN
    SEEN.clear()


ID_A = build_resident_id(region="440305", birth_date=date(1988, 8, 8), sequence="123")
ID_B = build_resident_id(region="110105", birth_date=date(1990, 5, 20), sequence="456")


def payload(entry):
    return {"entry_id": entry.pk, "list_type": entry.list_type, "kind": entry.kind, "value_index": entry.value_index}


def test_an_added_entry_is_dispatched_once_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        entry = services.risk_list_entry_add(actor=None, list_type="fraud", kind="id_number", value=ID_A)
        assert SEEN == []  # not before the commit
    assert len(callbacks) == 1
    assert SEEN == [{"entry_id": entry.pk, "list_type": "fraud", "kind": "id_number",
                     "value_index": blind_index("id_number", ID_A)}]


def test_a_rolled_back_entry_is_not_dispatched(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.risk_list_entry_add(actor=None, list_type="fraud", kind="id_number", value=ID_A)
            raise RuntimeError("the caller failed after adding")
    assert callbacks == []
    assert SEEN == []
    assert RiskListEntry.objects.count() == 0


def test_a_refused_duplicate_is_not_dispatched_and_a_reactivated_entry_is(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.risk_list_entry_add(actor=None, list_type="risk", kind="mobile", value="13912345678")
    SEEN.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Exception, match="already on the list"):
            services.risk_list_entry_add(actor=None, list_type="risk", kind="mobile", value="13912345678")
        services.risk_list_entry_remove(actor=None, entry=entry)
    assert (callbacks, SEEN) == ([], [])
    with django_capture_on_commit_callbacks(execute=True):
        services.risk_list_entry_add(actor=None, list_type="risk", kind="mobile", value="13912345678")
    assert SEEN == [payload(entry)]


def test_an_unregistered_handler_is_skipped(settings, django_capture_on_commit_callbacks):
    settings.RISK_LIST_ENTRY_HANDLER_TASK = "workflows.no_such_task"
    with django_capture_on_commit_callbacks(execute=True):
        entry = services.risk_list_entry_add(actor=None, list_type="fraud", kind="id_number", value=ID_A)
    assert SEEN == []
    assert entry.active


def test_admin_save_dispatches_the_new_entry(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:risk_risklistentry_add"), {
            "list_type": "fraud", "kind": "mobile", "value": "13912345678", "reason": "takeover", "expires_at": ""})
    assert response.status_code == 302
    assert SEEN == [payload(RiskListEntry.objects.get())]


def test_each_imported_entry_is_dispatched_once_per_committed_chunk(django_capture_on_commit_callbacks):
    csv = (f"list_type,kind,value,reason\nfraud,id_number,{ID_A},forged\nfraud,id_number,{ID_A},again\n"
           f"risk,id_number,{ID_B},court\nfraud,device,DEV-FARM-1,farm\n")
    with django_capture_on_commit_callbacks(execute=True):
        job = list_import_create(actor=None, filename="list.csv", content=csv)
    job.refresh_from_db()
    assert (job.status, job.accepted, job.rejected) == ("done", 3, 1)
    entries = sorted(RiskListEntry.objects.all(), key=lambda entry: entry.pk)
    assert sorted(SEEN, key=lambda item: item["entry_id"]) == [payload(entry) for entry in entries]
    # Running the finished job again dispatches nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        services.list_import_process(job_id=job.pk)
    assert len(SEEN) == 3


def test_a_chunk_that_rolls_back_dispatches_nothing(monkeypatch, django_capture_on_commit_callbacks):
    csv = f"list_type,kind,value\nfraud,id_number,{ID_A}\nrisk,id_number,{ID_B}\n"
    with django_capture_on_commit_callbacks(execute=False):
        job = list_import_create(actor=None, filename="list.csv", content=csv)

    original = type(job).save

    def broken_save(self, *args, **kwargs):
        # The chunk's progress cannot be written: the chunk, its entries included, rolls back.
        if "processed" in (kwargs.get("update_fields") or ()):
            raise RuntimeError("disk full")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(job), "save", broken_save)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            services.list_import_process(job_id=job.pk)
    assert RiskListEntry.objects.count() == 0
    assert callbacks == []
    assert SEEN == []
