"""Django admin of the ledger and loans: all read-only (written by services only; the journal is
append-only in the database too) — accounts, journal entries with their lines, loans with their
parts and schedule, and the business date."""

from django.contrib import admin
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.money import format_money
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from .models import (
    Account, BusinessDate, Installment, JournalEntry, JournalLine, LedgerCheckRun, Loan, LoanPart, NormalSide,
)


def _all_fields_read_only(admin_class):
    admin_class.get_readonly_fields = lambda self, request, obj=None: [f.name for f in self.model._meta.concrete_fields]
    return admin_class


@admin.register(BusinessDate)
@_all_fields_read_only
class BusinessDateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The business date (营业日), shown; moved by ``manage.py business_date --set`` and the close."""

    list_display = ("date", "changed_at", "changed_by", "reason")


@admin.register(LedgerCheckRun)
@_all_fields_read_only
class LedgerCheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The runs of the full proof of the books (nightly, or ``ledger_check --record``)."""

    list_display = ("business_date", "started_at", "finished_at", "passed", "difference_count", "first_difference")
    list_filter = ("passed",)


@admin.register(Account)
@_all_fields_read_only
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "kind", "funder", "normal_side", "balance")
    list_filter = ("funder", "kind")
    search_fields = ("number",)
    list_select_related = ("funder",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(debits=Sum("lines__debit"), credits=Sum("lines__credit"))

    @admin.display(description=_("balance"))
    def balance(self, obj):
        debit, credit = obj.debits or 0, obj.credits or 0
        return format_money(debit - credit if obj.normal_side == NormalSide.DEBIT else credit - debit)


class JournalLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = JournalLine
    fields = ("account", "debit", "credit")
    readonly_fields = fields
    extra = 0


@admin.register(JournalEntry)
@_all_fields_read_only
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "kind", "business_date", "funder", "product", "loan", "amount", "recorded_at")
    list_filter = ("kind", "funder", "business_date")
    search_fields = ("reference", "loan__number")
    list_select_related = ("funder", "product", "loan")
    date_hierarchy = "business_date"
    inlines = [JournalLineInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(total=Sum("lines__debit"))

    @admin.display(description=_("amount"))
    def amount(self, obj):
        return format_money(obj.total or 0)


class LoanPartInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LoanPart
    fields = ("funder", "share_percent", "lead", "rate_percent", "principal", "principal_outstanding",
              "interest_receivable", "penalty_receivable", "fee_receivable")
    readonly_fields = fields
    extra = 0


class InstallmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Installment
    fields = ("number", "due_date", "principal", "interest", "fee", "payment", "remaining_principal", "status")
    readonly_fields = fields
    extra = 0


@admin.register(Loan)
@_all_fields_read_only
class LoanAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "borrower", "product_version", "status", "principal", "principal_outstanding",
                    "value_date", "maturity_date", "branch")
    list_filter = ("status", "product_version__product", "parts__funder")
    search_fields = ("number", "drawdown__number")
    list_select_related = ("applicant", "product_version__product", "branch")
    date_hierarchy = "value_date"
    inlines = [LoanPartInline, InstallmentInline]

    @admin.display(description=_("borrower"))
    def borrower(self, obj):
        return f"{obj.applicant.name} ({obj.applicant.id_number_masked})"
