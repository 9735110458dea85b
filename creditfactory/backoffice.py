"""The back office: one viewflow ``Site`` that every app contributes its pages to.

Built on viewflow's frontend (Material layout, turbo navigation, local static assets) so the
workflow inbox, queue and archive of later issues sit beside our own pages.
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from viewflow.urls import Application, Site
from viewflow.workflow.flow.viewset import WorkflowAppViewset

from creditfactory.home import HomeViewset
from creditfactory.organisations.backoffice import OrganisationViewset
from risk.backoffice import DecisionViewset
from servicing.backoffice import CalculatorViewset
from servicing.backoffice_close import CloseRunsViewset
from servicing.backoffice_loans import LoanViewset
from servicing.backoffice_queue import VerificationViewset
from workflows.backoffice.applications import ApplicationViewset, SlaViewset
from workflows.backoffice.batch import BatchImportViewset
from workflows.backoffice.collection import CollectionViewset, FiguresViewset
from workflows.backoffice.lines import LinesViewset, WarningsViewset
from workflows.backoffice.dashboard import DashboardViewset
from workflows.backoffice.drawdowns import DrawdownViewset
from workflows.backoffice.economics import EconomicsViewset
from workflows.backoffice.cockpit import CockpitMenuViewset
from workflows.backoffice.instruments import DashboardMenuViewset, PortfolioDashboardView
from workflows.backoffice.quality import QualityViewset
from workflows.backoffice.queues import CreditFlowViewset, CreditWorkflowApp
from workflows.backoffice.signing import SigningViewset
from workflows.backoffice.usage import UsageViewset
from workflows.flows import CreditApplicationFlow


class _AppIndexView(RedirectView):
    """An application's ``/``: its first page this user may open (viewflow's would send everyone
    to the first page, a 403 for a role that may open only a later one)."""

    app = None

    def get_redirect_url(self, *args, **kwargs):
        children = list(self.app.menu_items())
        user = self.request.user
        for child in children:
            if not user.is_authenticated or child.has_view_permission(user):
                return child.reverse("index")
        raise PermissionDenied


class BackOfficeApp(Application):
    """An application of the sidebar shown only to users who may open one of its pages: a role
    never sees a section that would answer 403 (each page's viewset says who may open it)."""

    @property
    def index_path(self):
        return path("", _AppIndexView.as_view(app=self), name="index")

    def has_view_permission(self, user, obj=None):
        if not user.is_authenticated:
            return True  # every page of it sends an anonymous visitor to sign in (not a 403)
        return any(child.has_view_permission(user) for child in self.menu_items())


class HomeApp(BackOfficeApp):
    title = _("My work")
    icon = "home"
    app_name = "home"
    viewsets = [HomeViewset()]


class ServicingApp(BackOfficeApp):
    title = _("Servicing (贷中)")
    icon = "credit_score"
    app_name = "servicing"
    viewsets = [LinesViewset(), WarningsViewset()]


class CollectionApp(BackOfficeApp):
    title = _("Collections (催收)")
    icon = "support_agent"
    app_name = "collection"
    viewsets = [CollectionViewset(), FiguresViewset()]


class ToolsApp(BackOfficeApp):
    title = _("Tools")
    icon = "calculate"
    app_name = "tools"
    viewsets = [CalculatorViewset(), EconomicsViewset()]


class OrganisationApp(BackOfficeApp):
    title = _("Organisation")
    icon = "account_tree"
    app_name = "organisation"
    viewsets = [OrganisationViewset()]


class SigningApp(BackOfficeApp):
    title = _("Remote signing")
    icon = "video_call"
    app_name = "signing"
    viewsets = [SigningViewset()]


class RiskApp(BackOfficeApp):
    title = _("Risk")
    icon = "gavel"
    app_name = "risk"
    viewsets = [DecisionViewset()]


class OriginationApp(BackOfficeApp):
    title = _("Origination")
    icon = "assignment_ind"
    app_name = "origination"
    viewsets = [ApplicationViewset(), BatchImportViewset(), SlaViewset(), DashboardViewset(), QualityViewset()]


class LendingApp(BackOfficeApp):
    title = _("Lending")
    icon = "payments"
    app_name = "lending"
    viewsets = [DrawdownViewset(), LoanViewset(), VerificationViewset(), CloseRunsViewset()]


class InstrumentsApp(BackOfficeApp):
    """The managers' instruments: the data dashboard is the section's own page, ``/dashboard/``."""

    title = _("Instruments")
    icon = "insights"
    app_name = "dashboard"
    viewsets = [DashboardMenuViewset(), CockpitMenuViewset(), UsageViewset()]

    @property
    def index_path(self):
        return path("", PortfolioDashboardView.as_view(), name="index")


class _LandingView(RedirectView):
    """``/``: where a user starts, never a 403."""

    site = None

    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_redirect_url(self, *args, **kwargs):
        """An officer of the credit flow starts at their inbox; every other role (disbursement,
        collection, the admins, a user without a role) at "My work", a page of their own."""
        user = self.request.user
        for app in self.site.viewsets:
            if isinstance(app, WorkflowAppViewset) and app.has_view_permission(user):
                return app.reverse("inbox")
        return reverse("home:work:index")


class BackOfficeSite(Site):
    @property
    def index_path(self):
        return path("", _LandingView.as_view(site=self), name="index")


# The applications in landing order: an officer starts at their tasks.
site = BackOfficeSite(
    title=_("CreditFactory"),
    viewsets=[CreditWorkflowApp(flow_viewsets=[CreditFlowViewset(CreditApplicationFlow, icon="account_balance")]),
              HomeApp(), InstrumentsApp(), OriginationApp(), LendingApp(), ServicingApp(), CollectionApp(),
              SigningApp(), RiskApp(), OrganisationApp(), ToolsApp()],
)
site.primary_color = "#1f4e79"
site.secondary_color = "#c0392b"
