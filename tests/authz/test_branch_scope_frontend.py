"""B2: every page of viewflow's frontend honours the branch scope. A Beijing officer who works on
the review queue (and even holds the flow-manager right) gets 403/404 on a Shanghai application's
task and process pages — assign, unassign, bulk assign and unassign, execute, undo, cancel, process
detail, process cancel, chart — and nothing changes; a Shanghai officer with the same rights gets
through (the control)."""

import pytest
from viewflow.workflow.models import Task

from creditfactory.organisations import services as org_services
from tests.factories import make_branch, make_staff
from tests.workflows.flow_factories import create_application, grant, setup_origination
from workflows.flows import CreditApplicationFlow

pytestmark = pytest.mark.django_db

BASE = "/workflow/flows/creditapplication"
MANAGE = "viewflow.manage_process"
DENIED = (403, 404)


@pytest.fixture
def o():
    return setup_origination()


@pytest.fixture
def review_task(o, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, sequence="991")  # referred: waits in the review queue
    return Task.objects.get(process=application.process, flow_task=CreditApplicationFlow.review)


def officer(username, branch, o):
    user = grant(make_staff(username, branch))
    grant(user, MANAGE)
    org_services.work_group_add_member(work_group=o.review_group, user=user)
    return user


@pytest.fixture
def beijing(o):
    return officer("bj_reviewer", make_branch("bj", name="Beijing"), o)


@pytest.fixture
def shanghai(o):
    return officer("sh_reviewer", o.branch, o)


def task_url(task, action=""):
    return f"{BASE}/{task.process_id}/review/{task.pk}/{action}"


def state(task):
    task.refresh_from_db()
    return task.status, task.owner_id


@pytest.mark.parametrize("action", ["assign/", "detail/", "undo/", "cancel/"])
def test_task_pages_of_another_branch_are_refused(client, beijing, review_task, action):
    before = state(review_task)
    client.force_login(beijing)
    assert client.get(task_url(review_task, action)).status_code in DENIED
    assert client.post(task_url(review_task, action), {"_continue": "1"}).status_code in DENIED
    assert state(review_task) == before == ("NEW", None)


def test_the_task_index_sends_another_branch_home(client, beijing, review_task):
    client.force_login(beijing)
    response = client.get(task_url(review_task))
    assert (response.status_code, response["Location"]) == (302, "/")


def test_unassign_and_execute_of_another_branch_are_refused(client, o, beijing, review_task):
    # The stuck state of the report: the Shanghai task ended up owned by the Beijing officer.
    Task.objects.filter(pk=review_task.pk).update(owner=beijing, status="ASSIGNED")
    client.force_login(beijing)
    for action in ("unassign/", "execute/"):
        assert client.get(task_url(review_task, action)).status_code in DENIED, action
        assert client.post(task_url(review_task, action)).status_code in DENIED, action
    client.post("/workflow/inbox/unassign/", {"pk": [review_task.pk], "_confirm": "1"})
    assert state(review_task) == ("ASSIGNED", beijing.pk)


def test_bulk_assign_of_another_branch_changes_nothing(client, beijing, review_task):
    client.force_login(beijing)
    preview = client.post("/workflow/queue/assign/", {"pk": [review_task.pk]})
    assert review_task.process.credit_application.number not in preview.content.decode()
    client.post("/workflow/queue/assign/", {"pk": [review_task.pk], "_confirm": "1"})
    client.post("/workflow/queue/assign/", {"select_all": "1", "_confirm": "1"})
    assert state(review_task) == ("NEW", None)


def test_process_pages_of_another_branch_are_refused(client, beijing, review_task):
    client.force_login(beijing)
    process_id = review_task.process_id
    for url in (f"{BASE}/{process_id}/", f"{BASE}/{process_id}/chart/", f"{BASE}/{process_id}/cancel/"):
        assert client.get(url).status_code in DENIED, url
    assert client.post(f"{BASE}/{process_id}/cancel/", {"_cancel_process": "1"}).status_code in DENIED
    review_task.process.refresh_from_db()
    assert review_task.process.status == "NEW"


def test_the_node_rights_are_scoped(beijing, shanghai, review_task):
    node = review_task.flow_task
    assert (node.can_assign(beijing, review_task), node.can_assign(shanghai, review_task)) == (False, True)
    assert (node.can_view(beijing, review_task), node.can_view(shanghai, review_task)) == (False, True)
    assert (node.can_cancel(beijing, review_task), node.can_cancel(shanghai, review_task)) == (False, True)
    flow = CreditApplicationFlow.instance
    process = review_task.process
    assert (flow.has_view_permission(beijing, obj=process), flow.has_view_permission(shanghai, obj=process)) == (
        False, True)
    assert (flow.has_manage_permission(beijing, obj=process), flow.has_manage_permission(shanghai, obj=process)) == (
        False, True)


def test_the_same_rights_in_the_right_branch_work(client, shanghai, review_task):
    client.force_login(shanghai)
    assert client.get(f"{BASE}/{review_task.process_id}/").status_code == 200
    assert client.get(task_url(review_task, "assign/")).status_code == 200
    client.post("/workflow/queue/assign/", {"pk": [review_task.pk], "_confirm": "1"})
    assert state(review_task) == ("ASSIGNED", shanghai.pk)
    assert client.post(task_url(review_task, "unassign/")).status_code == 302
    assert state(review_task) == ("NEW", None)
