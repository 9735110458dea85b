"""The workflows app's prebuilt statements: every read and write of the measured origination path
(``bench/origination.py``, docs/benchmarks.md) that the credit flow sends without building a
queryset.

The ORM rebuilds and recompiles a statement on every call, which on this path cost more CPU than
PostgreSQL's own work; these are built once per process (``creditfactory.core.rows``, or
hand-written SQL where one statement replaces several queries) and each has a test proving it
reads or writes exactly what the ORM would (``tests/workflows/test_fastpath.py``). Nothing else in
workflows builds statements by hand: new code uses the ORM unless a benchmark in ``bench/`` shows
the need (docs/development.md). The row locks among them are taken through ``workflows.locks``.
"""

from __future__ import annotations

from functools import lru_cache

from django.utils.timezone import now
from viewflow.workflow.fields import get_task_ref
from viewflow.workflow.status import STATUS

from creditfactory.core.rows import RowReader, RowWriter, default_connection, execute, save_fields
from creditfactory.organisations.models import WorkGroup
from products.models import LoanProduct

from .models import CreditApplication, ProcessNodeConfig, ProductFlowSettings, TaskSla

__all__ = ["APPLICATIONS", "ASSESSED_APPLICATION", "LOCKED_APPLICATION", "TASK_SLAS", "WORK_GROUPS",
           "application_save", "artifact_process_id", "error_boundaries_disarm", "node_config_rows", "open_tasks_count", "process_data_save", "process_open_task", "process_row_lock",
           "process_save",
           "task_insert_linked", "task_with_process"]

# --- the application ---------------------------------------------------------------------------------

# A new application per submission: ``Model.save`` of a new instance as one prebuilt INSERT.
APPLICATIONS = RowWriter(CreditApplication)
# The application its assessment job decides, with its applicant and enterprise.
ASSESSED_APPLICATION = RowReader(CreditApplication, related=("applicant", "enterprise"))
# The application the flow's steps move, its row alone locked (FOR UPDATE OF), with what the steps
# read of it: its product version and partner, and the product, whose code a webhook names it by.
# Taken through ``workflows.locks.application_lock``.
LOCKED_APPLICATION = RowReader(CreditApplication, related=("product_version__product", "partner"), lock=True)


def application_save(application: CreditApplication, fields) -> None:
    """``application.save(update_fields=fields)`` as one prebuilt UPDATE (the steps' writes)."""
    save_fields(application, fields)


# --- the process and its tasks -----------------------------------------------------------------------


def process_data_save(process) -> None:
    """``process.save(update_fields=["data"])`` as one prebuilt UPDATE (most moves save it)."""
    save_fields(process, ("data",))


_TASK_READERS: dict[type, RowReader] = {}


def task_with_process(task_class, task_pk: int):
    """``task_class.objects.select_related("process").filter(pk=task_pk).first()`` in one prebuilt
    statement (the job reads its task twice per application, under the process lock)."""
    reader = _TASK_READERS.get(task_class)
    if reader is None:
        reader = _TASK_READERS[task_class] = RowReader(task_class, related=("process",))
    return reader.get(task_pk)


_PROCESS_WRITERS: dict[type, RowWriter] = {}


def process_save(process) -> None:
    """``process.save()`` as one prebuilt INSERT (a new process) or UPDATE of the whole row (what
    ``Model.save`` sends), where ``creditfactory.core.rows.RowWriter`` can; else ``save()``."""
    process_class = type(process)
    writer = _PROCESS_WRITERS.get(process_class)
    if writer is None:
        writer = _PROCESS_WRITERS[process_class] = RowWriter(process_class)
    if not writer.fast() or process.get_deferred_fields():
        process.save()
    elif process._state.adding and process.pk is None:
        writer.insert(process)
    elif not writer.update(process):
        process.save()


