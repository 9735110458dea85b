"""The back office: one viewflow ``Site`` that every app contributes its pages to.

Built on viewflow's frontend (Material layout, turbo navigation, local static assets) so the
workflow inbox, queue and archive of later issues sit beside our own pages.
"""

from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application, Site

from creditfactory.organisations.backoffice import OrganisationViewset
from risk.backoffice import DecisionViewset
from servicing.backoffice import CalculatorViewset
from workflows.backoffice.applications import ApplicationViewset, SlaViewset
from workflows.backoffice.batch import BatchImportViewset
from workflows.backoffice.dashboard import DashboardViewset
from workflows.backoffice.quality import QualityViewset
from workflows.backoffice.queues import CreditFlowViewset, CreditWorkflowApp
from workflows.backoffice.signing import SigningViewset
from workflows.flows import CreditApplicationFlow


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


site = Site(
    title=_("CreditFactory"),
    viewsets=[ToolsApp(), OrganisationApp(), SigningApp(), RiskApp(), OriginationApp(),
              CreditWorkflowApp(flow_viewsets=[CreditFlowViewset(CreditApplicationFlow, icon="account_balance")])],
)
site.primary_color = "#1f4e79"
site.secondary_color = "#c0392b"
