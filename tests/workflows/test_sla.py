"""SLA: a deadline per task of a configured node, flagged in the queue and inbox, counted on the
dashboard, escalated once to the work group's lead by the beat job."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from creditfactory.core.state import transitions_for
from workflows.models import TaskSla
from workflows.services import applications as services
from workflows.services.dispatch import sla_escalate_overdue
from workflows.tasks import sla_escalate

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(django_capture_on_commit_callbacks):
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")
    application.refresh_from_db()
    return o, application


def overdue(application, hours=1):
    TaskSla.objects.filter(application=application).update(due_at=timezone.now() - timedelta(hours=hours))


def test_a_review_task_gets_its_deadline_from_the_snapshot(referred):
    o, application = referred
    sla = TaskSla.objects.get(application=application)
    assert (sla.node, sla.work_group, sla.sla_hours, sla.escalated_at) == ("review", o.review_group, 8, None)
    assert sla.task.flow_task.name == "review"
    assert sla.due_at - sla.task.created == timedelta(hours=8)


def test_the_contract_wait_has_no_deadline_by_default(referred):
    o, application = referred
    services.application_approve(application=application, actor=o.reviewer)
    assert list(TaskSla.objects.filter(application=application).values_list("node", flat=True)) == ["review"]


def test_overdue_tasks_are_flagged_in_the_queue_and_the_inbox(client, referred):
    o, application = referred
    client.force_login(o.reviewer)
    queue = client.get("/workflow/queue/").content.decode()
    assert application.number in queue and "Overdue" not in queue
    overdue(application)
    queue = client.get("/workflow/queue/").content.decode()
    assert application.number in queue and "Overdue" in queue
    services.application_claim(application=application, actor=o.reviewer)
    inbox = client.get("/workflow/inbox/").content.decode()
    assert application.number in inbox and "Overdue" in inbox


def test_escalation_happens_exactly_once_and_is_recorded(referred):
    o, application = referred
    assert sla_escalate_overdue() == 0  # not due yet
    overdue(application)
    assert sla_escalate_overdue() == 1
    assert sla_escalate_overdue() == 0
    assert sla_escalate.delay().get() == 0  # the beat task: nothing left
    sla = TaskSla.objects.get(application=application)
    assert sla.escalated_to == o.reviewer  # the review group's lead
    [record] = transitions_for(application).filter(field="sla")
    assert (record.from_state, record.to_state, record.actor_label) == ("review", "escalated", "system")
    assert record.reason == f"review open past its 8-hour SLA: escalated to {o.reviewer}."


def test_finished_tasks_are_not_escalated(referred):
    o, application = referred
    services.application_approve(application=application, actor=o.reviewer)
    overdue(application)
    assert sla_escalate_overdue() == 0
    assert TaskSla.objects.get(application=application).escalated_at is None


def test_the_dashboard_counts_overdue_tasks(client, referred):
    o, application = referred
    overdue(application)
    sla_escalate_overdue()
    client.force_login(o.reviewer)
    html = client.get("/origination/sla/").content.decode()
    assert '<dd id="overdue-count">1</dd>' in html
    assert application.number in html
    assert '<td class="num">1</td><td class="num">1</td><td class="num">1</td>' in html  # open, overdue, escalated


def test_the_beat_schedule_runs_the_escalation():
    entry = settings.CELERY_BEAT_SCHEDULE["workflows.sla-escalation"]
    assert entry["task"] == "workflows.sla_escalate"
