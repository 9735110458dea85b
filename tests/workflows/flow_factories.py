"""Factories for the credit-flow tests: a product with a published risk policy on the sandbox
providers (zero latency), review and approval work groups, staff, and applications created
through ``application_create``.

Sandbox applicants by ID sequence code (docs/sandbox.md): ``123`` ordinary (approve, grade C,
limit 40,000.00, 7 % a year for EDUCATION), ``991`` thin file (refer, grade D, limit 20,000.00,
8 %), ``981`` delinquent (reject), ``911`` bureau never answers (refer once retries run out).
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from creditfactory.organisations import services as org_services
from creditfactory.organisations.models import AssignmentPolicy, Branch
from risk.validators import build_resident_id
from tests.factories import make_branch, make_product, make_staff
from tests.risk.policy_factories import configure_sources, make_policy
from workflows.models import ProcessNodeConfig, ProductFlowSettings
from workflows.services.applications import application_create
from workflows.services.configuration import node_config_ensure_defaults

CONSENTS = {"credit_report": True, "personal_information": True}
# What the standard reviewer / approver roles hold for the back office (organisations.roles).
STAFF_PERMISSIONS = ("workflows.view_creditapplication", "workflows.add_creditapplication",
                     "workflows.add_applicationdocument", "viewflow.view_process", "risk.view_decision",
                     "risk.reveal_applicant_pii")


def grant(user, *permissions):
    from django.contrib.auth.models import Permission

    for spec in permissions or STAFF_PERMISSIONS:
        app_label, codename = spec.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    # Django caches permissions on the instance: drop the caches so checks see the grant.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


def applicant_data(sequence: str = "123", *, mobile: str = "13812345678", **overrides) -> dict:
    data = {"name": "张三", "id_number": build_resident_id(region="110105", birth_date=date(1990, 5, 20),
                                                          sequence=sequence),
            "mobile": mobile, "monthly_income": Decimal("10000.00"), "employment": "employed",
            "address": "北京市朝阳区建国路 1 号", "employer_name": "示例科技有限公司", "years_at_employer": 4}
    data.update(overrides)
    return data


@dataclass
class Origination:
    branch: Branch
    product: object
    clerk: object
    reviewer: object
    approver: object
    review_group: object
    approval_group: object


def setup_origination(code: str = "EDUCATION", *, approval_threshold=Decimal("50000.00"), auto_approval=False,
                      ceiling=Decimal("0.00"), signing: bool = False, approval: bool = True,
                      review_policy: str = AssignmentPolicy.CLAIM, approval_policy: str = AssignmentPolicy.CLAIM,
                      risk_policy: bool = True, **product_overrides) -> Origination:
    configure_sources()
    branch = Branch.objects.filter(code="hq").first() or make_branch("hq")
    product = make_product(code, **product_overrides)
    if risk_policy:
        make_policy(product)
    clerk = grant(make_staff("clerk", branch))
    reviewer = grant(make_staff("rev", branch))
    approver = grant(make_staff("appr", branch))
    review_group = org_services.work_group_create(code="review", name="Review", branch=branch, policy=review_policy,
                                                  lead=reviewer, members=[reviewer])
    approval_group = org_services.work_group_create(code="approval", name="Approval", branch=branch,
                                                    policy=approval_policy, lead=approver, members=[approver])
    node_config_ensure_defaults(product)
    ProductFlowSettings.objects.filter(product=product).update(
        auto_approval_enabled=auto_approval, auto_approval_ceiling=ceiling, approval_threshold=approval_threshold)
    ProcessNodeConfig.objects.filter(product=product, node="review").update(work_group=review_group)
    ProcessNodeConfig.objects.filter(product=product, node="approval").update(work_group=approval_group,
                                                                             enabled=approval)
    ProcessNodeConfig.objects.filter(product=product, node="signing").update(enabled=signing)
    return Origination(branch, product, clerk, reviewer, approver, review_group, approval_group)


def create_application(o: Origination, *, sequence: str = "123", amount=Decimal("20000.00"), actor=None,
                       partner=None, **fields):
    values = dict(product=o.product, amount=amount, term=12, repayment_method="equal_installment",
                  purpose="education", applicant=applicant_data(sequence), branch=o.branch, consents=CONSENTS,
                  actor=actor if actor is not None else o.clerk, partner=partner)
    if partner is not None:
        values.update(actor=None, actor_label=partner.actor_label, channel="api")
    values.update(fields)
    return application_create(**values)
