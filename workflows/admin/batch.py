"""Admin of batch imports (批量录入) and quality inspections (抽样质检): read-only records,
branch-scoped. Imports are made and followed in the back office (/origination/batch/, where each
rejected row and its errors are listed, identifiers masked); inspections are done there too
(/origination/quality/)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from ..models import BatchImport, QualityInspection


@admin.register(BatchImport)
class BatchImportAdmin(ReadOnlyAdminMixin, BranchScopedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "branch", "status", "total", "processed", "accepted", "rejected", "created_by",
                    "created_at", "progress_link")
    list_filter = ("status", "branch")
    list_select_related = ("branch", "created_by")
    fields = ("filename", "file_format", "branch", "status", "total", "processed", "accepted", "rejected", "error",
              "created_by", "created_at", "finished_at")
    readonly_fields = fields

    @admin.display(description=_("progress"))
    def progress_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("origination:batch:detail", args=[obj.pk]),
                           _("Progress and rejected rows"))


@admin.register(QualityInspection)
class QualityInspectionAdmin(ReadOnlyAdminMixin, BranchScopedAdminMixin, admin.ModelAdmin):
    branch_field = "application__branch"
    list_display = ("application", "business_date", "status", "inspector", "inspected_at")
    list_filter = ("status", "business_date")
    list_select_related = ("application", "inspector")
    search_fields = ("application__number",)
    fields = ("application", "business_date", "status", "inspector", "findings", "inspected_at", "created_at")
    readonly_fields = fields
