"""The standard roles (角色) and the model permissions they start with.

Roles are auth groups with a ``Role`` row holding a stable code. Admins edit them in Django
admin; this module only seeds them. ``sync_standard_roles`` is additive and idempotent: it
creates missing roles and grants missing permissions, never removes what an admin granted.
Later apps extend ``ROLE_PERMISSIONS`` and call it again from a data migration.
"""

from django.utils.translation import gettext_noop

# Apps whose models the auditor may read. Extended as apps gain models.
AUDITED_APPS = ("core", "organisations", "partners", "products", "risk", "workflows", "servicing", "collections", "viewflow")

# code → (group name, description). Group names are bilingual because groups have no translation.
STANDARD_ROLES = {
    "customer_manager": ("客户经理 Customer manager", gettext_noop("Takes applications and looks after customers.")),
    "credit_reviewer": ("审查岗 Credit reviewer", gettext_noop("Reviews referred applications (审查).")),
    "credit_approver": ("审批岗 Credit approver", gettext_noop("Approves or rejects after review (审批); four-eyes.")),
    "disbursement_reviewer": ("放款审核 Disbursement reviewer", gettext_noop("Checks drawdowns before payout.")),
    "post_loan_manager": ("贷后管理 Post-loan manager", gettext_noop("Monitors loans, handles warnings and lines.")),
    "collector": ("催收员 Collector", gettext_noop("Works collection cases.")),
    "risk_policy_admin": ("风控策略管理 Risk policy admin", gettext_noop("Configures rules, scorecards and strategies.")),
    "product_admin": ("产品管理 Product admin", gettext_noop("Configures and publishes loan products.")),
    "auditor": ("审计 Auditor", gettext_noop("Reads everything, changes nothing.")),
    "manager": ("管理层 Manager", gettext_noop("Reads the data dashboard, the mobile cockpit and the usage statistics.")),
}

_READ_REFERENCE = ("products.view_loanproduct", "products.view_productversion", "organisations.view_branch",
                   "organisations.view_workgroup")

# Risk configuration (rule sets, scorecards, strategies, policies): the working copies and the rows
# edited inline with them; published versions are read-only for everyone.
_RISK_CONFIG = tuple(
    f"risk.{action}_{model}"
    for model in ("ruleset", "rule", "scorecard", "characteristic", "scorebin", "limitstrategy", "limitbandrow",
                  "pricingstrategy", "pricinggraderow", "riskpolicy")
    for action in ("add", "change", "view", "delete")
) + (
    "risk.publish_ruleset", "risk.publish_scorecard", "risk.publish_limitstrategy", "risk.publish_pricingstrategy",
    "risk.view_rulesetversion", "risk.view_scorecardversion", "risk.view_limitstrategyversion",
    "risk.view_pricingstrategyversion", "risk.view_decision",
)
_VIEW_DECISIONS = ("risk.view_decision",)
# The credit flow's back office (workflows): applications, their documents, viewflow's process
# pages; reviewers and approvers may reveal an applicant's identifiers (with a logged reason).
_ORIGINATION = ("workflows.view_creditapplication", "workflows.add_creditapplication",
                "workflows.view_applicationdocument", "workflows.add_applicationdocument", "viewflow.view_process")
_DECIDING = (*_ORIGINATION, "risk.reveal_applicant_pii", "servicing.view_creditline")
_FLOW_CONFIG = tuple(f"workflows.{action}_{model}" for model in ("processnodeconfig", "productflowsettings")
                     for action in ("add", "change", "view"))

# Batch entry (批量录入) by customer managers; quality inspection (抽样质检) of straight-through
# approvals by approvers.
_BATCH_IMPORT = ("workflows.add_batchimport", "workflows.view_batchimport")
# Staff record the applicant's contract acceptance for applications without a partner.
_CONTRACT = ("workflows.record_contract_acceptance",)
_QUALITY_INSPECTION = ("workflows.view_qualityinspection", "workflows.change_qualityinspection")
# Booked loans and their ledger (Lending → Loans; read-only admin of the journal).
_LOANS = ("servicing.view_loan", "servicing.view_journalentry", "servicing.view_account", "servicing.view_ledgercheckrun")
# Post-loan (贷后): offline repayments (maker-checker: two people of the role), the credit growth
# reviews of lines (read).
_POST_LOAN = ("servicing.view_repayment", "servicing.register_repayment", "servicing.verify_repayment",
              "servicing.view_creditlinereview", "servicing.view_creditgrowthpolicy")
# Post-loan back office (issue 16 §6): refunds of credit balances (maker-checker: two people of the
# role), the daily close's runs (read; start or resume the close) and proposing a write-off (核销),
# which an approver decides.
_POST_LOAN_OFFICE = ("servicing.view_creditbalancerefund", "servicing.request_refund", "servicing.approve_refund",
                     "servicing.view_closerun", "servicing.run_close", "servicing.view_writeoffrequest",
                     "servicing.add_writeoffrequest")
# Write-off approval (核销审批): the credit approvers decide what the close or a post-loan manager proposed.
_WRITE_OFF_APPROVAL = ("servicing.view_loan", "servicing.view_writeoffrequest", "servicing.approve_writeoffrequest")
# Credit growth policies (额度动态调整) are product configuration.
_GROWTH_CONFIG = ("servicing.view_creditgrowthpolicy", "servicing.add_creditgrowthpolicy",
                  "servicing.change_creditgrowthpolicy")
