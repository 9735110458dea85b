"""The daily sweep of stored document files that no document row names."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from tests.documents import png_bytes
from workflows.models import ApplicationDocument
from workflows.services import applications as services
from workflows.services.documents import SweepResult, documents_sweep_orphans
from workflows.tasks import documents_sweep

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db

PNG = png_bytes()


class Rollback(Exception):
    pass


@pytest.fixture
def storage(monkeypatch):
    """The documents' storage, fresh for this test (the test settings' in-memory one is shared by
    every test of the process)."""
    fresh = InMemoryStorage()
    monkeypatch.setattr(ApplicationDocument._meta.get_field("file"), "storage", fresh)
    return fresh


def _upload(name="payslip.png"):
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def test_the_sweep_deletes_the_file_of_an_upload_rolled_back_by_its_caller_once_old_enough(storage):
    o = setup_origination()
    application = create_application(o, sequence="993", submit=False)
    kept = services.application_add_document(application=application, file=_upload(), kind="income_proof",
                                             actor=o.clerk)
    # A transaction around the service rolls back after the service returned: the row goes, the
    # file stays (there is no on-rollback hook to delete it).
    with pytest.raises(Rollback), transaction.atomic():
        lost = services.application_add_document(application=application, file=_upload("id-card.png"),
                                                 kind="other", actor=o.clerk)
        raise Rollback
    assert list(ApplicationDocument.objects.values_list("file", flat=True)) == [kept.file.name]
    assert storage.exists(lost.file.name)
    storage.save("exports/report.csv", ContentFile(b"a,b\n"))  # not a document: never looked at

    # Younger than WORKFLOW_DOCUMENT_ORPHAN_HOURS (24): it might be an upload still committing.
    assert documents_sweep_orphans() == SweepResult(checked=2, kept_young=1, deleted=0)
    assert documents_sweep_orphans(now=timezone.now() + timedelta(hours=23)) == SweepResult(
        checked=2, kept_young=1, deleted=0)
    assert storage.exists(lost.file.name)

    assert documents_sweep_orphans(now=timezone.now() + timedelta(hours=25)) == SweepResult(
        checked=2, kept_young=0, deleted=1)
    assert not storage.exists(lost.file.name)
    assert storage.exists(kept.file.name)
    assert storage.exists("exports/report.csv")
    assert documents_sweep_orphans(now=timezone.now() + timedelta(hours=25)) == SweepResult(
        checked=1, kept_young=0, deleted=0)


def test_the_grace_period_is_a_setting(storage, settings):
    o = setup_origination()
    application = create_application(o, sequence="994", submit=False)
    with pytest.raises(Rollback), transaction.atomic():
        lost = services.application_add_document(application=application, file=_upload(), actor=o.clerk)
        raise Rollback
    settings.WORKFLOW_DOCUMENT_ORPHAN_HOURS = 1
    assert documents_sweep_orphans(now=timezone.now() + timedelta(minutes=30)) == SweepResult(
        checked=1, kept_young=1, deleted=0)
    assert documents_sweep_orphans(now=timezone.now() + timedelta(minutes=61)) == SweepResult(
        checked=1, kept_young=0, deleted=1)
    assert not storage.exists(lost.file.name)


def test_the_sweep_with_nothing_stored_finds_nothing(storage):
    assert documents_sweep_orphans() == SweepResult(checked=0, kept_young=0, deleted=0)


def test_the_beat_schedule_runs_the_document_sweep(storage):
    entry = settings.CELERY_BEAT_SCHEDULE["workflows.documents-sweep"]
    assert entry["task"] == "workflows.documents_sweep"
    assert entry["schedule"] == crontab(hour=3, minute=15)
    storage.save("applications/2026/01/0123456789abcdef.png", ContentFile(PNG))
    assert documents_sweep.delay().get() == {"checked": 1, "kept_young": 1, "deleted": 0}
