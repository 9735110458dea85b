"""Django admin registrations of the servicing app: credit lines, read-only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from .models import CreditLine


@admin.register(CreditLine)
class CreditLineAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "application", "applicant_masked", "product_version", "limit", "used", "rate_percent",
                    "rate_basis", "grade", "valid_until", "status", "created_at")
    list_filter = ("status", "grade", "product_version__product")
    search_fields = ("application__number",)
    list_select_related = ("application", "applicant", "product_version__product")
    date_hierarchy = "created_at"

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj):
        return f"{obj.applicant.name} ({obj.applicant.id_number_masked})"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.concrete_fields]


from . import admin_funding  # noqa: E402,F401  (funders, routing rules, co-lending pairs, payment channels)
from . import admin_ledger  # noqa: E402,F401  (ledger, loans and the business date)
from . import admin_growth  # noqa: E402,F401  (credit growth policies and line reviews)
from . import admin_close  # noqa: E402,F401  (close runs, write-offs, repayments, refunds)
