"""The back office: one viewflow ``Site`` that every app contributes its pages to.

Built on viewflow's frontend (Material layout, turbo navigation, local static assets) so the
workflow inbox, queue and archive of later issues sit beside our own pages.
"""

from django.contrib.auth.views import redirect_to_login
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application, Site
from viewflow.workflow.flow.viewset import WorkflowAppViewset

from creditfactory.organisations.backoffice import OrganisationViewset
from risk.backoffice import DecisionViewset
from servicing.backoffice import CalculatorViewset
from workflows.backoffice.applications import ApplicationViewset, SlaViewset
from workflows.backoffice.batch import BatchImportViewset
from workflows.backoffice.lines import LinesViewset, WarningsViewset
from workflows.backoffice.dashboard import DashboardViewset
from workflows.backoffice.drawdowns import DrawdownViewset
from workflows.backoffice.quality import QualityViewset
from workflows.backoffice.queues import CreditFlowViewset, CreditWorkflowApp
from workflows.backoffice.signing import SigningViewset
from workflows.flows import CreditApplicationFlow


class ServicingApp(Application):
    title = _("Servicing (贷中)")
    icon = "credit_score"
    app_name = "servicing"
    viewsets = [LinesViewset(), WarningsViewset()]


class ToolsApp(Application):
    title = _("Tools")
    icon = "calculate"
    app_name = "tools"
    viewsets = [CalculatorViewset()]


class OrganisationApp(Application):
    title = _("Organisation")
    icon = "account_tree"
    app_name = "organisation"
    viewsets = [OrganisationViewset()]


class SigningApp(Application):
    title = _("Remote signing")
    icon = "video_call"
    app_name = "signing"
    viewsets = [SigningViewset()]


class RiskApp(Application):
    title = _("Risk")
    icon = "gavel"
    app_name = "risk"
    viewsets = [DecisionViewset()]


class OriginationApp(Application):
    title = _("Origination")
    icon = "assignment_ind"
    app_name = "origination"
    viewsets = [ApplicationViewset(), BatchImportViewset(), SlaViewset(), DashboardViewset(), QualityViewset()]


class LendingApp(Application):
    title = _("Lending")
    icon = "payments"
    app_name = "lending"
    viewsets = [DrawdownViewset()]


class _LandingView(RedirectView):
    """``/``: the first application of the back office this user may open (in the order of
    ``site.viewsets``), so an officer lands on their tasks and a user without workflow rights
    on a page they can see, never on a 403."""

    site = None

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_redirect_url(self, *args, **kwargs):
        user = self.request.user
        for app in self.site.viewsets:
            if not app.has_view_permission(user):
                continue
            if isinstance(app, WorkflowAppViewset):  # the officer's inbox
                return app.reverse("inbox")
            for child in app.viewsets:  # else the application's first page this user may open
                if child.has_view_permission(user):
                    return child.reverse("index")
        return self.site.viewsets[-1].reverse("index")


class BackOfficeSite(Site):
    @property
    def index_path(self):
        return path("", _LandingView.as_view(site=self), name="index")


# The applications in landing order: an officer starts at their tasks.
site = BackOfficeSite(
    title=_("CreditFactory"),
    viewsets=[CreditWorkflowApp(flow_viewsets=[CreditFlowViewset(CreditApplicationFlow, icon="account_balance")]),
              OriginationApp(), LendingApp(), ServicingApp(), SigningApp(), RiskApp(), OrganisationApp(), ToolsApp()],
)
site.primary_color = "#1f4e79"
site.secondary_color = "#c0392b"
