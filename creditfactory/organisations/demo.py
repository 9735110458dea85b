"""Demo organisation: a head office with two branches, a user per standard role, work groups."""

import os

from django.contrib.auth import get_user_model

from . import services
from .models import AssignmentPolicy, Branch, Role, WorkGroup

DEMO_PASSWORD_ENV = "DEMO_PASSWORD"
DEFAULT_DEMO_PASSWORD = "creditfactory-demo"

BRANCHES = [("hq", "总行 Head office", None), ("shanghai", "上海分行 Shanghai branch", "hq"),
            ("beijing", "北京分行 Beijing branch", "hq")]

# username → (role code, branch code, full name)
STAFF = {
    "manager": ("customer_manager", "shanghai", "王经理 Wang (customer manager)"),
    "reviewer": ("credit_reviewer", "shanghai", "李审查 Li (credit reviewer)"),
    "approver": ("credit_approver", "shanghai", "张审批 Zhang (credit approver)"),
    "disburser": ("disbursement_reviewer", "shanghai", "陈放款 Chen (disbursement reviewer)"),
    "postloan": ("post_loan_manager", "shanghai", "刘贷后 Liu (post-loan manager)"),
    "collector": ("collector", "shanghai", "赵催收 Zhao (collector)"),
    "riskadmin": ("risk_policy_admin", "hq", "孙风控 Sun (risk policy admin)"),
    "productadmin": ("product_admin", "hq", "周产品 Zhou (product admin)"),
    "auditor": ("auditor", "hq", "吴审计 Wu (auditor)"),
    "director": ("manager", "hq", "钱总 Qian (manager: dashboard, cockpit)"),
    "bj_manager": ("customer_manager", "beijing", "郑经理 Zheng (customer manager, Beijing)"),
}

# code → (name, branch, policy, member usernames, lead)
WORK_GROUPS = {
    "intake-sh": ("进件组 Intake (Shanghai)", "shanghai", AssignmentPolicy.CLAIM, ["manager"], "manager"),
    "intake-bj": ("进件组 Intake (Beijing)", "beijing", AssignmentPolicy.CLAIM, ["bj_manager"], "bj_manager"),
    "review": ("审查组 Credit review", "shanghai", AssignmentPolicy.CLAIM, ["reviewer"], "reviewer"),
    "approval": ("审批组 Credit approval", "shanghai", AssignmentPolicy.ROUND_ROBIN, ["approver"], "approver"),
    "disbursement": ("放款审核组 Disbursement check", "shanghai", AssignmentPolicy.LEAST_LOADED, ["disburser"],
                     "disburser"),
    "signing": ("面签组 Remote signing", "shanghai", AssignmentPolicy.CLAIM, ["manager"], "manager"),
    "post-loan": ("贷后组 Post-loan", "shanghai", AssignmentPolicy.CLAIM, ["postloan"], "postloan"),
    "collections": ("催收组 Collections", "shanghai", AssignmentPolicy.ROUND_ROBIN, ["collector"], "collector"),
}


def demo_password() -> str:
    return os.environ.get(DEMO_PASSWORD_ENV) or DEFAULT_DEMO_PASSWORD


def seed_organisation(*, log=print) -> dict:
    User = get_user_model()
    password = demo_password()
    branches = {}
    for code, name, parent in BRANCHES:
        branch = Branch.objects.filter(code=code).first()
        if branch is None:
            branch = services.branch_create(code=code, name=name, parent=branches.get(parent))
            log(f"  branch {code} created")
        branches[code] = branch

    admin = User.objects.filter(username="admin").first()
    if admin is None:
        admin = User.objects.create_superuser("admin", "admin@creditfactory.test", password)
        log("  superuser admin created")
    services.staff_join_branch(user=admin, branch=branches["hq"])

    users = {}
    for username, (role_code, branch_code, full_name) in STAFF.items():
        user = User.objects.filter(username=username).first()
        if user is None:
            first, _sep, last = full_name.partition(" ")
            user = User.objects.create_user(username, f"{username}@creditfactory.test", password,
                                            first_name=first, last_name=last, is_staff=True)
            log(f"  staff {username} created")
        user.groups.add(Role.objects.get(code=role_code).group)
        services.staff_join_branch(user=user, branch=branches[branch_code])
        users[username] = user

    for code, (name, branch_code, policy, members, lead) in WORK_GROUPS.items():
        if not WorkGroup.objects.filter(code=code).exists():
            services.work_group_create(code=code, name=name, branch=branches[branch_code], policy=policy,
                                       lead=users[lead], members=[users[m] for m in members])
            log(f"  work group {code} created")
    return {"admin": admin, "users": users, "branches": branches}


def seed(*, context: dict, log) -> dict:
    return seed_organisation(log=log)
