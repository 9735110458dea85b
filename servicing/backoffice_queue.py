"""The post-loan verification queue (复核) of the back office: bank transfers registered by an
officer awaiting a second person's verification (线下还款: verify — it posts — or reject with a
reason), credit-balance refunds awaiting approval, and write-offs (核销) awaiting approval.
Branch-scoped; each section only for who may decide it. The services check the permission and
the four eyes (the maker never decides); a refusal re-renders the queue with HTTP 422 and the
error on the row's form, a decision redirects with 303."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.core.money import format_money
from creditfactory.organisations.scoping import scope_queryset

from .forms import ReasonForm, WriteOffDecisionForm, refused_onto
from .models import CreditBalanceRefund, Repayment, WriteOffRequest
from .selectors.close import pending_refunds, pending_repayments, pending_write_offs
from .services.close.write_off import APPROVE_PERMISSION as WRITE_OFF_PERMISSION
from .services.close.write_off import write_off_approve, write_off_reject
from .services.repayments import (
    RepaymentRefused, credit_balance_refund_approve, credit_balance_refund_reject, offline_repayment_reject,
    offline_repayment_verify,
)
from .services.repayments.credit import APPROVE_PERMISSION as REFUND_PERMISSION
from .services.repayments.offline import VERIFY_PERMISSION

__all__ = ["VerificationViewset"]

QUEUE_PERMISSIONS = (VERIFY_PERMISSION, REFUND_PERMISSION, WRITE_OFF_PERMISSION)
LIMIT = 200


def may_decide_any(user) -> bool:
    return user.is_authenticated and any(user.has_perm(permission) for permission in QUEUE_PERMISSIONS)


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _scoped(model, user, pk):
    row = scope_queryset(model.objects.all(), user, branch_field="loan__branch").filter(pk=pk).first()
    if row is None:
        raise Http404
    return row


class QueueView(LoginRequiredMixin, View):
    template_name = "servicing/verification_queue.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_decide_any(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def require(self, permission: str) -> None:
        """Refuse before reading the form, so a refused person gets 403 whatever they sent."""
        if not self.request.user.has_perm(permission):
            raise PermissionDenied

    def _section(self, rows, *, errors: dict, kind: str, form_class):
        return [{"row": row, "form": errors.get((kind, row.pk)) or form_class()} for row in rows[:LIMIT]]

    def render_page(self, request, *, errors: dict | None = None, status=200):
        user, errors = request.user, errors or {}
        sections = {}
        if user.has_perm(VERIFY_PERMISSION):
            rows = pending_repayments(user)
            sections["repayments"] = {"count": rows.count(),
                                      "rows": self._section(rows, errors=errors, kind="repayment",
                                                            form_class=ReasonForm)}
        if user.has_perm(REFUND_PERMISSION):
            rows = pending_refunds(user)
            sections["refunds"] = {"count": rows.count(),
                                   "rows": self._section(rows, errors=errors, kind="refund", form_class=ReasonForm)}
        if user.has_perm(WRITE_OFF_PERMISSION):
            rows = pending_write_offs(user)
            sections["write_offs"] = {"count": rows.count(),
                                      "rows": self._section(rows, errors=errors, kind="write_off",
                                                            form_class=WriteOffDecisionForm)}
        return render(request, self.template_name, {"sections": sections, "user_pk": user.pk}, status=status)

    def get(self, request):
        return self.render_page(request)

    def done(self, request, message: str) -> HttpResponse:
        messages.success(request, message)
        return see_other(reverse("lending:verification:index"))

    def refused(self, request, *, kind: str, pk: int, form, exc: RepaymentRefused) -> HttpResponse:
        """On the row's form; a decision refused for the state it is in (decided already: the row
        has left the queue) as a message on the page."""
        if exc.status == 409:
            messages.error(request, exc.message)
            return self.render_page(request, status=422)
        refused_onto(form, exc)
        return self.render_page(request, errors={(kind, pk): form}, status=422)


class RepaymentVerifyView(QueueView):
    def post(self, request, pk):
        self.require(VERIFY_PERMISSION)
        repayment = _scoped(Repayment, request.user, pk)
        try:
            repayment = offline_repayment_verify(repayment=repayment, actor=request.user)
        except RepaymentRefused as exc:
            return self.refused(request, kind="repayment", pk=pk, form=ReasonForm(), exc=exc)
        return self.done(request, _("Repayment %(number)s of %(amount)s verified and posted.")
                         % {"number": repayment.number, "amount": format_money(repayment.amount)})


class RepaymentRejectView(QueueView):
    def post(self, request, pk):
        self.require(VERIFY_PERMISSION)
        repayment = _scoped(Repayment, request.user, pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, errors={("repayment", pk): form}, status=422)
        try:
            repayment = offline_repayment_reject(repayment=repayment, actor=request.user,
                                                 reason=form.cleaned_data["reason"])
        except RepaymentRefused as exc:
            return self.refused(request, kind="repayment", pk=pk, form=form, exc=exc)
        return self.done(request, _("Repayment %(number)s rejected.") % {"number": repayment.number})


class RefundApproveView(QueueView):
    def post(self, request, pk):
        self.require(REFUND_PERMISSION)
        refund = _scoped(CreditBalanceRefund, request.user, pk)
        try:
            refund = credit_balance_refund_approve(refund=refund, actor=request.user)
        except RepaymentRefused as exc:
            return self.refused(request, kind="refund", pk=pk, form=ReasonForm(), exc=exc)
        return self.done(request, _("Refund %(number)s of %(amount)s approved and paid.")
                         % {"number": refund.number, "amount": format_money(refund.amount)})


class RefundRejectView(QueueView):
    def post(self, request, pk):
        self.require(REFUND_PERMISSION)
        refund = _scoped(CreditBalanceRefund, request.user, pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, errors={("refund", pk): form}, status=422)
        try:
            refund = credit_balance_refund_reject(refund=refund, actor=request.user, reason=form.cleaned_data["reason"])
        except RepaymentRefused as exc:
            return self.refused(request, kind="refund", pk=pk, form=form, exc=exc)
        return self.done(request, _("Refund %(number)s rejected.") % {"number": refund.number})


class WriteOffDecideView(QueueView):
    def post(self, request, pk):
        self.require(WRITE_OFF_PERMISSION)
        write_off = _scoped(WriteOffRequest, request.user, pk)
        form = WriteOffDecisionForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, errors={("write_off", pk): form}, status=422)
        data = form.cleaned_data
        try:
            if data["action"] == "approve":
                write_off = write_off_approve(request=write_off, actor=request.user, note=data["note"])
            else:
                write_off = write_off_reject(request=write_off, actor=request.user, reason=data["note"])
        except RepaymentRefused as exc:
            return self.refused(request, kind="write_off", pk=pk, form=form, exc=exc)
        return self.done(request, _("Write-off of loan %(loan)s: %(status)s.")
                         % {"loan": write_off.loan.number, "status": write_off.get_status_display()})


class VerificationViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Verification queue (复核)")
    icon = "fact_check"
    app_name = "verification"
    index_path = path("", QueueView.as_view(), name="index")
    verify_path = path("repayments/<int:pk>/verify/", RepaymentVerifyView.as_view(), name="repayment_verify")
    reject_path = path("repayments/<int:pk>/reject/", RepaymentRejectView.as_view(), name="repayment_reject")
    refund_approve_path = path("refunds/<int:pk>/approve/", RefundApproveView.as_view(), name="refund_approve")
    refund_reject_path = path("refunds/<int:pk>/reject/", RefundRejectView.as_view(), name="refund_reject")
    write_off_path = path("write-offs/<int:pk>/", WriteOffDecideView.as_view(), name="write_off_decide")

    def has_view_permission(self, user, obj=None):
        return may_decide_any(user)
