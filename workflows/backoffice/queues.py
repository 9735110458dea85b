"""viewflow's workflow frontend for the credit flow: inbox (my tasks), queue (claimable, with bulk
assign), archive, and the flow's process pages — limited to applications of the user's
branches. Task rows show what an officer picks work by (``TaskColumnsMixin``), not task ids."""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.flow import views as flow_views
from viewflow.workflow.flow.viewset import FlowViewset, WorkflowAppViewset

from creditfactory.core.display import EMPTY, format_datetime, format_money, label, mask_name

from ..selectors.applications import application_url, task_list_scope


class TranslatedColumnsMixin:
    """viewflow heads a column that has no label with its attribute's name ("brief" → "Brief",
    "process_brief" → "Process brief"), untranslated: every header goes through the catalogue
    (our ``creditfactory/package_messages.py`` lists viewflow's names)."""

    def get_column_def(self, attr_name):
        column = super().get_column_def(attr_name)
        header = column.header
        column.header = lambda: gettext(str(header()))
        return column


def _application(task):
    return getattr(task.process, "credit_application", None)


def _column(description, *, orderby=None, column_type="text", wide=False):
    """Declare a list column: its header, the database ordering that makes it sortable, and
    whether it is hidden on a phone (``bo-wide``: only number, applicant and amount remain)."""

    def decorate(method):
        method.short_description = description
        if orderby is not None:
            method.orderby_column = orderby
        # viewflow writes column_type into the cells' class: the extra classes size the column
        # (backoffice.css) and hide it on a phone.
        method.column_type = f"{column_type} bo-col-{method.__name__}" + (" bo-wide" if wide else "")
        return method

    return decorate


APPLICATION = "process__credit_application__"


class TaskColumnsMixin(TranslatedColumnsMixin):
    """The columns an officer picks work by: the application (its number opens its page), the
    applicant (masked), product, amount, branch, the step (translated), the SLA due time with an
    overdue badge and the task's age. Every column but the applicant sorts."""

    def get_queryset(self):
        return task_list_scope(super().get_queryset(), self.request.user).select_related(
            "sla", "process__credit_application__applicant", "process__credit_application__branch",
            "process__credit_application__product_version__product")

    @_column(_("Application"), orderby=f"{APPLICATION}number")
    def application(self, task):
        application = _application(task)
        if application is None:
            return EMPTY
        return format_html('<a href="{}" class="bo-row-link">{}</a>', application_url(application.pk), application.number)

    @_column(_("Applicant"))
    def applicant(self, task):
        application = _application(task)
        return mask_name(application.applicant.name) if application is not None else EMPTY

    @_column(_("Product"), orderby=f"{APPLICATION}product_version__product__name", wide=True)
    def product(self, task):
        application = _application(task)
        return application.product_version.product.name if application is not None else EMPTY

    @_column(_("Amount"), orderby=f"{APPLICATION}amount", column_type="numeric")
    def amount(self, task):
        application = _application(task)
        return format_money(application.amount) if application is not None else EMPTY

    @_column(_("Branch"), orderby=f"{APPLICATION}branch__name", wide=True)
    def branch(self, task):
        application = _application(task)
        return application.branch.name if application is not None else EMPTY

    @_column(_("Step"), orderby="flow_task", wide=True)
    def node(self, task):
        return task.flow_task.task_title or label("node", task.flow_task.name)

    @_column(_("SLA due"), orderby="sla__due_at", wide=True)
    def sla(self, task):
        deadline = getattr(task, "sla", None)
        if deadline is None:
            return EMPTY
        due = format_datetime(deadline.due_at)
        if deadline.due_at <= timezone.now():
            return format_html('{} <span class="bo-overdue" title="{}">{}</span>', due, _("Past its SLA"),
                               _("Overdue"))
        return due

    @_column(_("Age"), orderby="-created", wide=True)
    def age(self, task):
        return timesince(task.created)


class InboxView(TaskColumnsMixin, flow_views.WorkflowInboxListView):
    columns = ("application", "applicant", "product", "amount", "branch", "node", "sla", "age")


class QueueView(TaskColumnsMixin, flow_views.WorkflowQueueListView):
    columns = ("application", "applicant", "product", "amount", "branch", "node", "sla", "age")


class ArchiveView(TaskColumnsMixin, flow_views.WorkflowArchiveListView):
    columns = ("application", "applicant", "product", "amount", "node", "finished_at")

    @_column(_("Finished"), orderby="finished", wide=True)
    def finished_at(self, task):
        return format_datetime(task.finished)


class ScopedProcessDetailView(flow_views.DetailProcessView):
    def get_queryset(self):
        return super().get_queryset().filter(
            pk__in=task_list_scope(self.flow_class.task_class.objects.all(), self.request.user).values("process_id"))


class ScopedProcessListView(TranslatedColumnsMixin, flow_views.DashboardProcessListView):
    def get_queryset(self):
        visible = task_list_scope(self.flow_class.task_class.objects.all(), self.request.user).values("process_id")
        return super().get_queryset().filter(pk__in=visible).order_by("-created", "-pk")


class ScopedTaskListView(TranslatedColumnsMixin, flow_views.DashboardTaskListView):
    def get_queryset(self):
        return task_list_scope(super().get_queryset(), self.request.user)


class ScopedFlowChartView(flow_views.FlowChartView):
    def get(self, request, *args, **kwargs):
        process_pk = kwargs.get("process_pk")
        if process_pk is not None and not task_list_scope(
                self.flow_class.task_class.objects.filter(process_id=process_pk), request.user).exists():
            raise Http404
        return super().get(request, *args, **kwargs)


class _ScopedBulkMixin:
    """The bulk assign / unassign of the queue and inbox act on the submitted tasks of the user's
    branches only (a pk of another branch is not even listed on the confirmation page); each task
    is then checked against its node's right, which is branch-scoped too (``workflows.nodes``)."""

    def get_queryset(self):
        self.object_list = task_list_scope(super().get_queryset(), self.request.user)
        return self.object_list


class ScopedBulkAssignView(_ScopedBulkMixin, flow_views.BulkAssignTasksActionView):
    pass


class ScopedBulkUnassignView(_ScopedBulkMixin, flow_views.BulkUnassignTasksActionView):
    pass


class CreditFlowViewset(FlowViewset):
    chart_view_class = ScopedFlowChartView
    process_detail_view_class = ScopedProcessDetailView
    process_list_view_class = ScopedProcessListView
    task_list_view_class = ScopedTaskListView

    @property
    def index_path(self):
        # viewflow's kanban dashboard is not branch-scoped: the flow opens on the process list.
        return path("", self.process_list_view, name="index")


class CreditWorkflowApp(WorkflowAppViewset):
    title = _("Work queues")
    inbox_view_class = InboxView
    queue_view_class = QueueView
    archive_view_class = ArchiveView
    tasks_assign_view_class = ScopedBulkAssignView
    tasks_unassign_view_class = ScopedBulkUnassignView
