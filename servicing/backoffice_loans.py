"""Back-office pages of loans (贷款): the list (filter by status, product, funder) and one loan —
terms, sub-ledger balances, funding parts, schedule and journal entries. Branch-scoped."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import DetailView, ListView
from viewflow.urls import AppMenuMixin, Viewset

from .models import Funder, LoanStatus
from .selectors.loans import loan_filter, loan_journal, loan_list_for

VIEW_PERMISSION = "servicing.view_loan"


class LoanListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = VIEW_PERMISSION
    template_name = "servicing/loan_list.html"
    context_object_name = "loans"
    paginate_by = 50

    def _filters(self) -> dict:
        status, funder = self.request.GET.get("status", ""), self.request.GET.get("funder", "")
        return {"status": status if status in LoanStatus.values else "",
                "funder": funder if funder in self._funder_codes() else ""}

    def _funder_codes(self):
        return set(Funder.objects.values_list("code", flat=True))

    def get_queryset(self):
        return loan_filter(loan_list_for(self.request.user), **self._filters()).distinct()

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=LoanStatus.choices, funders=Funder.objects.order_by("code"),
                                        filters=self._filters(), **kwargs)


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
        return super().get_context_data(
            parts=list(loan.parts.all()),
            installments=installments,
            totals={name: sum(getattr(row, name) for row in installments)
                    for name in ("principal", "interest", "fee", "payment")},
            journal=loan_journal(loan=loan),
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
