"""Back-office pages of drawdowns (借款): the list, the drawdown page (why this funder, the
disbursement attempts and callbacks, the state log), entering a drawdown for a credit line,
cancelling one, and the disbursement review (放款审核) form. Thin: each POST calls one service
of ``workflows.services.drawdowns``; branch scoping as for applications."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import DetailView, FormView, ListView
from viewflow.urls import AppMenuMixin, Viewset
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core import forms as cf_forms
from creditfactory.core.state import transitions_for
from creditfactory.organisations.scoping import scope_queryset
from products.choices import RepaymentMethod
from servicing.models import CreditLine, Disbursement, DisbursementEvent, DrawdownStatus, OPEN_DRAWDOWN_STATUSES
from servicing.routing import explanation_lines
from servicing.services.drawdowns import DrawdownRefused

from ..selectors.drawdowns import drawdown_open_task, drawdown_process, drawdown_queryset, four_eyes_excluded
from ..services import drawdowns as services

__all__ = ["DrawdownViewset"]

VIEW_PERMISSION = "servicing.view_drawdown"


def _drawdowns(user):
    return scope_queryset(drawdown_queryset(), user)


def _detail_url(pk: int) -> str:
    return reverse("lending:drawdowns:detail", args=[pk])


class DrawdownListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = VIEW_PERMISSION
    template_name = "workflows/drawdown_list.html"
    context_object_name = "drawdowns"
    paginate_by = 50

    def get_queryset(self):
        queryset = _drawdowns(self.request.user)
        status = self.request.GET.get("status", "")
        if status in DrawdownStatus.values:
            queryset = queryset.filter(status=status)
        return queryset

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=DrawdownStatus.choices, status=self.request.GET.get("status", ""),
                                        **kwargs)


class DrawdownDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    permission_required = VIEW_PERMISSION
    template_name = "workflows/drawdown_detail.html"
    context_object_name = "drawdown"

    def get_queryset(self):
        return _drawdowns(self.request.user)

    def get_context_data(self, **kwargs):
        drawdown, user = self.object, self.request.user
        disbursement = Disbursement.objects.filter(drawdown=drawdown).select_related("channel").first()
        events = DisbursementEvent.objects.filter(disbursement=disbursement).order_by("at", "id") if disbursement \
            else DisbursementEvent.objects.none()
        process = drawdown_process(drawdown)
        review_task = drawdown_open_task(process, name="review")
        may_review = bool(review_task and user.has_perm("servicing.review_drawdown")
                          and user.pk not in four_eyes_excluded(review_task.process))
        return super().get_context_data(
            routing=explanation_lines(drawdown.routing or {}),
            funding=list(drawdown.funding.all()),
            disbursement=disbursement,
            events=events,
            transitions=transitions_for(drawdown).order_by("at", "id"),
            review_open=review_task is not None,
            may_review=may_review,
            may_cancel=drawdown.status in OPEN_DRAWDOWN_STATUSES and user.has_perm("servicing.cancel_drawdown"),
            loan=getattr(drawdown, "loan", None),  # None until booked (the reverse one-to-one raises)
            **kwargs,
        )


class DrawdownEntryForm(forms.Form):
    amount = cf_forms.DecimalField(label=gettext_lazy("Amount"), max_digits=14, decimal_places=2, min_value=0)
    term = cf_forms.IntegerField(label=gettext_lazy("Term"), min_value=1, max_value=600)
    repayment_method = forms.ChoiceField(label=gettext_lazy("Repayment method"), choices=RepaymentMethod.choices)
    purpose = forms.CharField(label=gettext_lazy("Purpose"), max_length=24)
    bank_account = forms.CharField(label=gettext_lazy("Bank account"), max_length=40)


class DrawdownNewView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    """Enter a drawdown for a credit line (the borrower asked at the branch or by phone)."""

    permission_required = "servicing.enter_drawdown"
    template_name = "workflows/drawdown_new.html"
    form_class = DrawdownEntryForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            line = scope_queryset(CreditLine.objects.select_related("product_version"), request.user).filter(
                pk=kwargs["line_pk"]).first()
            if line is None:
                raise Http404
            self.line = line
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(line=self.line, **kwargs)

    def form_valid(self, form):
        data = {**form.cleaned_data, "amount": f"{form.cleaned_data['amount']:.2f}"}
        try:
            drawdown = services.drawdown_request(line=self.line, data=data, actor=self.request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        except DrawdownRefused as exc:
            form.add_error("amount" if "amount" in exc.errors else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Drawdown %(number)s entered.") % {"number": drawdown.number})
        return redirect(_detail_url(drawdown.pk))


class _DrawdownAction(LoginRequiredMixin, View):
    """A POST on one drawdown the user may see; errors come back as messages on its page, a missing
    permission as the 403 page (nothing is written)."""

    def post(self, request, pk):
        drawdown = _drawdowns(request.user).filter(pk=pk).first()
        if drawdown is None:
            raise Http404
        try:
            self.act(request, drawdown)
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        except DrawdownRefused as exc:
            messages.error(request, str(exc))
        except FlowLockFailed:
            messages.error(request, _("Another request is moving this drawdown right now; retry shortly."))
        return redirect(_detail_url(pk))


class DrawdownCancelView(_DrawdownAction):
    def act(self, request, drawdown):
        if not request.user.has_perm("servicing.cancel_drawdown"):
            raise PermissionDenied(_("You may not cancel drawdowns."))
        services.drawdown_withdraw(drawdown=drawdown, reason=request.POST.get("reason", ""), actor=request.user)
        messages.success(request, _("Drawdown %(number)s cancelled.") % {"number": drawdown.number})


class DrawdownReviewView(_DrawdownAction):
    def act(self, request, drawdown):
        action = "approve" if "approve" in request.POST else "reject" if "reject" in request.POST else ""
        services.drawdown_review(drawdown=drawdown, actor=request.user, action=action,
                                 reason=request.POST.get("reason", ""))
        messages.success(request, _("Review recorded."))


class DrawdownViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Drawdowns")
    icon = "payments"
    app_name = "drawdowns"
    index_path = path("", DrawdownListView.as_view(), name="index")
    detail_path = path("<int:pk>/", DrawdownDetailView.as_view(), name="detail")
    new_path = path("new/<int:line_pk>/", DrawdownNewView.as_view(), name="new")
    cancel_path = path("<int:pk>/cancel/", DrawdownCancelView.as_view(), name="cancel")
    review_path = path("<int:pk>/review/", DrawdownReviewView.as_view(), name="review")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
