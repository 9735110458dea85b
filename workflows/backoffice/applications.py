"""The officer's workbench: application list and search, a new application, the application page
(applicant masked with a logged reveal, product, amounts, documents, the risk decision explained,
the flow chart with the current node, history) with its action forms — claim, approve, reject,
return for documents, documents received, reassign (leads), withdraw — and the SLA dashboard.

Everything is branch-scoped (another branch's application answers 404). Invalid POSTs re-render
with HTTP 422 (Turbo only swaps in a re-rendered form on a 4xx); valid ones redirect with 303.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core.display import transition_display
from risk.selectors import current_decision

from ..flows import CreditApplicationFlow
from ..forms.applications import (
    ApproveForm,
    ClaimForm,
    ContractAcceptanceForm,
    DocumentForm,
    NewApplicationForm,
    ReassignForm,
    RejectForm,
    ResumeForm,
    ReturnForm,
    RevealForm,
    SearchForm,
    WithdrawForm,
    apply_application_errors,
)
from ..models import ApplicationStatus, PiiField, TaskSla
from ..selectors import applications as selectors
from ..services import applications as services
from ..services.dispatch import task_reassign

VIEW_PERMISSION = "workflows.view_creditapplication"
ADD_PERMISSION = "workflows.add_creditapplication"
DOCUMENT_PERMISSION = "workflows.add_applicationdocument"


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _url(request, name: str, *args) -> str:
    return reverse(f"{request.resolver_match.namespace}:{name}", args=args)


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class StaffView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class ApplicationListView(StaffView):
    template_name = "workflows/application_list.html"

    def get(self, request):
        form = SearchForm(request.GET or None)
        search = status = ""
        if form.is_valid():
            search, status = form.cleaned_data["q"], form.cleaned_data["status"]
        applications = selectors.application_list_for(request.user, search=search, status=status)[:200]
        return render(request, self.template_name, {
            "form": form, "applications": applications, "searched": bool(search or status),
            "new_url": _url(request, "new") if request.user.has_perm(ADD_PERMISSION) else "",
        })


class NewApplicationView(StaffView):
    permission_required = (VIEW_PERMISSION, ADD_PERMISSION)
    template_name = "workflows/application_new.html"

    def get(self, request):
        return render(request, self.template_name, {"form": NewApplicationForm(user=request.user)})

    def post(self, request):
        form = NewApplicationForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                application = services.application_create(actor=request.user, **form.service_kwargs())
            except ValidationError as exc:
                apply_application_errors(form, exc)
            else:
                messages.success(request, _("Application %(number)s submitted.") % {"number": application.number})
                return see_other(_url(request, "detail", application.pk))
        return render(request, self.template_name, {"form": form}, status=422)


def _decision_context(application) -> dict:
    decision = current_decision(application_id=application.pk)
    if decision is None:
        return {"decision": None}
    try:
        decision_url = reverse("risk:decisions:detail", args=[decision.pk])
    except Exception:  # noqa: BLE001 - the risk pages are optional in the site
        decision_url = ""
    return {"decision": decision, "decision_url": decision_url,
            "decision_steps": decision.steps, "decision_reasons": decision.reasons}


def _signing_context(application, current_node: str) -> dict:
    """What the page says while the application waits at remote signing: the appointment (the
    latest one, active or not) with a link to it, or a link to book one."""
    if current_node != "signing":
        return {}
    appointment = (application.signing_appointments.select_related("officer").order_by("-slot_start", "-id").first())
    try:
        book_url = f"{reverse('signing:appointments:book')}?{urlencode({'application': application.number})}"
        appointment_url = reverse("signing:appointments:detail", args=[appointment.pk]) if appointment else ""
    except Exception:  # noqa: BLE001 - the signing pages are not mounted in this site
        book_url = appointment_url = ""
    return {"signing": {"appointment": appointment, "appointment_url": appointment_url, "book_url": book_url}}


def _chart_url(application) -> str:
    if not application.process_id:
        return ""
    try:
        return CreditApplicationFlow.instance.reverse("process_chart", args=[application.process_id])
    except Exception:  # noqa: BLE001 - the flow is not mounted in this site
        return ""


class ApplicationDetailView(StaffView):
    template_name = "workflows/application_detail.html"

    def get(self, request, pk):
        return self.render_page(request, selectors.application_detail_for(user=request.user, pk=pk))

    def render_page(self, request, application, *, bound=None, status=200, revealed=None):
        task = selectors.application_open_human_task(application)
        node = task.flow_task if task is not None else None
        work_group = task.owner_permission_obj if task is not None else None
        forms = {
            "claim": ClaimForm(), "approve": ApproveForm(), "reject": RejectForm(), "return": ReturnForm(), "resume": ResumeForm(),
            "reveal": RevealForm(), "document": DocumentForm(), "withdraw": WithdrawForm(),
            "reassign": ReassignForm(work_group=work_group), "contract": ContractAcceptanceForm(),
        }
        action_errors = []
        if bound is not None:
            forms[bound[0]] = bound[1]
            # Shown at the top of the page too: the refused form may not be on it for this user.
            action_errors = [str(m) for m in bound[1].non_field_errors()]
        user = request.user
        sla = TaskSla.objects.filter(task=task).first() if task is not None else None
        current_node = selectors.application_current_node(application)
        opinions = selectors.application_opinions(application)
        review_opinions = [opinion for opinion in opinions if opinion["node"] == "review"]
        context = {
            "application": application, "applicant": application.applicant, "task": task, "node": node,
            "work_group": work_group, "forms": forms, "revealed": revealed, "action_errors": action_errors,
            "can_claim": bool(task is not None and not task.owner_id and node.can_assign(user, task)),
            "can_decide": bool(task is not None and (node.can_execute(user, task)
                                                     or (not task.owner_id and node.can_assign(user, task)))),
            "can_reassign": bool(task is not None and (node.is_lead(user, task)
                                                       or node.flow_class.instance.has_manage_permission(user))),
            "is_review": node is not None and node.name == "review",
            "can_resume": application.status == ApplicationStatus.RETURNED,
            "can_record_contract": (application.status == ApplicationStatus.CONTRACT and not application.partner_id
                                    and user.has_perm(services.CONTRACT_PERMISSION)),
            "can_reveal": user.has_perm(services.REVEAL_PERMISSION),
            "can_upload": user.has_perm(DOCUMENT_PERMISSION) and not application.is_closed,
            "can_withdraw": user.has_perm(ADD_PERMISSION) and not application.is_closed,
            "documents": application.documents.select_related("uploaded_by"),
            "history": [transition_display(t) for t in selectors.application_history(application)],
            "opinions": opinions, "review_opinion": review_opinions[-1] if review_opinions else None,
            "is_approval": node is not None and node.name == "approval",
            "tasks": selectors.application_task_history(application),
            "current_node": current_node,
            "chart_url": _chart_url(application),
            "credit_line": getattr(application, "credit_line", None) if application.status == "approved" else None,
            "sla": sla, "sla_overdue": bool(sla is not None and sla.due_at <= timezone.now()),
            "action_urls": {name: _url(request, name, application.pk)
                            for name in ("claim", "approve", "reject", "return", "resume", "reassign", "reveal",
                                         "document", "withdraw", "contract")},
            "list_url": _url(request, "index"),
        }
        context.update(_decision_context(application))
        context.update(_signing_context(application, current_node))
        return render(request, self.template_name, context, status=status)


class ApplicationActionView(ApplicationDetailView):
    """POST of one action form of the application page."""

    action = ""
    form_class = None
    success_message = ""

    def get(self, request, pk):
        return see_other(_url(request, "detail", pk))

    def make_form(self, request, application):
        return self.form_class(request.POST, request.FILES)

    def perform(self, request, application, data):
        raise NotImplementedError

    def post(self, request, pk):
        application = selectors.application_detail_for(user=request.user, pk=pk)
        form = self.make_form(request, application)
        if form.is_valid():
            try:
                result = self.perform(request, application, form.cleaned_data)
            except ValidationError as exc:
                apply_application_errors(form, exc)
            except FlowLockFailed:
                form.add_error(None, _("Someone else is moving this application right now; try again."))
                return self.render_page(request, application, bound=(self.action, form), status=409)
            else:
                if isinstance(result, HttpResponse):
                    return result
                messages.success(request, self.success_message)
                return see_other(_url(request, "detail", pk))
        return self.render_page(request, application, bound=(self.action, form), status=422)


class ClaimView(ApplicationActionView):
    action = "claim"
    success_message = gettext_lazy("The task is yours.")

    def make_form(self, request, application):
        return ClaimForm({})

    def perform(self, request, application, data):
        services.application_claim(application=application, actor=request.user)


class ApproveView(ApplicationActionView):
    action = "approve"
    form_class = ApproveForm
    success_message = gettext_lazy("Approved.")

    def perform(self, request, application, data):
        services.application_approve(application=application, actor=request.user, note=data["note"],
                                     conditions=data["conditions"], request_approval=data["request_approval"])


class RejectView(ApplicationActionView):
    action = "reject"
    form_class = RejectForm
    success_message = gettext_lazy("Rejected.")

    def perform(self, request, application, data):
        services.application_reject(application=application, actor=request.user, reason=data["reason"],
                                    customer_reason=data["customer_reason"])


class ReturnView(ApplicationActionView):
    action = "return"
    form_class = ReturnForm
    success_message = gettext_lazy("Returned for documents; the channel has been told.")

    def perform(self, request, application, data):
        services.application_return_for_documents(application=application, actor=request.user,
                                                  reason=data["reason"], documents=data["documents"])


class ResumeView(ApplicationActionView):
    action = "resume"
    form_class = ResumeForm
    success_message = gettext_lazy("Documents received: back to the step that asked for them.")

    def perform(self, request, application, data):
        services.application_resume_after_documents(application=application, actor=request.user, note=data["note"])


class ContractAcceptanceView(ApplicationActionView):
    action = "contract"
    form_class = ContractAcceptanceForm
    success_message = gettext_lazy("Contract acceptance recorded: the credit line is granted.")

    def perform(self, request, application, data):
        services.application_record_contract_acceptance(
            application=application, actor=request.user, signing=data["signing"], reference=data["reference"],
            note=data["note"])


class ReassignView(ApplicationActionView):
    action = "reassign"
    success_message = gettext_lazy("Task reassigned.")

    def make_form(self, request, application):
        task = selectors.application_open_human_task(application)
        return ReassignForm(request.POST, work_group=task.owner_permission_obj if task is not None else None)

    def perform(self, request, application, data):
        task = selectors.application_open_human_task(application)
        if task is None:
            raise ValidationError({"to_user": [_("Nothing of this application is waiting in a queue.")]})
        task_reassign(task=task, to_user=data["to_user"], actor=request.user)


class RevealView(ApplicationActionView):
    action = "reveal"
    form_class = RevealForm

    def perform(self, request, application, data):
        value = services.application_reveal_pii(application=application, user=request.user, field=data["field"],
                                                reason=data["reason"], ip_address=_client_ip(request))
        # Shown once on this response; never put in a URL, the session or a message.
        response = self.render_page(request, application, revealed={
            "field": data["field"], "label": PiiField(data["field"]).label, "value": value})
        response["Cache-Control"] = "no-store"
        return response


class DocumentView(ApplicationActionView):
    action = "document"
    form_class = DocumentForm
    success_message = gettext_lazy("Document uploaded.")

    def perform(self, request, application, data):
        if not request.user.has_perm(DOCUMENT_PERMISSION):
            raise PermissionDenied
        services.application_add_document(application=application, file=data["file"], kind=data["kind"],
                                          note=data["note"], actor=request.user, resume=data["resume"])


class WithdrawView(ApplicationActionView):
    action = "withdraw"
    form_class = WithdrawForm
    success_message = gettext_lazy("Application withdrawn.")

    def perform(self, request, application, data):
        if not request.user.has_perm(ADD_PERMISSION):
            raise PermissionDenied
        services.application_withdraw(application=application, reason=data["reason"], actor=request.user)


class DocumentDownloadView(StaffView):
    def get(self, request, pk, document_pk):
        application = selectors.application_detail_for(user=request.user, pk=pk)
        document = application.documents.filter(pk=document_pk).first()
        if document is None:
            raise Http404
        response = FileResponse(document.file.open("rb"), content_type=document.content_type, as_attachment=True,
                                filename=document.name)
        response["Cache-Control"] = "no-store"
        return response


class SlaDashboardView(StaffView):
    template_name = "workflows/sla_dashboard.html"

    def get(self, request):
        return render(request, self.template_name, selectors.sla_dashboard_for(request.user))


class ApplicationViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Applications")
    icon = "assignment_ind"
    app_name = "applications"
    index_path = path("", ApplicationListView.as_view(), name="index")
    new_path = path("new/", NewApplicationView.as_view(), name="new")
    detail_path = path("<int:pk>/", ApplicationDetailView.as_view(), name="detail")
    claim_path = path("<int:pk>/claim/", ClaimView.as_view(), name="claim")
    approve_path = path("<int:pk>/approve/", ApproveView.as_view(), name="approve")
    reject_path = path("<int:pk>/reject/", RejectView.as_view(), name="reject")
    return_path = path("<int:pk>/return/", ReturnView.as_view(), name="return")
    resume_path = path("<int:pk>/resume/", ResumeView.as_view(), name="resume")
    reassign_path = path("<int:pk>/reassign/", ReassignView.as_view(), name="reassign")
    contract_path = path("<int:pk>/contract/", ContractAcceptanceView.as_view(), name="contract")
    reveal_path = path("<int:pk>/reveal/", RevealView.as_view(), name="reveal")
    document_path = path("<int:pk>/documents/", DocumentView.as_view(), name="document")
    document_download_path = path("<int:pk>/documents/<int:document_pk>/", DocumentDownloadView.as_view(),
                                  name="document_download")
    withdraw_path = path("<int:pk>/withdraw/", WithdrawView.as_view(), name="withdraw")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)


class SlaViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("SLA dashboard")
    icon = "timer"
    app_name = "sla"
    index_path = path("", SlaDashboardView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
