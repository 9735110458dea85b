"""workflows.fastpath: each prebuilt statement reads or writes exactly what the ORM would."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.models import Process

from creditfactory.core.rows import prepared_text
from creditfactory.organisations.models import WorkGroup
from tests.partners.factories import make_partner
from tests.risk.factories import make_applicant, make_enterprise
from workflows import fastpath
from workflows.flows import CreditApplicationFlow
from workflows.models import CreditApplication, FlowTask, ProcessNodeConfig, ProductFlowSettings, TaskSla

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


def _fields(instance, *, without=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in without}


@pytest.fixture
def o():
    return setup_origination()


def test_the_application_insert_writes_what_save_writes(o):
    def unsaved(number):
        return CreditApplication(
            number=number, product_version=o.product.current_version, branch=o.branch, amount=Decimal("20000.00"),
            term=12, repayment_method="equal_installment", purpose="education", applicant=make_applicant(),
            enterprise=make_enterprise(), device_id="DEV-1", consents={"credit_report": True}, channel="api")

    by_orm = unsaved("CA-ORM")
    by_orm.save()
    prebuilt = unsaved("CA-FAST")
    with CaptureQueriesContext(connection) as queries:
        fastpath.APPLICATIONS.insert(prebuilt)
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).startswith('INSERT INTO "workflows_creditapplication"')
    stored = {row.pk: row for row in CreditApplication.objects.filter(pk__in=[by_orm.pk, prebuilt.pk])}
    ignored = ("id", "number", "created_at", "updated_at")
    assert _fields(stored[prebuilt.pk], without=ignored) == _fields(stored[by_orm.pk], without=ignored)
    assert stored[prebuilt.pk].status == "draft" and stored[prebuilt.pk].created_at is not None  # defaults applied


def test_the_assessed_application_read_is_select_related_get(o):
    application = create_application(o)
    CreditApplication.objects.filter(pk=application.pk).update(enterprise=make_enterprise())
    expected = CreditApplication.objects.select_related("applicant", "enterprise").get(pk=application.pk)
    with CaptureQueriesContext(connection) as queries:
        found = fastpath.ASSESSED_APPLICATION.get(application.pk)
        applicant, enterprise = found.applicant, found.enterprise
    assert len(queries) == 1
    assert _fields(found) == _fields(expected)
    assert _fields(applicant) == _fields(expected.applicant) and applicant.id_number == expected.applicant.id_number
    assert _fields(enterprise) == _fields(expected.enterprise)
    assert fastpath.ASSESSED_APPLICATION.get(application.pk + 1000) is None


def test_the_locked_application_read_is_the_orms_locked_get(o):
    partner = make_partner(branch=o.branch, products=[o.product])
    application = create_application(o, partner=partner)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        found = fastpath.LOCKED_APPLICATION.get(application.pk)
        joined = (found.product_version, found.product_version.product, found.partner)
    expected = (CreditApplication.objects.select_for_update(of=("self",))
                .select_related("product_version__product", "partner").get(pk=application.pk))
    assert len(queries) == 1 and prepared_text(queries[0]["sql"]).endswith("FOR UPDATE OF t0")
    assert _fields(found) == _fields(expected)
    assert [_fields(item) for item in joined] == [
        _fields(item) for item in (expected.product_version, expected.product_version.product, expected.partner)]


def test_the_application_save_updates_those_columns_as_save_does(o):
    application = create_application(o)
    application.decided_at, application.amount = timezone.now(), Decimal("1.00")  # the amount is not saved
    with CaptureQueriesContext(connection) as queries:
        fastpath.application_save(application, ["decided_at", "updated_at"])
    assert len(queries) == 1 and '"amount"' not in prepared_text(queries[0]["sql"])
    stored = CreditApplication.objects.get(pk=application.pk)
    assert (stored.decided_at, stored.updated_at, stored.amount) == (
        application.decided_at, application.updated_at, Decimal("20000.00"))


def test_the_process_data_save_updates_the_data_alone(o):
    application = create_application(o)
    process = Process.objects.get(pk=application.process_id)
    status = process.status
    process.data = {**process.data, "marker": 1}
    process.status = "changed, not saved"
    with CaptureQueriesContext(connection) as queries:
        fastpath.process_data_save(process)
    assert len(queries) == 1
    stored = Process.objects.get(pk=process.pk)
    assert (stored.data["marker"], stored.status) == (1, status)


def test_the_task_with_its_process_is_select_related_get(o):
    application = create_application(o)  # on_commit not run: the assessment job waits, SCHEDULED
    job = FlowTask.objects.get(process_id=application.process_id, flow_task=CreditApplicationFlow.assess)
    expected = FlowTask.objects.select_related("process").get(pk=job.pk)
    with CaptureQueriesContext(connection) as queries:
        found = fastpath.task_with_process(FlowTask, job.pk)
        process = found.process
    assert len(queries) == 1
    assert type(found) is FlowTask and _fields(found) == _fields(expected)
    assert _fields(process) == _fields(expected.process) and process.flow_class is CreditApplicationFlow
    assert fastpath.task_with_process(FlowTask, job.pk + 1000) is None


def test_disarming_the_error_boundary_is_the_queryset_update(o):
    boundary = CreditApplicationFlow.instance.node("assess__error")
    first, second = create_application(o), create_application(o, sequence="124")

    def armed(application):
        job = FlowTask.objects.get(process_id=application.process_id, flow_task=CreditApplicationFlow.assess)
        return job, FlowTask.objects.filter(process_id=application.process_id, flow_task=boundary, previous=job)

    job, tasks = armed(first)
    assert [task.status for task in tasks] == ["NEW"]
    assert FlowTask.objects.filter(flow_task=boundary, process_id=first.process_id, previous=job,
                                   status="NEW").update(status="CANCELED", finished=timezone.now()) == 1
    job, tasks = armed(second)
    others = {task.pk: task.status for task in FlowTask.objects.exclude(pk__in=[task.pk for task in tasks])}
    before = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        fastpath.error_boundaries_disarm(FlowTask, boundary_ref=get_task_ref(boundary),
                                         process_pk=second.process_id, host_task_pk=job.pk)
    assert len(queries) == 1
    by_orm, prebuilt = armed(first)[1].get(), tasks.get()
    assert (prebuilt.status, by_orm.status) == ("CANCELED", "CANCELED")
    assert prebuilt.finished >= before and by_orm.finished is not None
    assert {task.pk: task.status for task in FlowTask.objects.exclude(pk=prebuilt.pk).exclude(pk=by_orm.pk)} == {
        pk: status for pk, status in others.items() if pk != by_orm.pk}  # nothing else changed


def test_the_sla_insert_and_the_work_group_read_are_the_orms(o):
    application = create_application(o)
    job = FlowTask.objects.get(process_id=application.process_id, flow_task=CreditApplicationFlow.assess)
    start = FlowTask.objects.get(process_id=application.process_id, flow_task=CreditApplicationFlow.start)
    values = dict(application=application, node="review", work_group=o.review_group, sla_hours=8,
                  due_at=timezone.now() + timedelta(hours=8))
    by_orm = TaskSla.objects.create(task_id=start.pk, **values)
    with CaptureQueriesContext(connection) as queries:
        prebuilt = fastpath.TASK_SLAS.insert(TaskSla(task_id=job.pk, **values))
    assert len(queries) == 1
    stored = {row.pk: row for row in TaskSla.objects.all()}
    assert _fields(stored[prebuilt.pk], without=("id", "task_id")) == _fields(stored[by_orm.pk],
                                                                              without=("id", "task_id"))
    assert _fields(fastpath.WORK_GROUPS.get(o.review_group.pk)) == _fields(WorkGroup.objects.get(pk=o.review_group.pk))
    assert fastpath.WORK_GROUPS.get(o.review_group.pk + 1000) is None


def _orm_node_config_rows(product, flow) -> list[tuple]:
    settings = ProductFlowSettings.objects.filter(product=product).first()
    head = ((settings.auto_approval_enabled, settings.auto_approval_ceiling, settings.approval_threshold,
             settings.qa_sample_percent) if settings else (None, None, None, None))
    nodes = [(row.node, row.enabled, row.work_group_id, row.work_group.code if row.work_group_id else None,
              row.assignee_id, row.sla_hours)
             for row in ProcessNodeConfig.objects.filter(product=product, flow=flow).select_related("work_group")]
    return sorted((*head, *node) for node in nodes) if nodes else [(*head, None, None, None, None, None, None)]


def test_the_node_configuration_rows_are_what_the_orm_reads(o):
    ProcessNodeConfig.objects.filter(product=o.product, node="approval").update(assignee=o.approver, sla_hours=4)
    with CaptureQueriesContext(connection) as queries:
        rows = fastpath.node_config_rows(product_id=o.product.pk, flow="creditapplication")
    assert len(queries) == 1
    assert sorted(rows) == _orm_node_config_rows(o.product, "creditapplication")
    assert len(rows) == 4
    # Another flow: the settings alone; no settings row: Nones; an unknown product: no row.
    assert fastpath.node_config_rows(product_id=o.product.pk, flow="other") == _orm_node_config_rows(o.product, "other")
    ProductFlowSettings.objects.filter(product=o.product).delete()
    assert sorted(fastpath.node_config_rows(product_id=o.product.pk, flow="creditapplication")) == \
        _orm_node_config_rows(o.product, "creditapplication")
    assert fastpath.node_config_rows(product_id=o.product.pk + 1000, flow="creditapplication") == []


def test_the_linked_task_insert_writes_what_save_and_previous_add_write(o):
    application = create_application(o)
    job = FlowTask.objects.get(process_id=application.process_id, flow_task=CreditApplicationFlow.assess)
    process = job.process

    def new_task():
        task = FlowTask(process=process, flow_task=CreditApplicationFlow.assess, token=job.token)
        task.data, task.seed = {"k": "值"}, None
        return task

    orm = new_task()
    orm.save()
    orm.previous.add(job)
    with CaptureQueriesContext(connection) as queries:
        fast = new_task()
        assert fastpath.task_insert_linked(fast, previous_pk=job.pk)
    assert len(queries) == 1
    stored_orm, stored_fast = FlowTask.objects.get(pk=orm.pk), FlowTask.objects.get(pk=fast.pk)
    times = ("id", "created")
    assert _fields(stored_fast, without=times) == _fields(stored_orm, without=times)
    assert abs(stored_fast.created - stored_orm.created) < timedelta(seconds=5)
    assert list(stored_fast.previous.values_list("pk", flat=True)) == [job.pk]
    assert list(stored_orm.previous.values_list("pk", flat=True)) == [job.pk]
    assert fast.pk == stored_fast.pk and fast._state.adding is False
    # a deferred task's first save takes the same path: one statement
    deferred = new_task()
    deferred.defer_insert(previous=job)
    with CaptureQueriesContext(connection) as queries:
        deferred.save()
    assert len(queries) == 1 and list(deferred.previous.values_list("pk", flat=True)) == [job.pk]


def test_the_process_save_and_the_open_task_count_are_the_orms(o):
    application = create_application(o)
    process = Process.objects.get(pk=application.process_id)
    open_orm = FlowTask.objects.filter(process=process, finished__isnull=True)
    first = open_orm.order_by("pk").first()
    expected = (open_orm.count(), open_orm.exclude(pk=first.pk).count())
    with CaptureQueriesContext(connection) as queries:
        found = (fastpath.open_tasks_count(FlowTask, process_pk=process.pk, other_than=None),
                 fastpath.open_tasks_count(FlowTask, process_pk=process.pk, other_than=first.pk))
    assert len(queries) == 2 and found == expected and expected[0] == expected[1] + 1
    # a whole-row save of a stored process, and the insert of a new one
    process.status, process.finished, process.data = "DONE", timezone.now(), {**process.data, "marker": "终"}
    with CaptureQueriesContext(connection) as queries:
        fastpath.process_save(process)
    assert len(queries) == 1
    assert _fields(Process.objects.get(pk=process.pk)) == _fields(process)
    new = Process(flow_class=CreditApplicationFlow, data={"n": 1})
    fastpath.process_save(new)
    stored = Process.objects.get(pk=new.pk)
    assert _fields(stored) == _fields(new) and stored.flow_class is CreditApplicationFlow and new._state.adding is False
