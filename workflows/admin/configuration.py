"""Admin of the credit flow's configuration (信贷流程定义 / 流程节点 / 产品流程设置): inline on the
loan product. ``products.LoanProduct`` is registered again with ``products.admin.LoanProductAdmin``
plus the inlines, so the product app does not depend on workflows."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import scope_queryset
from products.admin import LoanProductAdmin
from products.models import LoanProduct

from ..models import CREDIT_FLOW, LINE_CHANGE_FLOW, ProcessNodeConfig, ProductFlowSettings, TaskSla
from ..models.configuration import node_specs
from ..services.configuration import node_config_ensure_defaults


class ProductFlowSettingsInline(admin.StackedInline):
    model = ProductFlowSettings
    can_delete = False
    max_num = 1
    extra = 1
    verbose_name = verbose_name_plural = _("Product flow settings (产品流程设置)")
    fields = (("auto_approval_enabled", "auto_approval_ceiling"), "approval_threshold", "qa_sample_percent")


def _node_choices():
    return [(name, f"{spec.title}{'' if spec.optional else ' *'}")
            for name, spec in node_specs(CREDIT_FLOW).items()]


class ProcessNodeConfigForm(forms.ModelForm):
    node = forms.ChoiceField(label=_("node"), choices=_node_choices,
                             help_text=_("* mandatory: cannot be disabled."))

    class Meta:
        model = ProcessNodeConfig
        fields = ["flow", "node", "enabled", "work_group", "assignee", "sla_hours"]


class ProcessNodeConfigInline(admin.TabularInline):
    model = ProcessNodeConfig
    form = ProcessNodeConfigForm
    extra = 0
    verbose_name_plural = _("Process nodes (流程节点): who works on each step, and its SLA")
    fields = ("flow", "node", "enabled", "work_group", "assignee", "sla_hours")
    autocomplete_fields = ()
    ordering = ("flow", "id")

    class Media:
        # Narrower selects, no related-object icons: the inline with its SLA column (and that
        # column's errors) fits a 1366 px screen.
        css = {"all": ["backoffice/admin.css"]}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        widget = getattr(field, "widget", None)
        if widget is not None and hasattr(widget, "can_add_related"):
            widget.can_add_related = widget.can_change_related = widget.can_delete_related = False
            widget.can_view_related = False
        return field


class FlowConfiguredLoanProductAdmin(LoanProductAdmin):
    inlines = [*LoanProductAdmin.inlines, ProductFlowSettingsInline, ProcessNodeConfigInline]

    _flow_inlines = (ProductFlowSettingsInline, ProcessNodeConfigInline)

    def get_formsets_with_inlines(self, request, obj=None):
        # A POST without a flow inline's management form (a script, or the product form
        # alone) leaves that part of the flow configuration as it is instead of failing.
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            if (request.method == "POST" and isinstance(inline, self._flow_inlines)
                    and f"{formset.get_default_prefix()}-TOTAL_FORMS" not in request.POST):
                continue
            yield formset, inline

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # A product created before the flow existed gets its default rows on first visit.
        product = self.get_object(request, object_id)
        if product is not None:
            node_config_ensure_defaults(product)
            node_config_ensure_defaults(product, flow=LINE_CHANGE_FLOW)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        node_config_ensure_defaults(form.instance)
        node_config_ensure_defaults(form.instance, flow=LINE_CHANGE_FLOW)


if admin.site.is_registered(LoanProduct):
    admin.site.unregister(LoanProduct)
admin.site.register(LoanProduct, FlowConfiguredLoanProductAdmin)


@admin.register(TaskSla)
class TaskSlaAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Deadlines of open and finished tasks, with their escalations: read-only."""

    list_display = ("subject_number", "node", "work_group", "sla_hours", "due_at", "escalated_at", "escalated_to")
    list_filter = ("node", "work_group", ("escalated_at", admin.EmptyFieldListFilter))
    search_fields = ("application__number", "drawdown__number", "line_change__number")
    list_select_related = ("application", "drawdown", "line_change", "work_group", "escalated_to")

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, branch_field="branch")
