"""Stored documents are never served from /media/ — not even under DEBUG — only through the
back office's download view, which needs a login, the permission to view applications and the
application's branch in the user's scope."""

import importlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import clear_url_caches

from tests.documents import pdf_bytes
from tests.factories import make_branch, make_staff
from tests.workflows.flow_factories import create_application, grant, setup_origination
from workflows.services import applications as services

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_urls(settings, tmp_path):
    """The URL conf as DEBUG=True builds it (it is evaluated once, at import)."""
    import creditfactory.urls

    settings.DEBUG = True
    settings.MEDIA_ROOT = tmp_path
    importlib.reload(creditfactory.urls)
    clear_url_caches()
    yield tmp_path
    settings.DEBUG = False
    importlib.reload(creditfactory.urls)
    clear_url_caches()


def test_media_is_not_served_under_debug(client, debug_urls):
    (debug_urls / "applications").mkdir()
    (debug_urls / "applications" / "payslip.pdf").write_bytes(pdf_bytes())
    response = client.get("/media/applications/payslip.pdf")
    assert response.status_code == 404
    assert pdf_bytes() not in b"".join(getattr(response, "streaming_content", [response.content]))


@pytest.fixture
def document(django_capture_on_commit_callbacks):
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    document = services.application_add_document(
        application=application, file=SimpleUploadedFile("payslip.pdf", pdf_bytes()), actor=o.reviewer)
    return o, application, document


def test_the_download_needs_a_login_the_permission_and_the_branch(client, document):
    o, application, document = document
    url = f"/origination/applications/{application.pk}/documents/{document.pk}/"

    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]

    client.force_login(make_staff("nobody", o.branch))  # same branch, no permission
    assert client.get(url).status_code == 403

    client.force_login(grant(make_staff("bj", make_branch("bj", name="Beijing"))))  # permission, other branch
    assert client.get(url).status_code == 404

    client.force_login(o.reviewer)
    allowed = client.get(url)
    assert allowed.status_code == 200 and b"".join(allowed.streaming_content) == pdf_bytes()
    assert allowed["Content-Disposition"].startswith("attachment") and allowed["Cache-Control"] == "no-store"
