"""Four-eyes: the approver (审批) can never be the reviewer (审查) or the person who entered the
application — refused by the service with an exact message, by the task's claim and execute
rights, by auto-dispatch, and in the back office."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from viewflow.workflow.models import Task

from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import AssignmentPolicy
from tests.factories import make_staff
from workflows.flows import CreditApplicationFlow
from workflows.services import applications as services

from .flow_factories import create_application, grant, setup_origination

pytestmark = pytest.mark.django_db

REVIEWED = "Four-eyes: the approver cannot be the reviewer of this application."
ENTERED = "Four-eyes: the approver cannot be the person who entered this application."


@pytest.fixture
def origination():
    o = setup_origination(approval_threshold=Decimal("0.00"))
    # The reviewer and the clerk also work on the approval queue: only four-eyes stops them.
    org_services.work_group_add_member(work_group=o.approval_group, user=o.reviewer)
    org_services.work_group_add_member(work_group=o.approval_group, user=o.clerk)
    return o


@pytest.fixture
def in_approval(origination, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(origination, sequence="991")
    services.application_approve(application=application, actor=origination.reviewer)
    application.refresh_from_db()
    assert application.status == "in_approval"
    return application


def approval_task(application):
    return Task.objects.get(process=application.process, flow_task=CreditApplicationFlow.approval)


def test_the_reviewer_cannot_approve(origination, in_approval):
    with pytest.raises(ValidationError) as caught:
        services.application_approve(application=in_approval, actor=origination.reviewer)
    assert caught.value.message_dict == {"actor": [REVIEWED]}
    task = approval_task(in_approval)
    assert (task.status, task.owner) == ("NEW", None)
    node = task.flow_task
    assert node.can_assign(origination.reviewer, task) is False
    assert node.can_assign(origination.approver, task) is True
    with pytest.raises(ValidationError) as claim:
        services.application_claim(application=in_approval, actor=origination.reviewer)
    assert claim.value.message_dict == {"task": ["Four-eyes: you reviewed or entered this application."]}
    in_approval.refresh_from_db()
    assert in_approval.status == "in_approval"


def test_the_person_who_entered_the_application_cannot_approve(origination, in_approval):
    assert in_approval.created_by == origination.clerk
    with pytest.raises(ValidationError) as caught:
        services.application_reject(application=in_approval, actor=origination.clerk, reason="no")
    assert caught.value.message_dict == {"actor": [ENTERED]}
    assert approval_task(in_approval).flow_task.can_assign(origination.clerk, approval_task(in_approval)) is False


def test_another_approver_approves(origination, in_approval):
    services.application_approve(application=in_approval, actor=origination.approver)
    in_approval.refresh_from_db()
    assert (in_approval.status, in_approval.reviewed_by, in_approval.approved_by) == (
        "contract", origination.reviewer, origination.approver)


def test_a_task_assigned_to_the_reviewer_still_cannot_be_executed_by_them(origination, in_approval):
    task = approval_task(in_approval)
    Task.objects.filter(pk=task.pk).update(owner=origination.reviewer, status="ASSIGNED")
    task.refresh_from_db()
    assert task.flow_task.can_execute(origination.reviewer, task) is False
    with pytest.raises(ValidationError) as caught:
        services.application_approve(application=in_approval, actor=origination.reviewer)
    assert caught.value.message_dict == {"actor": [REVIEWED]}


def test_dispatch_never_assigns_the_approval_to_the_reviewer(django_capture_on_commit_callbacks):
    o = setup_origination(approval_threshold=Decimal("0.00"), approval_policy=AssignmentPolicy.ROUND_ROBIN)
    # the reviewer has the lowest id, so round robin would serve them first
    org_services.work_group_add_member(work_group=o.approval_group, user=o.reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    services.application_approve(application=application, actor=o.reviewer)
    task = approval_task(application)
    assert (task.status, task.owner) == ("ASSIGNED", o.approver)


def test_the_back_office_refuses_the_reviewer_with_422(client, origination, in_approval):
    client.force_login(origination.reviewer)
    response = client.post(f"/origination/applications/{in_approval.pk}/approve/", {"approve-note": "ok"})
    assert response.status_code == 422
    assert REVIEWED in response.content.decode()
    in_approval.refresh_from_db()
    assert in_approval.status == "in_approval"


def test_a_lead_cannot_reassign_the_approval_to_the_reviewer(origination, in_approval):
    from workflows.services.dispatch import task_reassign

    task = approval_task(in_approval)
    lead = origination.approver  # the approval group's lead
    with pytest.raises(ValidationError) as caught:
        task_reassign(task=task, to_user=origination.reviewer, actor=lead)
    assert caught.value.message_dict == {"to_user": [f"Four-eyes: {origination.reviewer} reviewed or entered this "
                                                     "application."]}
    second = grant(make_staff("appr2", origination.branch))
    org_services.work_group_add_member(work_group=origination.approval_group, user=second)
    task_reassign(task=task, to_user=second, actor=lead)
    task.refresh_from_db()
    assert (task.owner, task.status) == (second, "ASSIGNED")


# --- entry → review: who entered the application may not review it (B3) ----------------------------

ENTERED_REVIEW = "Four-eyes: the reviewer cannot be the person who entered this application."


@pytest.fixture
def clerk_reviews():
    o = setup_origination(review_policy=AssignmentPolicy.ROUND_ROBIN)
    # The clerk (lowest id: round robin would serve them first) also works on the review queue.
    org_services.work_group_add_member(work_group=o.review_group, user=o.clerk)
    return o


def review_task(application):
    return Task.objects.get(process=application.process, flow_task=CreditApplicationFlow.review)


def test_dispatch_never_gives_the_review_to_who_entered_it(clerk_reviews, django_capture_on_commit_callbacks):
    o = clerk_reviews
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    task = review_task(application)
    assert (application.created_by, task.status, task.owner) == (o.clerk, "ASSIGNED", o.reviewer)
    assert task.flow_task.can_execute(o.clerk, task) is False


def test_who_entered_it_may_neither_claim_nor_review_it(django_capture_on_commit_callbacks):
    o = setup_origination()
    org_services.work_group_add_member(work_group=o.review_group, user=o.clerk)
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    task = review_task(application)
    assert task.flow_task.can_assign(o.clerk, task) is False
    assert task.flow_task.can_assign(o.reviewer, task) is True
    with pytest.raises(ValidationError) as claim:
        services.application_claim(application=application, actor=o.clerk)
    assert claim.value.message_dict == {"task": ["Four-eyes: you reviewed or entered this application."]}
    with pytest.raises(ValidationError) as review:
        services.application_approve(application=application, actor=o.clerk)
    assert review.value.message_dict == {"actor": [ENTERED_REVIEW]}
    application.refresh_from_db()
    assert (application.status, application.reviewed_by, review_task(application).owner) == ("in_review", None, None)


def test_the_back_office_refuses_the_entering_clerk_with_422(client, django_capture_on_commit_callbacks):
    o = setup_origination()
    org_services.work_group_add_member(work_group=o.review_group, user=o.clerk)
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    client.force_login(o.clerk)
    response = client.post(f"/origination/applications/{application.pk}/approve/", {"approve-note": "ok"})
    assert response.status_code == 422
    assert ENTERED_REVIEW in response.content.decode()
    application.refresh_from_db()
    assert application.status == "in_review"
