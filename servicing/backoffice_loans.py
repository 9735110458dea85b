"""Back-office pages of loans (贷款): the portfolio list (filter by status, DPD bucket, product,
funder, branch; sortable; paginated without counting the portfolio) and one loan — terms,
sub-ledger balances, funding parts, the schedule with what is paid and unpaid of each component,
today's quote (the API's ``loan_quote``: due today, payoff, a prepayment of a chosen principal),
its transactions, repayments, refunds and write-offs, and its journal entries with their lines.
On it, an officer registers a bank transfer (线下还款), requests a credit-balance refund or
proposes a write-off; a second person decides each in the verification queue
(``servicing.backoffice_queue``). Branch-scoped; a refused form re-renders with HTTP 422.

Every filter and sort of the list is an indexed condition (``servicing.selectors.loans``): a page
of a million-loan portfolio reads its own rows, not the table; pages go by "next" and "previous"
(fetching one row more than a page) instead of a ``COUNT(*)`` of the filtered portfolio."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import TemplateView
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.core.money import format_money
from creditfactory.organisations.models import Branch
from creditfactory.organisations.scoping import sees_all_branches, visible_branches
from products.models import LoanProduct

from .forms import OfflineRepaymentForm, PrepaymentQuoteForm, RefundRequestForm, WriteOffProposalForm, refused_onto
from .models import Funder, LoanStatus, RepaymentKind, WriteOffStatus
from .selectors.loans import (
    DPD_BUCKETS, LOAN_SORTS, dpd_bucket, loan_filter, loan_journal, loan_list_for, loan_portfolio_for, loan_refunds,
    loan_repayments, loan_transactions,
)
from .services.calendar import business_date
from .services.close.write_off import PROPOSE_PERMISSION as PROPOSE_WRITE_OFF_PERMISSION
from .services.close.write_off import write_off_propose
from .services.repayments import (
    RepaymentRefused, credit_balance_refund_request, loan_quote, offline_repayment_register,
)
from .services.repayments.credit import APPROVE_PERMISSION as APPROVE_REFUND_PERMISSION
from .services.repayments.credit import REQUEST_PERMISSION as REQUEST_REFUND_PERMISSION
from .services.repayments.offline import REGISTER_PERMISSION, VERIFY_PERMISSION
from .services.repayments.quotes import is_revolving

VIEW_PERMISSION = "servicing.view_loan"
PAGE_SIZE = 50
FILTERS = ("status", "dpd", "product", "funder", "branch", "sort")
OPEN = (LoanStatus.ACTIVE, LoanStatus.OVERDUE)


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


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


class LoanDetailView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One loan; its forms post to the views below, which re-render it with HTTP 422 on an error."""

    permission_required = VIEW_PERMISSION
    template_name = "servicing/loan_detail.html"

    def loan(self, request, pk):
        loan = loan_list_for(request.user).filter(pk=pk).first()
        if loan is None:
            raise Http404
        return loan

    def get(self, request, pk):
        return self.render_page(request, self.loan(request, pk))

    def _quotes(self, loan) -> dict:
        """Today's quotes, from the service the API answers with (``loan_quote``): what is payable,
        the payoff, and a prepayment of the principal asked for in the GET form."""
        if loan.status not in OPEN:
            return {"quote_form": None}
        today, payoff, payoff_refused = loan_quote(loan=loan, kind=RepaymentKind.REGULAR), None, ""
        try:
            payoff = loan_quote(loan=loan, kind=RepaymentKind.PAYOFF)
        except RepaymentRefused as exc:
            payoff_refused = exc.message
        quote_form, prepayment = None, None
        if not is_revolving(loan) and loan.product_version.prepayment_allowed:
            asked = "principal" in self.request.GET
            quote_form = PrepaymentQuoteForm(self.request.GET if asked else None)
            if asked and quote_form.is_valid():
                try:
                    prepayment = loan_quote(loan=loan, kind=RepaymentKind.PREPAYMENT,
                                            principal=quote_form.cleaned_data["principal"])
                except RepaymentRefused as exc:
                    refused_onto(quote_form, exc)
        return {"quote_today": today, "payoff": payoff, "payoff_refused": payoff_refused, "quote_form": quote_form,
                "prepayment": prepayment}

    def render_page(self, request, loan, *, repayment_form=None, refund_form=None, write_off_form=None, status=200):
        installments = list(loan.installments.all())
        for row in installments:
            row.principal_unpaid = row.principal - row.principal_paid
            row.interest_unpaid = row.interest - row.interest_paid
            row.fee_unpaid = row.fee - row.fee_paid
            row.penalty_unpaid = row.penalty_accrued - row.penalty_paid
        names = ("principal", "principal_paid", "principal_unpaid", "interest", "interest_accrued", "interest_paid",
                 "interest_unpaid", "fee", "fee_paid", "fee_unpaid", "penalty_accrued", "penalty_paid",
                 "penalty_unpaid", "payment")
        user, is_open = request.user, loan.status in OPEN
        may_register = is_open and user.has_perm(REGISTER_PERMISSION)
        may_refund = loan.credit_balance > 0 and user.has_perm(REQUEST_REFUND_PERMISSION)
        write_offs = list(loan.write_off_requests.select_related("proposed_by", "decided_by").order_by("-id")[:20])
        may_propose = (is_open and user.has_perm(PROPOSE_WRITE_OFF_PERMISSION)
                       and not any(w.status == WriteOffStatus.PENDING for w in write_offs))
        return render(request, self.template_name, {
            "loan": loan, "parts": list(loan.parts.all()), "installments": installments,
            "totals": {name: sum(getattr(row, name) for row in installments) for name in names},
            "journal": loan_journal(loan=loan), "dpd_bucket": DPD_BUCKETS[dpd_bucket(loan.days_past_due)][0],
            "business_date": business_date(), "transactions": loan_transactions(loan=loan),
            "repayments": list(loan_repayments(loan=loan)[:100]), "refunds": list(loan_refunds(loan=loan)[:100]),
            "repayment_form": (repayment_form or OfflineRepaymentForm()) if may_register else None,
            "refund_form": (refund_form or RefundRequestForm()) if may_refund else None,
            "write_offs": write_offs,
            "write_off_form": (write_off_form or WriteOffProposalForm()) if may_propose else None,
            "may_verify": user.has_perm(VERIFY_PERMISSION),
            "may_approve_refund": user.has_perm(APPROVE_REFUND_PERMISSION),
            **self._quotes(loan),
        }, status=status)


