"""B1: every back-office write checks a named permission in its service, not only in the view.
Read-only roles (auditor, post-loan manager) get 403 from the page and ``PermissionDenied`` from
the service, and nothing changes."""

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from creditfactory.core.models import StateTransition
from creditfactory.organisations.roles import role_group, sync_standard_roles
from tests.documents import png_bytes
from tests.factories import make_staff
from tests.workflows.flow_factories import create_application, setup_origination
from workflows.models import ApplicationDocument, CreditApplication
from workflows.services import applications as services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def standard_roles():
    # Seeded by a migration, but a transactional test elsewhere may have flushed them.
    sync_standard_roles(django_apps)


def with_role(user, code):
    user.groups.add(role_group(code))
    return user


@pytest.fixture
def o():
    return setup_origination()


@pytest.fixture
def returned(o, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    services.application_return_for_documents(application=application, actor=o.reviewer, reason="Payslips",
                                              documents=["income_proof"])
    application.refresh_from_db()
    assert application.status == "returned"
    return application


@pytest.fixture
def auditor(o):
    return with_role(make_staff("auditor1", o.branch), "auditor")


@pytest.fixture
def postloan(o):
    return with_role(make_staff("postloan1", o.branch), "post_loan_manager")


@pytest.mark.parametrize("role", ["auditor", "postloan"])
def test_read_only_roles_cannot_resume_a_returned_application(client, request, returned, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    transitions = StateTransition.objects.count()
    response = client.post(f"/origination/applications/{returned.pk}/resume/", {"resume-note": "here"})
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        services.application_resume_after_documents(application=returned, actor=user)
    returned.refresh_from_db()
    assert returned.status == "returned"
    assert StateTransition.objects.count() == transitions


def test_the_clerk_still_resumes(client, o, returned):
    client.force_login(o.clerk)
    response = client.post(f"/origination/applications/{returned.pk}/resume/", {"resume-note": "here"})
    assert response.status_code == 303
    returned.refresh_from_db()
    assert returned.status == "in_review"


def test_the_services_refuse_read_only_actors(o, returned, auditor):
    count = CreditApplication.objects.count()
    with pytest.raises(PermissionDenied):
        services.application_withdraw(application=returned, reason="no", actor=auditor)
    with pytest.raises(PermissionDenied):
        services.application_add_document(application=returned, actor=auditor, resume=True,
                                          file=SimpleUploadedFile("a.png", png_bytes(), "image/png"))
    with pytest.raises(PermissionDenied):
        create_application(o, sequence="123", actor=auditor)
    returned.refresh_from_db()
    assert returned.status == "returned"
    assert (CreditApplication.objects.count(), ApplicationDocument.objects.count()) == (count, 0)


def test_partner_and_system_calls_pass_without_a_user(o, returned):
    services.application_resume_after_documents(application=returned, actor=None, actor_label="partner:demo")
    returned.refresh_from_db()
    assert returned.status == "in_review"
