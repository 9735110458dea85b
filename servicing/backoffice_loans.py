"""Back-office pages of loans (贷款): the portfolio list (filter by status, DPD bucket, product,
funder, branch; sortable; paginated without counting the portfolio) and one loan — terms,
sub-ledger balances, funding parts, the schedule with what is paid and unpaid of each component,
and the loan's journal entries with their lines. Branch-scoped.

Every filter and sort of the list is an indexed condition (``servicing.selectors.loans``): a page
of a million-loan portfolio reads its own rows, not the table; pages go by "next" and "previous"
(fetching one row more than a page) instead of a ``COUNT(*)`` of the filtered portfolio."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, TemplateView
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.organisations.models import Branch
from creditfactory.organisations.scoping import sees_all_branches, visible_branches
from products.models import LoanProduct

from .models import Funder, LoanStatus
from .selectors.loans import (
    DPD_BUCKETS, LOAN_SORTS, dpd_bucket, loan_filter, loan_journal, loan_list_for, loan_portfolio_for,
)

VIEW_PERMISSION = "servicing.view_loan"
PAGE_SIZE = 50
FILTERS = ("status", "dpd", "product", "funder", "branch", "sort")


class LoanListView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = VIEW_PERMISSION
    template_name = "servicing/loan_list.html"

    def _branches(self):
        user = self.request.user
        branches = Branch.objects.all() if sees_all_branches(user) else visible_branches(user)
        return branches.order_by("path")

    def _filters(self) -> dict:
        get = self.request.GET
        allowed = {
            "status": set(LoanStatus.values), "dpd": set(DPD_BUCKETS), "sort": set(LOAN_SORTS),
            "product": set(LoanProduct.objects.values_list("code", flat=True)),
            "funder": set(Funder.objects.values_list("code", flat=True)),
            "branch": {str(pk) for pk in self._branches().values_list("pk", flat=True)},
        }
        return {name: get.get(name, "") if get.get(name, "") in allowed[name] else "" for name in FILTERS}

    def _page_number(self) -> int:
        try:
            return max(int(self.request.GET.get("page", "1")), 1)
        except ValueError:
            return 1

    def get_context_data(self, **kwargs):
        filters = self._filters()
        query = {name: value for name, value in filters.items() if value}
        loans = loan_filter(loan_portfolio_for(self.request.user), status=filters["status"], dpd=filters["dpd"],
                            product=filters["product"], funder=filters["funder"],
                            branch=int(filters["branch"]) if filters["branch"] else None, sort=filters["sort"])
        page = self._page_number()
        rows = list(loans[(page - 1) * PAGE_SIZE: page * PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        for loan in rows:
            loan.dpd_bucket = dpd_bucket(loan.days_past_due)
        return super().get_context_data(
            loans=rows, page=page, filters=filters,
            previous_url=f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else "",
            next_url=f"?{urlencode({**query, 'page': page + 1})}" if has_next else "",
            statuses=LoanStatus.choices, dpd_buckets=[(code, label) for code, (label, _q) in DPD_BUCKETS.items()],
            sorts=[(code, label) for code, (label, _o) in LOAN_SORTS.items()],
            products=LoanProduct.objects.order_by("code"), funders=Funder.objects.order_by("code"),
            branches=self._branches(), **kwargs)


class LoanDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    permission_required = VIEW_PERMISSION
    template_name = "servicing/loan_detail.html"
    context_object_name = "loan"

    def get_object(self, queryset=None):
        loan = loan_list_for(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if loan is None:
            raise Http404
        return loan

    def get_context_data(self, **kwargs):
        loan = self.object
        installments = list(loan.installments.all())
        for row in installments:
            row.principal_unpaid = row.principal - row.principal_paid
            row.interest_unpaid = row.interest - row.interest_paid
            row.fee_unpaid = row.fee - row.fee_paid
            row.penalty_unpaid = row.penalty_accrued - row.penalty_paid
        names = ("principal", "principal_paid", "principal_unpaid", "interest", "interest_accrued", "interest_paid",
                 "interest_unpaid", "fee", "fee_paid", "fee_unpaid", "penalty_accrued", "penalty_paid",
                 "penalty_unpaid", "payment")
        return super().get_context_data(
            parts=list(loan.parts.all()),
            installments=installments,
            totals={name: sum(getattr(row, name) for row in installments) for name in names},
            journal=loan_journal(loan=loan),
            dpd_bucket=DPD_BUCKETS[dpd_bucket(loan.days_past_due)][0],
            **kwargs,
        )


class LoanViewset(AppMenuMixin, Viewset):
    title = _("Loans")
    icon = "account_balance_wallet"
    app_name = "loans"
    index_path = path("", LoanListView.as_view(), name="index")
    detail_path = path("<int:pk>/", LoanDetailView.as_view(), name="detail")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
