"""viewflow's workflow frontend for the credit flow: inbox (my tasks), queue (claimable, with bulk
assign), archive, and the flow's process pages — limited to applications of the user's
branches, with the application number and an SLA flag on every task row."""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.flow import views as flow_views
from viewflow.workflow.flow.viewset import FlowViewset, WorkflowAppViewset

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


class SlaColumnsMixin(TranslatedColumnsMixin):
    """Adds the application (linked to the workbench) and the SLA state of each task."""

    def get_queryset(self):
        return task_list_scope(super().get_queryset(), self.request.user).select_related(
            "sla", "process__credit_application")

    def application(self, task):
        application = getattr(task.process, "credit_application", None)
        if application is None:
            return "—"
        return format_html('<a href="{}">{}</a>', application_url(application.pk), application.number)

    application.short_description = _("Application")

    def sla(self, task):
        deadline = getattr(task, "sla", None)
        if deadline is None:
            return "—"
        if deadline.due_at <= timezone.now():
            return format_html('<span class="bo-overdue" title="{}">⚠ {}</span>', _("Past its SLA"), _("Overdue"))
        return format_html('<span title="{}">{}</span>', _("Due"), timezone.localtime(deadline.due_at).strftime(
            "%m-%d %H:%M"))

    sla.short_description = _("SLA")


class InboxView(SlaColumnsMixin, flow_views.WorkflowInboxListView):
    columns = ("task_id", "application", "flow_task", "sla", "brief", "created")


class QueueView(SlaColumnsMixin, flow_views.WorkflowQueueListView):
    columns = ("task_id", "application", "flow_task", "sla", "brief", "created")


class ArchiveView(TranslatedColumnsMixin, flow_views.WorkflowArchiveListView):
    def get_queryset(self):
        return task_list_scope(super().get_queryset(), self.request.user)


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