class LoanRepaymentRegisterView(LoanDetailView):
    """Register a bank transfer (线下还款) on the loan: it waits for a second person's verification."""

    def post(self, request, pk):
        loan = self.loan(request, pk)
        if not request.user.has_perm(REGISTER_PERMISSION):
            raise PermissionDenied
        form = OfflineRepaymentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                repayment = offline_repayment_register(
                    loan=loan, amount=data["amount"], kind=data["kind"], principal=data.get("principal"),
                    reference=data["reference"], note=data.get("note") or "", actor=request.user)
            except RepaymentRefused as exc:
                refused_onto(form, exc)
            else:
                messages.success(request, _("Repayment %(number)s of %(amount)s registered: it posts once someone "
                                            "else verifies it.") % {"number": repayment.number,
                                                                    "amount": format_money(repayment.amount)})
                return see_other(reverse("lending:loans:detail", args=[loan.pk]))
        return self.render_page(request, loan, repayment_form=form, status=422)


class LoanRefundRequestView(LoanDetailView):
    """Ask to refund (part of) the loan's credit balance (溢缴款退款): a second person approves it."""

    def post(self, request, pk):
        loan = self.loan(request, pk)
        if not request.user.has_perm(REQUEST_REFUND_PERMISSION):
            raise PermissionDenied
        form = RefundRequestForm(request.POST)
        if form.is_valid():
            try:
                refund = credit_balance_refund_request(loan=loan, amount=form.cleaned_data["amount"],
                                                       reason=form.cleaned_data["reason"], actor=request.user)
            except RepaymentRefused as exc:
                refused_onto(form, exc)
            else:
                messages.success(request, _("Refund %(number)s of %(amount)s requested: it is paid once someone else "
                                            "approves it.") % {"number": refund.number,
                                                               "amount": format_money(refund.amount)})
                return see_other(reverse("lending:loans:detail", args=[loan.pk]))
        return self.render_page(request, loan, refund_form=form, status=422)


class LoanWriteOffProposeView(LoanDetailView):
    """Propose writing the loan off (核销) before the close would: someone else approves it."""

    def post(self, request, pk):
        loan = self.loan(request, pk)
        if not request.user.has_perm(PROPOSE_WRITE_OFF_PERMISSION):
            raise PermissionDenied
        form = WriteOffProposalForm(request.POST)
        if form.is_valid():
            try:
                write_off_propose(loan=loan, actor=request.user, note=form.cleaned_data["note"])
            except RepaymentRefused as exc:
                refused_onto(form, exc)
            else:
                messages.success(request, _("Write-off of loan %(loan)s proposed: it is decided by someone else.")
                                 % {"loan": loan.number})
                return see_other(reverse("lending:loans:detail", args=[loan.pk]))
        return self.render_page(request, loan, write_off_form=form, status=422)


class LoanViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Loans")
    icon = "account_balance_wallet"
    app_name = "loans"
    index_path = path("", LoanListView.as_view(), name="index")
    detail_path = path("<int:pk>/", LoanDetailView.as_view(), name="detail")
    register_path = path("<int:pk>/repayments/", LoanRepaymentRegisterView.as_view(), name="register")
    refund_path = path("<int:pk>/refunds/", LoanRefundRequestView.as_view(), name="refund")
    write_off_path = path("<int:pk>/write-off/", LoanWriteOffProposeView.as_view(), name="write_off")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
