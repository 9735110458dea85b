"""Back-office pages of collections (催收): the collector's workbench (my cases and my work
groups' unassigned ones, by the compliance policy's priority, default principal outstanding ×
DPD), the case page (loan, schedule, payable now, contacts, promises, the borrower's data masked
with a logged reveal, one form to record a contact and/or a promise, a card per kind of task —
"done for this round" for a call task, the result of a field visit (外访), a legal referral
(法务移交) and its approval by the lead — a hardship request and its four-eyes decision, a lead's
reassignment) and the
figures page (filterable by product, branch, funder and date range; charts from local assets).

Invalid POSTs re-render with HTTP 422 naming the field (a refused contact names its compliance
rule); a recorded action redirects with 303 to the case page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from collection.models import (
    CollectionCase, ComplianceRule, ContactChannel, ContactParty, ContactResult, EmergencyContact, HardshipHold,
    HardshipStatus, LegalReferral, LegalReferralStatus, VisitResult,
)
from collection.selectors import collection_figures, workbench_cases
from collection.services.agencies import case_reassign
from collection.services.contacts import (
    ContactRefused, compliance_policy, contact_record, hardship_approve, hardship_reject, hardship_request,
)
from collection.services.fieldwork import legal_referral_allowed, legal_referral_decide
from creditfactory.core import forms as ascii_forms
from creditfactory.core.display import format_date
from creditfactory.organisations.models import Branch, WorkGroup
from creditfactory.organisations.scoping import scope_queryset, visible_branches
from products.models import LoanProduct
from servicing.models import Funder, Loan
from servicing.services.repayments.quotes import loan_quote

from ..forms.line_changes import apply_service_errors
from ..models import PiiField
from ..services.applications import application_reveal_pii
from ..services.collection_cases import case_legal_refer, case_open_task, case_visit_record, collection_task_complete

VIEW_PERMISSION = "collections.view_collectioncase"
FIGURES_PERMISSION = "collections.view_collection_figures"


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


class ContactForm(forms.Form):
    """One form for a contact and, optionally, the promise to pay made in it."""

    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=ContactChannel.choices)
    party = forms.ChoiceField(label=gettext_lazy("Contacted"), choices=ContactParty.choices,
                              initial=ContactParty.BORROWER)
    emergency_contact = forms.ModelChoiceField(label=gettext_lazy("Emergency contact"),
                                               queryset=EmergencyContact.objects.none(), required=False)
    # "calling" is the voice robot's, while its call is under way
    result = forms.ChoiceField(label=gettext_lazy("Result"),
                               choices=[c for c in ContactResult.choices if c[0] != ContactResult.CALLING])
    notes = forms.CharField(label=gettext_lazy("Notes"), widget=forms.Textarea(attrs={"rows": 2}), required=False)
    promise_amount = ascii_forms.DecimalField(label=gettext_lazy("Promised amount (CNY)"), required=False,
                                        max_digits=18, decimal_places=2, min_value=0)
    promise_due_on = forms.DateField(label=gettext_lazy("Promised by"), required=False,
                                     widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["emergency_contact"].queryset = EmergencyContact.objects.filter(
            applicant_id=case.loan.applicant_id)

    def clean(self):
        data = super().clean()
        if (data.get("promise_amount") is None) != (data.get("promise_due_on") is None):
            missing = "promise_due_on" if data.get("promise_due_on") is None else "promise_amount"
            self.add_error(missing, _("A promise needs both its amount and its date."))
        return data


class RevealForm(forms.Form):
    field = forms.ChoiceField(label=gettext_lazy("Field"), choices=PiiField.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


class HardshipForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("Contact pauses once someone else approves it."))


class HardshipDecisionForm(forms.Form):
    hold = ascii_forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case

    def clean_hold(self):
        hold = HardshipHold.objects.filter(pk=self.cleaned_data["hold"], case=self.case).first()
        if hold is None:
            raise ValidationError(_("There is no such hardship request on this case."))
        if hold.status != HardshipStatus.REQUESTED:
            raise ValidationError(_("This hardship request was decided already."))
        return hold


class VisitForm(forms.Form):
    result = forms.ChoiceField(label=gettext_lazy("Visit result"), choices=VisitResult.choices)
    notes = forms.CharField(label=gettext_lazy("Notes"), max_length=2000, required=False,
                            widget=forms.Textarea(attrs={"rows": 2}))


class LegalReferralForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=gettext_lazy("The work group's lead approves the referral."))


class LegalDecisionForm(forms.Form):
    referral = ascii_forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))])
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, required=False)

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        self.case = case

    def clean_referral(self):
        referral = LegalReferral.objects.filter(pk=self.cleaned_data["referral"], case=self.case).first()
        if referral is None:
            raise ValidationError(_("There is no such legal referral on this case."))
        if referral.status != LegalReferralStatus.REQUESTED:
            raise ValidationError(_("This legal referral was decided already."))
        return referral


class ReassignForm(forms.Form):
    work_group = forms.ModelChoiceField(label=gettext_lazy("Work group"), queryset=WorkGroup.objects.none(),
                                        required=False, help_text=gettext_lazy("Empty: the case's own."))
    collector = forms.ModelChoiceField(label=gettext_lazy("Collector"), queryset=get_user_model().objects.none(),
                                       required=False, help_text=gettext_lazy("Empty: the work group's shared queue."))

    def __init__(self, *args, case: CollectionCase, **kwargs):
        super().__init__(*args, **kwargs)
        groups = WorkGroup.objects.filter(is_active=True, branch=case.loan.branch).order_by("name")
        self.fields["work_group"].queryset = groups
        self.fields["collector"].queryset = (get_user_model().objects.filter(is_active=True, work_groups__in=groups)
                                             .distinct().order_by("username"))
        self.fields["collector"].label_from_instance = lambda user: user.get_full_name() or user.get_username()


def _may_reassign(user, case: CollectionCase) -> bool:
    return user.has_perm("collections.reassign_collectioncase") or (
        case.work_group is not None and case.work_group.lead_id == user.pk)


def _case_for(user, pk: int) -> CollectionCase:
    """A case of a loan in the user's branches (404 otherwise: its existence is not disclosed)."""
    case = (CollectionCase.objects.select_related("loan__applicant", "loan__product_version__product",
                                                  "loan__credit_line__application", "work_group", "collector",
                                                  "agency", "strategy_version").filter(pk=pk).first())
    if case is None or not scope_queryset(Loan.objects.filter(pk=case.loan_id), user).exists():
        raise Http404
    return case


class CollectionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class WorkbenchView(CollectionView):
    def get(self, request):
        cases = list(workbench_cases(request.user)[:200])
        return render(request, "collection/workbench.html", {
            "cases": cases, "priority": compliance_policy().get_workbench_priority_display()})


class CaseDetailView(CollectionView):
    def render_page(self, request, case, *, form=None, reveal_form=None, revealed=None, hardship_form=None,
                    decision_form=None, reassign_form=None, visit_form=None, legal_form=None,
                    legal_decision_form=None, status=200):
        loan = case.loan
        open_case = case.status == "open"
        task = case_open_task(case)
        may_refer = legal_referral_allowed(case)
        return render(request, "collection/case_detail.html", {
            "task_kind": task.flow_task.name if task else None,
            "visits": list(case.visits.select_related("contact__collector", "contact__agency")),
            "visit_form": (visit_form or VisitForm()) if open_case else None,
            "referrals": list(case.legal_referrals.select_related("requested_by", "decided_by")),
            "legal_form": (legal_form or LegalReferralForm()) if (may_refer or legal_form) else None,
            "legal_decision_form": legal_decision_form,
            "may_decide_legal": request.user.has_perm("collections.approve_legalreferral") or (
                case.work_group is not None and case.work_group.lead_id == request.user.pk),
            "hardship_form": hardship_form or (HardshipForm() if open_case else None),
            "decision_form": decision_form, "may_decide": request.user.has_perm("collections.approve_hardshiphold"),
            "reassign_form": (reassign_form or ReassignForm(case=case))
            if open_case and _may_reassign(request.user, case) else None,
            "case": case, "loan": loan, "installments": list(loan.installments.all()),
            "payable": loan_quote(loan=loan, kind="payoff").payable if loan.status in ("active", "overdue") else None,
            "contacts": list(case.contacts.select_related("collector", "agency", "emergency_contact")[:100]),
            "promises": list(case.promises.select_related("collector", "agency")),
            "refusals": list(case.refusals.all()[:20]),
            "holds": list(case.hardship_holds.select_related("requested_by", "decided_by").order_by("-id")),
            "task": task,
            "form": form or ContactForm(case=case),
            "reveal_form": reveal_form or RevealForm(), "revealed": revealed,
        }, status=status)

    def get(self, request, pk):
        return self.render_page(request, _case_for(request.user, pk))

    def post(self, request, pk):
        case = _case_for(request.user, pk)
        action = request.POST.get("action", "record")
        if action == "reveal":
            return self._reveal(request, case)
        if action in ("hardship", "hardship_decide", "reassign", "visit", "legal", "legal_decide"):
            return getattr(self, "_" + action)(request, case)
        if action == "done":
            try:
                collection_task_complete(case=case, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("The task is done; the next round is in the queue while the case "
                                            "needs it."))
            return see_other(reverse("collection:cases:detail", args=[case.pk]))
        form = ContactForm(request.POST, case=case)
        if not form.is_valid():
            return self.render_page(request, case, form=form, status=422)
        data = form.cleaned_data
        try:
            contact_record(case=case, channel=data["channel"], result=data["result"], party=data["party"],
                           emergency_contact=data["emergency_contact"], notes=data["notes"], actor=request.user,
                           promise_amount=data["promise_amount"], promise_due_on=data["promise_due_on"])
        except ContactRefused as exc:
            form.add_error(None, _("Refused (%(rule)s): %(reason)s") % {"rule": exc.rule_label, "reason": exc})
            return self.render_page(request, case, form=form, status=422)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, form=form, status=422)
        messages.success(request, _("Recorded."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _hardship(self, request, case):
        form = HardshipForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, case, hardship_form=form, status=422)
        try:
            hardship_request(case=case, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, hardship_form=form, status=422)
        messages.success(request, _("Hardship request recorded; contact pauses once someone else approves it."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _hardship_decide(self, request, case):
        form = HardshipDecisionForm(request.POST, case=case)
        if not form.is_valid():
            return self.render_page(request, case, decision_form=form, status=422)
        data = form.cleaned_data
        try:
            if data["decision"] == "approve":
                hold = hardship_approve(hold=data["hold"], actor=request.user)
            else:
                hold = hardship_reject(hold=data["hold"], actor=request.user, reason=data["reason"])
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self.render_page(request, case, decision_form=form, status=403)
        if hold.status == HardshipStatus.APPROVED:
            messages.success(request, _("Hardship hold approved: no contact from %(start)s through %(end)s.")
                             % {"start": format_date(hold.start), "end": format_date(hold.end)})
        else:
            messages.success(request, _("Hardship request rejected."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _visit(self, request, case):
        form = VisitForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, case, visit_form=form, status=422)
        try:
            case_visit_record(case=case, result=form.cleaned_data["result"], notes=form.cleaned_data["notes"],
                              actor=request.user)
        except ContactRefused as exc:
            form.add_error(None, _("Refused (%(rule)s): %(reason)s") % {"rule": exc.rule_label, "reason": exc})
            return self.render_page(request, case, visit_form=form, status=422)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, visit_form=form, status=422)
        messages.success(request, _("Field visit recorded."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _legal(self, request, case):
        form = LegalReferralForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, case, legal_form=form, status=422)
        try:
            case_legal_refer(case=case, reason=form.cleaned_data["reason"], actor=request.user)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, legal_form=form, status=422)
        messages.success(request, _("Legal referral requested; the work group's lead approves it."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _legal_decide(self, request, case):
        form = LegalDecisionForm(request.POST, case=case)
        if not form.is_valid():
            return self.render_page(request, case, legal_decision_form=form, status=422)
        data = form.cleaned_data
        try:
            referral = legal_referral_decide(referral=data["referral"], actor=request.user,
                                             approve=data["decision"] == "approve", reason=data["reason"])
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
            return self.render_page(request, case, legal_decision_form=form, status=403)
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, legal_decision_form=form, status=422)
        messages.success(request, _("Legal referral approved.") if referral.status == LegalReferralStatus.APPROVED
                         else _("Legal referral rejected."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _reassign(self, request, case):
        if not _may_reassign(request.user, case):
            raise PermissionDenied(_("Only the work group's lead reassigns its cases."))
        form = ReassignForm(request.POST, case=case)
        if not form.is_valid():
            return self.render_page(request, case, reassign_form=form, status=422)
        try:
            case_reassign(case=case, actor=request.user, collector=form.cleaned_data["collector"],
                          work_group=form.cleaned_data["work_group"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, reassign_form=form, status=422)
        messages.success(request, _("Case reassigned."))
        return see_other(reverse("collection:cases:detail", args=[case.pk]))

    def _reveal(self, request, case):
        form = RevealForm(request.POST)
        if not form.is_valid():
            return self.render_page(request, case, reveal_form=form, status=422)
        application = case.loan.credit_line.application
        try:
            value = application_reveal_pii(application=application, user=request.user, field=form.cleaned_data["field"],
                                           reason=form.cleaned_data["reason"], ip_address=request.META.get("REMOTE_ADDR"))
        except ValidationError as exc:
            apply_service_errors(form, exc)
            return self.render_page(request, case, reveal_form=form, status=422)
        label = dict(PiiField.choices)[form.cleaned_data["field"]]
        return self.render_page(request, case, revealed=(label, value))


class FiguresFilterForm(forms.Form):
    product = forms.ModelChoiceField(label=gettext_lazy("Product"), queryset=LoanProduct.objects.all(),
                                     required=False)
    branch = forms.ModelChoiceField(label=gettext_lazy("Branch"), queryset=Branch.objects.none(), required=False)
    funder = forms.ModelChoiceField(label=gettext_lazy("Funder"), queryset=Funder.objects.all(), required=False)
    date_from = forms.DateField(label=gettext_lazy("Opened from"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("Opened through"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = visible_branches(user)


class FiguresView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = FIGURES_PERMISSION

    def get(self, request):
        form = FiguresFilterForm(request.GET or None, user=request.user)
        filters = {}
        if form.is_bound and not form.is_valid():
            return render(request, "collection/figures.html", {"form": form, "figures": None}, status=422)
        if form.is_bound:
            filters = {name: value for name, value in form.cleaned_data.items() if value not in (None, "")}
        figures = collection_figures(**filters)
        refusals = [(ComplianceRule(rule).label, count) for rule, count in sorted(figures["refusals"].items())]
        return render(request, "collection/figures.html", {"form": form, "figures": figures, "refusals": refusals})


class CollectionViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Collections (催收)")
    icon = "support_agent"
    app_name = "cases"
    index_path = path("", WorkbenchView.as_view(), name="index")
    detail_path = path("<int:pk>/", CaseDetailView.as_view(), name="detail")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)


class FiguresViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Collection figures")
    icon = "insights"
    app_name = "figures"
    index_path = path("", FiguresView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(FIGURES_PERMISSION)