def open_tasks_count(task_class, *, process_pk: int, other_than: int | None) -> int:
    """``task_class.objects.filter(process=…, finished__isnull=True).exclude(pk=other_than).count()``
    (viewflow's End asks it on every process), prebuilt."""
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = task_class._meta
    finished, process = quote(meta.get_field("finished").column), quote(meta.get_field("process").column)
    sql = f"SELECT COUNT(*) FROM {quote(meta.db_table)} WHERE {finished} IS NULL AND {process} = %s"
    params = [process_pk]
    if other_than is not None:
        sql += f" AND {quote(meta.pk.column)} <> %s"
        params.append(other_than)
    with connection.cursor() as cursor:
        execute(cursor, sql, params)
        return cursor.fetchone()[0]


_TASK_WRITERS: dict[type, RowWriter] = {}


def task_insert_linked(task, *, previous_pk: int) -> bool:
    """``task.save(); task.previous.add(previous)`` of a new task (viewflow's ``Activation.create``)
    in one statement: the task's INSERT and its link to the previous task (``viewflow_task_previous``,
    ``ON CONFLICT DO NOTHING`` as the many-to-many ``add``) in one round trip. False when the raw path
    cannot be taken (``RowWriter.insert_and``): nothing written, the caller saves with the ORM."""
    connection = default_connection()
    task_class = type(task)
    writer = _TASK_WRITERS.get(task_class)
    if writer is None:
        writer = _TASK_WRITERS[task_class] = RowWriter(task_class, replaces_save=True)
    if task.flow_task and not task.flow_task_type:  # as viewflow's AbstractTask.save
        task.flow_task_type = task.flow_task.task_type
    link = task_class.previous.through._meta
    quote = connection.ops.quote_name
    then = (f"INSERT INTO {quote(link.db_table)} ({quote('from_task_id')}, {quote('to_task_id')}) "
            f"SELECT {quote(task_class._meta.pk.column)}, %s FROM new ON CONFLICT DO NOTHING")
    return writer.insert_and(task, then=then, params=[previous_pk])


@lru_cache(maxsize=None)
def _process_lock_sql(process_class) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = process_class._meta
    return (f"SELECT 1 AS {quote('a')} FROM {quote(meta.db_table)} WHERE {quote(meta.db_table)}."
            f"{quote(meta.pk.column)} = %s LIMIT 1 FOR UPDATE NOWAIT")


def process_row_lock(process_class, process_pk) -> None:
    """viewflow's lock statement, ``process_class.objects.filter(pk=process_pk)
    .select_for_update(nowait=True).exists()``, built once per process (every round of every
    flow takes it). Raises ``DatabaseError`` when another transaction holds the row. Taken
    through ``workflows.locks`` only."""
    connection = default_connection()
    if connection.vendor != "postgresql":  # SQLite (make run) locks the whole database: nothing to ask
        process_class._default_manager.filter(pk=process_pk).exists()
        return
    with connection.cursor() as cursor:
        execute(cursor, _process_lock_sql(process_class), [process_pk])
        cursor.fetchone()


@lru_cache(maxsize=None)
def _artifact_process_sql(process_class) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = process_class._meta
    column = {name: quote(meta.get_field(name).column) for name in ("artifact_content_type", "artifact_object_id")}
    return (f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} WHERE "
            f"{column['artifact_content_type']} = %s AND {column['artifact_object_id']} = %s "
            f"ORDER BY {quote(meta.pk.column)} DESC LIMIT 1")


