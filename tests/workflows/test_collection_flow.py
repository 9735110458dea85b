"""``CollectionFlow``: a process per open case at a human step of its strategy, its task in the
work group's queue dispatched by the group's policy, the next round while the case stays at a
human step, the end when it closes; a lead reassigns the case with its task."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from viewflow.workflow.models import Process
from viewflow.workflow.status import STATUS

from collection.models import CollectionCase
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_case, make_strategy, make_work_group
from tests.factories import make_staff
from tests.servicing.repayment_factories import make_loan
from workflows.collection_flows import CollectionFlow
from workflows.services.collection_cases import (
    case_open_task, collection_flows_sync, collection_task_complete, collection_task_reassign,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")


def _world(policy="round_robin"):
    loan = make_loan()
    li, wang, lead = (make_staff(name, loan.branch) for name in ("li", "wang", "lead"))
    group = make_work_group("collectors", members=[li, wang], lead=lead, policy=policy)
    strategy = make_strategy()
    on_call = make_case(loan=loan, step=1, work_group=group, strategy=strategy)  # step 1: calls
    automated = make_case(step=0, strategy=strategy)  # step 0: SMS reminders, no process
    return on_call, automated, li, wang, lead


def test_a_case_at_a_human_step_gets_a_task_in_its_work_group_once():
    case, automated, li, wang, _lead = _world()
    assert collection_flows_sync() == 1
    assert collection_flows_sync() == 0  # a process runs already
    process = Process.objects.get(flow_class=CollectionFlow)
    assert (process.data["case_id"], process.data["bucket"], process.artifact) == (case.pk, "M1", case)
    task = case_open_task(case)
    assert (task.flow_task.name, task.status, task.owner in (li, wang)) == ("work", STATUS.ASSIGNED, True)
    assert case_open_task(automated) is None


def test_the_next_round_while_the_case_is_at_a_human_step_and_the_end_when_it_closes():
    case, _automated, li, wang, _lead = _world(policy="claim")
    collection_flows_sync()
    first = case_open_task(case)
    assert (first.status, first.owner) == (STATUS.NEW, None)  # the shared queue: claimed by doing it
    collection_task_complete(case=case, actor=li)
    second = case_open_task(case)
    assert second.pk != first.pk and second.status == STATUS.NEW
    CollectionCase.objects.filter(pk=case.pk).update(status="closed", close_reason="cured")
    collection_task_complete(case=case, actor=wang)
    process = Process.objects.get(flow_class=CollectionFlow)
    assert (process.status, case_open_task(case)) == (STATUS.DONE, None)


def test_only_members_work_on_the_task_and_the_lead_reassigns_it():
    case, _automated, li, wang, lead = _world(policy="claim")
    collection_flows_sync()
    outsider = make_staff("outsider", case.loan.branch)
    with pytest.raises(PermissionDenied):
        collection_task_complete(case=case, actor=outsider)
    with pytest.raises(PermissionDenied):
        collection_task_reassign(case=case, to_user=wang, actor=li)
    collection_task_reassign(case=case, to_user=wang, actor=lead)
    case.refresh_from_db()
    task = case_open_task(case)
    assert (case.collector, task.owner, task.status) == (wang, wang, STATUS.ASSIGNED)
    with pytest.raises(PermissionDenied):
        collection_task_complete(case=case, actor=li)
    collection_task_complete(case=case, actor=wang)
    assert case_open_task(case).owner == wang  # the next round goes to the case's collector
