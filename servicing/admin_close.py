"""Django admin of the daily close and of post-loan money decisions, all read-only (services write
them; decisions are taken in the back office's verification queue): close-of-day runs with their
chunks inline (progress, counts and seconds per phase, failures with the loan), write-off
requests, repayments and credit-balance refunds."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from .models import CloseChunk, CloseRun, CreditBalanceRefund, Repayment, WriteOffRequest
from .selectors.close import run_progress


def _read_only(admin_class):
    admin_class.get_readonly_fields = lambda self, request, obj=None: [f.name for f in self.model._meta.concrete_fields]
    return admin_class


class CloseChunkInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CloseChunk
    fields = ("stage", "seq", "lo", "hi", "status", "attempts", "counts", "seconds", "rows_written", "failures",
              "started_at", "finished_at")
    readonly_fields = fields
    extra = 0


@admin.register(CloseRun)
@_read_only
class CloseRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("business_date", "status", "stage", "progress", "chunks_done", "chunks_total", "chunks_failed",
                    "advanced", "started_at", "finished_at", "actor")
    list_filter = ("status", "stage")
    date_hierarchy = "business_date"
    list_select_related = ("actor",)
    inlines = [CloseChunkInline]

    @admin.display(description=_("progress"))
    def progress(self, obj):
        percent = run_progress(obj)
        return format_html('<progress max="100" value="{}"></progress> {} %', percent, percent)


@admin.register(WriteOffRequest)
@_read_only
class WriteOffRequestAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "loan__branch"
    list_display = ("loan", "proposed_on", "days_past_due", "status", "principal", "interest", "penalty",
                    "proposed_by", "decided_by", "decided_at")
    list_filter = ("status",)
    search_fields = ("loan__number",)
    list_select_related = ("loan", "proposed_by", "decided_by")
    date_hierarchy = "proposed_on"


@admin.register(Repayment)
@_read_only
class RepaymentAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "loan__branch"
    list_display = ("number", "loan", "kind", "source", "amount", "status", "value_date", "reference", "entered_by",
                    "verified_by")
    list_filter = ("status", "source", "kind")
    search_fields = ("number", "reference", "loan__number")
    list_select_related = ("loan", "entered_by", "verified_by")


@admin.register(CreditBalanceRefund)
@_read_only
class CreditBalanceRefundAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "loan__branch"
    list_display = ("number", "loan", "amount", "status", "requested_by", "decided_by", "value_date")
    list_filter = ("status",)
    search_fields = ("number", "loan__number")
    list_select_related = ("loan", "requested_by", "decided_by")