def artifact_process_id(process_class, *, content_type_id: int, object_id: int) -> int | None:
    """The newest process whose artifact is (``content_type_id``, ``object_id``): its id, or None
    (``Process.objects.filter(artifact_content_type=…, artifact_object_id=…).order_by("-id")
    .first()``, the key alone, prebuilt: every drawdown's settlement asks it)."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _artifact_process_sql(process_class), [content_type_id, object_id])
        row = cursor.fetchone()
    return row[0] if row else None


_PROCESS_TASKS: dict[type, RowReader] = {}


def process_open_task(task_class, *, process_pk: int, flow_task_ref: str, statuses) -> object | None:
    """The newest task of node ``flow_task_ref`` in one of ``statuses`` of the process, with its
    process (``task_class.objects.filter(process=…, flow_task=…, status__in=…).order_by("-id")
    .select_related("process").first()``): the process's tasks read in one prebuilt statement (a
    handful per process), the one wanted picked here."""
    reader = _PROCESS_TASKS.get(task_class)
    if reader is None:
        reader = _PROCESS_TASKS[task_class] = RowReader(task_class, related=("process",), by="process")
    tasks = [task for task in reader.filter(process_pk)
             if get_task_ref(task.flow_task) == flow_task_ref and task.status in statuses]
    return max(tasks, key=lambda task: task.pk) if tasks else None


@lru_cache(maxsize=None)
def _disarm_sql(task_class) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    meta = task_class._meta
    previous = meta.get_field("previous").remote_field.through._meta
    table, through = quote(meta.db_table), quote(previous.db_table)
    source = quote(previous.get_field("from_task").column)  # the boundary task …
    target = quote(previous.get_field("to_task").column)  # … follows the job task
    column = {name: quote(meta.get_field(name).column) for name in ("status", "finished", "flow_task", "process")}
    return (
        f"UPDATE {table} SET {column['status']} = %s, {column['finished']} = %s "
        f"WHERE {quote(meta.pk.column)} IN (SELECT p.{source} FROM {through} p JOIN {table} t "
        f"ON t.{quote(meta.pk.column)} = p.{source} WHERE t.{column['flow_task']} = %s "
        f"AND t.{column['process']} = %s AND p.{target} = %s AND t.{column['status']} = %s)"
    )


def error_boundaries_disarm(task_class, *, boundary_ref: str, process_pk: int, host_task_pk: int) -> None:
    """Cancel the armed error-boundary tasks (node ``boundary_ref``) that follow the finished job
    task ``host_task_pk``: the queryset update ``task_class.objects.filter(flow_task=…,
    process_id=…, previous=host_task_pk, status=NEW).update(status=CANCELED, finished=now())`` as
    one prebuilt statement (every application's job disarms its boundary)."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _disarm_sql(task_class), [
            STATUS.CANCELED, now(), boundary_ref, process_pk, host_task_pk, STATUS.NEW,
        ])


# A row for most applications (the review task's SLA); a node's work group, read once per round.
TASK_SLAS = RowWriter(TaskSla)
WORK_GROUPS = RowReader(WorkGroup)


# --- the node configuration a process starts with ------------------------------------------------------


@lru_cache(maxsize=None)
def _node_config_sql(vendor: str) -> str:
    connection = default_connection()
    quote = connection.ops.quote_name
    return (
        "SELECT s.auto_approval_enabled, s.auto_approval_ceiling, s.approval_threshold, s.qa_sample_percent, "
        "n.node, n.enabled, n.work_group_id, g.code, n.assignee_id, n.sla_hours "
        f"FROM {quote(LoanProduct._meta.db_table)} p "
        f"LEFT JOIN {quote(ProductFlowSettings._meta.db_table)} s ON s.product_id = p.id "
        f"LEFT JOIN {quote(ProcessNodeConfig._meta.db_table)} n ON n.product_id = p.id AND n.flow = %s "
        f"LEFT JOIN {quote(WorkGroup._meta.db_table)} g ON g.id = n.work_group_id "
        "WHERE p.id = %s"
    )


def node_config_rows(*, product_id: int, flow: str) -> list[tuple]:
    """A product's flow settings and node rows of ``flow`` in one statement (every process start):
    rows of (auto_approval_enabled, auto_approval_ceiling, approval_threshold, qa_sample_percent
    — all None without a settings row —, then node, enabled, work group id, the work group's code,
    assignee id, SLA hours — all None without node rows); no row for an unknown product."""
    connection = default_connection()
    with connection.cursor() as cursor:
        execute(cursor, _node_config_sql(connection.vendor), [flow, product_id])
        return cursor.fetchall()