# In-loan (贷中): entering and cancelling drawdowns for a branch customer, asking for a line change.
_DRAWDOWN_ENTRY = ("servicing.view_creditline", "servicing.view_drawdown", "servicing.enter_drawdown",
                   "servicing.cancel_drawdown", "servicing.view_creditlinechange", "servicing.add_creditlinechange",
                   "servicing.view_loan")
# The disbursement review (放款审核).
_DISBURSEMENT_REVIEW = ("servicing.view_creditline", "servicing.view_drawdown", "servicing.review_drawdown",
                        "servicing.view_loan")
# Post-loan: the lines' changes and the in-loan warnings (贷中预警) queue; stopping a drawdown.
_LINE_CARE = ("servicing.view_drawdown", "servicing.cancel_drawdown", "servicing.view_creditlinechange",
              "servicing.add_creditlinechange", "servicing.view_linewarning", "servicing.handle_linewarning")

# role code → permission strings "app_label.codename". Missing permissions are skipped, so a
# role may name models of an app that a later migration creates.
# Unit economics (单笔信贷结构核算) and the pricing simulator; the costs and loss rates they use.
_UNIT_ECONOMICS = ("workflows.view_unit_economics", "workflows.view_acquisitioncost", "workflows.add_acquisitioncost",
                   "workflows.change_acquisitioncost", "workflows.view_expectedlossrate",
                   "workflows.add_expectedlossrate", "workflows.change_expectedlossrate")
# Collections (催收): collectors work their work groups' cases (the case page checks membership);
# post-loan managers lead: reassign, decide hardship requests, work any case, read the figures.
_COLLECTING = ("collections.view_collectioncase", "collections.view_contact", "collections.view_promise",
               "collections.view_hardshiphold", "collections.view_fieldvisit", "collections.view_legalreferral")
_COLLECTION_LEAD = ("collections.work_on_cases", "collections.reassign_collectioncase",
                    "collections.approve_hardshiphold", "collections.approve_legalreferral", "collections.view_collection_figures",
                    "collections.view_compliancerefusal", "collections.view_agency")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "customer_manager": (*_READ_REFERENCE, *_ORIGINATION, *_BATCH_IMPORT, *_CONTRACT, *_DRAWDOWN_ENTRY),
    "credit_reviewer": (*_READ_REFERENCE, *_VIEW_DECISIONS, *_DECIDING),
    "credit_approver": (*_READ_REFERENCE, *_VIEW_DECISIONS, *_DECIDING, *_QUALITY_INSPECTION, *_WRITE_OFF_APPROVAL),
    "disbursement_reviewer": (*_READ_REFERENCE, *_DISBURSEMENT_REVIEW),
    "post_loan_manager": (*_READ_REFERENCE, "workflows.view_creditapplication", "servicing.view_creditline", *_LOANS,
                          *_LINE_CARE, *_POST_LOAN, *_POST_LOAN_OFFICE, *_COLLECTING, *_COLLECTION_LEAD),
    "collector": ("organisations.view_branch", "organisations.view_workgroup", *_COLLECTING),
    "risk_policy_admin": (*_READ_REFERENCE, *_RISK_CONFIG),
    "product_admin": (
        *_READ_REFERENCE,
        "products.add_loanproduct",
        "products.change_loanproduct",
        "products.publish_loanproduct",
        *_FLOW_CONFIG,
        *_GROWTH_CONFIG,
        *_UNIT_ECONOMICS,
    ),
    "auditor": (
        "core.view_statetransition",
        "organisations.view_all_branches",
        "workflows.view_unit_economics",
    ),
    # The instruments (数据仪表盘, 移动驾驶舱, 使用情况): figures across the branches the manager sees.
    "manager": (*_READ_REFERENCE, "servicing.view_dashboard"),
}


def _ensure_permissions(apps):
    """Permissions are normally created after ``migrate``; create them now so a data migration
    on a fresh database can grant them."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        # A migration's app registry has no models modules, which makes create_permissions skip
        # the app; pretend otherwise for the call and put back whatever was there.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = original


def sync_standard_roles(apps, schema_editor=None):
    """Create the standard roles and grant their permissions (additive). ``apps`` is a
    migration's app registry or ``django.apps.apps``."""
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Role = apps.get_model("organisations", "Role")

    for code, (group_name, description) in STANDARD_ROLES.items():
        role = Role.objects.filter(code=code).select_related("group").first()
        if role is None:
            group, _created = Group.objects.get_or_create(name=group_name)
            role = Role.objects.create(group=group, code=code, description=description, is_standard=True)
        wanted = set(ROLE_PERMISSIONS.get(code, ()))
        if code == "auditor":
            wanted |= {
                f"{app_label}.{codename}"
                for app_label, codename in Permission.objects.filter(
                    content_type__app_label__in=AUDITED_APPS, codename__startswith="view_"
                ).values_list("content_type__app_label", "codename")
            }
        permissions = []
        for spec in sorted(wanted):
            app_label, codename = spec.split(".", 1)
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                permissions.append(permission)
        role.group.permissions.add(*permissions)


def role_group(code: str):
    from .models import Role

    return Role.objects.select_related("group").get(code=code).group
