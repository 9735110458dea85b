"""The line change flow's set-up: a product whose line changes go to an approval work group (or
are applied directly), an officer who requests and an approver who decides, and a line."""

from dataclasses import dataclass

from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import AssignmentPolicy, Branch
from tests.factories import make_branch, make_product, make_staff
from tests.servicing.line_factories import make_line
from tests.workflows.flow_factories import grant
from workflows.models import LINE_CHANGE_FLOW, ProcessNodeConfig
from workflows.services.configuration import node_config_ensure_defaults

LINE_PERMISSIONS = ("servicing.view_creditline", "servicing.add_creditlinechange", "servicing.handle_linewarning")


@dataclass
class LineSetup:
    branch: Branch
    product: object
    officer: object
    approver: object
    group: object
    line: object


def setup_lines(*, approval: bool = True, policy: str = AssignmentPolicy.CLAIM, partner=None, **line) -> LineSetup:
    branch = Branch.objects.filter(code="hq").first() or make_branch("hq")
    product = make_product("EDUCATION")
    officer = grant(make_staff("officer", branch), *LINE_PERMISSIONS)
    approver = grant(make_staff("lineappr", branch), *LINE_PERMISSIONS)
    group = org_services.work_group_create(code="linechg", name="Line changes", branch=branch, policy=policy,
                                           lead=approver, members=[approver, officer])
    node_config_ensure_defaults(product, flow=LINE_CHANGE_FLOW)
    ProcessNodeConfig.objects.filter(product=product, flow=LINE_CHANGE_FLOW, node="approval").update(
        work_group=group, enabled=approval)
    return LineSetup(branch, product, officer, approver, group,
                     make_line(product=product, branch=branch, partner=partner, **line))
