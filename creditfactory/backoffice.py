"""The back office: one viewflow ``Site`` that every app contributes its pages to.

Built on viewflow's frontend (Material layout, turbo navigation, local static assets) so the
workflow inbox, queue and archive of later issues sit beside our own pages.
"""

from django.utils.translation import gettext_lazy as _
from viewflow.urls import Application, Site

from creditfactory.organisations.backoffice import OrganisationViewset
from servicing.backoffice import CalculatorViewset


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


site = Site(
    title=_("CreditFactory"),
    viewsets=[ToolsApp(), OrganisationApp()],
)
site.primary_color = "#1f4e79"
site.secondary_color = "#c0392b"
