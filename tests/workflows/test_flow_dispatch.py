"""Work dispatch: round-robin and least-loaded auto-assignment, the shared queue (claim), a fixed
assignee, a lead's reassignment, and the Celery job node's retry when the process is locked."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.models import Task

from creditfactory.core.rows import prepared_text
from creditfactory.core.state import transitions_for
from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import AssignmentPolicy
from tests.factories import make_staff
from workflows.flows import CreditApplicationFlow
from workflows.models import ProcessNodeConfig
from workflows.services import applications as services
from workflows.services.dispatch import task_reassign

from .flow_factories import create_application, grant, setup_origination

pytestmark = pytest.mark.django_db


@pytest.fixture
def submit(django_capture_on_commit_callbacks):
    def run(o, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            application = create_application(o, **kwargs)
        application.refresh_from_db()
        return application

    return run


def review_task(application):
    return Task.objects.get(process=application.process, flow_task=CreditApplicationFlow.review)


def test_claim_policy_leaves_the_task_in_the_queue(submit):
    o = setup_origination()
    application = submit(o, sequence="991")
    task = review_task(application)
    assert (task.status, task.owner, task.owner_permission) == ("NEW", None, "organisations.work_on_queue")
    assert list(Task.objects.queue([CreditApplicationFlow], o.reviewer)) == [task]
    assert list(Task.objects.inbox([CreditApplicationFlow], o.reviewer)) == []


def test_round_robin_assigns_members_in_turn(submit):
    o = setup_origination(review_policy=AssignmentPolicy.ROUND_ROBIN)
    second = grant(make_staff("rev2", o.branch))
    org_services.work_group_add_member(work_group=o.review_group, user=second)
    owners = [review_task(submit(o, sequence="991")).owner for _ in range(3)]
    assert owners == [o.reviewer, second, o.reviewer]
    assert review_task(submit(o, sequence="991")).status == "ASSIGNED"
    assert Task.objects.inbox([CreditApplicationFlow], second).count() == 2


def test_least_loaded_assigns_the_member_with_the_fewest_open_tasks(submit):
    o = setup_origination(review_policy=AssignmentPolicy.LEAST_LOADED)
    second = grant(make_staff("rev2", o.branch))
    org_services.work_group_add_member(work_group=o.review_group, user=second)
    first = review_task(submit(o, sequence="991"))
    assert first.owner == o.reviewer
    # the reviewer still has one open task: the next two go to the second member, then alternate
    owners = [review_task(submit(o, sequence="991")).owner for _ in range(2)]
    assert owners == [second, o.reviewer]


def test_a_fixed_assignee_gets_every_task(submit):
    o = setup_origination()
    second = grant(make_staff("rev2", o.branch))
    org_services.work_group_add_member(work_group=o.review_group, user=second)
    ProcessNodeConfig.objects.filter(product=o.product, node="review").update(assignee=second)
    task = review_task(submit(o, sequence="991"))
    assert (task.owner, task.status) == (second, "ASSIGNED")
    assert task.assigned is not None


def test_the_lead_reassigns_and_others_cannot(submit):
    o = setup_origination()  # the reviewer leads the review group
    member = grant(make_staff("rev2", o.branch))
    third = grant(make_staff("rev3", o.branch))
    for user in (member, third):
        org_services.work_group_add_member(work_group=o.review_group, user=user)
    application = submit(o, sequence="991")
    services.application_claim(application=application, actor=member)
    task = review_task(application)
    with pytest.raises(PermissionDenied):
        task_reassign(task=task, to_user=third, actor=member)
    task_reassign(task=task, to_user=third, actor=o.reviewer)
    task.refresh_from_db()
    assert (task.owner, task.status) == (third, "ASSIGNED")
    [record] = transitions_for(application).filter(field="task_owner")
    assert (record.from_state, record.to_state, record.actor) == ("rev2", "rev3", o.reviewer)
    with pytest.raises(PermissionDenied):  # the task is third's now
        services.application_approve(application=application, actor=member)


def test_a_locked_process_makes_the_job_retry_later(monkeypatch, settings):
    from workflows.jobs import JobRetry, run_job
    from workflows.tasks import job_run

    o = setup_origination()
    application = create_application(o, sequence="991")  # on_commit not run: the job is queued
    job = application.process.task_set.get(flow_task=CreditApplicationFlow.assess)
    assert job.status == "SCHEDULED"

    def busy(process_pk):
        raise FlowLockFailed("locked")

    monkeypatch.setattr(CreditApplicationFlow, "lock", busy)
    with pytest.raises(JobRetry) as caught:
        run_job(job.pk)
    assert (caught.value.countdown, caught.value.attempt) == (settings.WORKFLOW_JOB_LOCK_RETRY_SECONDS, 0)

    retries = []
    monkeypatch.setattr(job_run, "retry", lambda **kwargs: retries.append(kwargs) or RuntimeError("retry"))
    job_run.push_request(is_eager=False, retries=0)
    try:
        with pytest.raises(RuntimeError):
            job_run.run(job.pk)
    finally:
        job_run.pop_request()
    assert retries == [{"args": [job.pk], "kwargs": {"attempt": 0}, "countdown": 2}]
    job.refresh_from_db()
    assert job.status == "SCHEDULED"


def test_running_a_finished_job_again_changes_nothing(submit):
    from workflows.jobs import run_job

    o = setup_origination()
    application = submit(o, sequence="991")
    job = application.process.task_set.get(flow_task=CreditApplicationFlow.assess)
    tasks_before = application.process.task_set.count()
    assert run_job(job.pk) is None
    assert application.process.task_set.count() == tasks_before
    assert application.status == "in_review"
    assert Decimal(application.process.data["amount"]) == Decimal("20000.00")


def test_the_job_message_names_its_process_and_node(monkeypatch, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from workflows.jobs import run_job
    from workflows.tasks import job_run

    sent = []
    monkeypatch.setattr(job_run, "apply_async", lambda args, kwargs=None, task_id=None: sent.append((args, kwargs)))
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    job = application.process.task_set.get(flow_task=CreditApplicationFlow.assess)
    assert sent == [([job.pk], {"process_pk": application.process_id,
                                "node": "workflows/flows.CreditApplicationFlow.assess"})]

    with CaptureQueriesContext(connection) as queries:
        run_job(job.pk, **sent[0][1])
    sent_sql = [q["sql"] for q in queries.captured_queries
                if q["sql"] not in ("BEGIN", "COMMIT") and not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    statements = [prepared_text(sql) for sql in sent_sql]  # a prepared statement's text, its values in sent_sql
    assert "FOR UPDATE NOWAIT" in statements[0]  # no read of the task before the lock
    # The start moves the application and logs it in one statement, and so does the decision's move
    # (``change_state``).
    moves = [sent for sent, sql in zip(sent_sql, statements)
             if "INSERT INTO \"core_statetransition\"" in sql and "UPDATE" in sql]
    assert len(moves) == 2 and "'assessing'" in moves[0] and "'in_review'" in moves[1]
    application.refresh_from_db()
    assert application.status == "in_review"
    assert [(t.from_state, t.to_state) for t in transitions_for(application).filter(field="status").order_by("id")] \
        == [("draft", "submitted"), ("submitted", "assessing"), ("assessing", "in_review")]

    # A message from before the names were carried still runs (the task is read first), and an
    # unknown node falls back to reading it.
    assert run_job(job.pk) is None
    assert run_job(job.pk, process_pk=application.process_id, node="workflows/flows.CreditApplicationFlow.gone") is None
