"""B7: the role × action matrix of the back office.

Every URL of the back office (``creditfactory.backoffice.site``) whose view accepts POST is listed
from the URL conf — a new write view fails ``test_every_write_route_is_classified`` until it is
added to ``ALLOWED`` below. Then every seeded role (the demo organisation: one user per standard
role, with the demo work groups) POSTs a valid request to every route that has a scenario: the
roles meant to act get through (not 403/404), all others get 403/404 and the database is not
touched (``pg_stat_xact_user_tables``: no row inserted, updated or deleted in this transaction).
Each request runs in a savepoint that is rolled back, so every role starts from the same state.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fnmatch import fnmatch

import pytest
from django.apps import apps as django_apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver
from django.utils import timezone
from viewflow.workflow.models import Task

from creditfactory.backoffice import site
from creditfactory.organisations.demo import seed_organisation
from creditfactory.organisations.roles import sync_standard_roles
from creditfactory.organisations.models import WorkGroup
from tests.documents import png_bytes
from tests.factories import make_product
from tests.risk.policy_factories import configure_sources, make_policy
from tests.workflows.factories import at, make_application, make_schedule
from tests.workflows.flow_factories import CONSENTS, applicant_data
from workflows.flows import CreditApplicationFlow
from workflows.models import ProcessNodeConfig, ProductFlowSettings, QualityInspection
from workflows.services import applications as services
from workflows.services.configuration import node_config_ensure_defaults
from workflows.services.signing import signing_book

pytestmark = pytest.mark.django_db

ROLES = ("customer_manager", "credit_reviewer", "credit_approver", "disbursement_reviewer", "post_loan_manager",
         "collector", "risk_policy_admin", "product_admin", "auditor")
# The demo user of each role (creditfactory.organisations.demo.STAFF).
DEMO_USER = {"customer_manager": "manager", "credit_reviewer": "reviewer", "credit_approver": "approver",
             "disbursement_reviewer": "disburser", "post_loan_manager": "postloan", "collector": "collector",
             "risk_policy_admin": "riskadmin", "product_admin": "productadmin", "auditor": "auditor"}

READ_ONLY = "read-only"  # a redirect that accepts POST and writes nothing: every role, no change
ENTRY = {"customer_manager", "credit_reviewer", "credit_approver"}  # add_creditapplication / documents
FLOW = "workflow:flows:creditapplication"

# route name (fnmatch pattern) → the roles meant to act, or READ_ONLY. Node routes of the flow
# (``<flow>:<node>:<action>``) are classified by action: viewflow's generic task views, governed by
# the node's rights (workflows.nodes). Undo, cancel, revive and process cancel need the flow
# manager's right, which no standard role holds.
ALLOWED: dict[str, object] = {
    ":index": READ_ONLY,
    "*:index": READ_ONLY,
    f"{FLOW}:*:index": READ_ONLY,
    f"{FLOW}:*:assign": {"credit_reviewer"},
    f"{FLOW}:*:unassign": {"credit_reviewer"},
    f"{FLOW}:*:execute": {"credit_reviewer"},
    f"{FLOW}:*:undo": set(),
    f"{FLOW}:*:cancel": set(),
    f"{FLOW}:*:revive": set(),
    f"{FLOW}:process_cancel": set(),
    "workflow:tasks_assign": {"credit_reviewer"},
    "workflow:tasks_unassign": {"credit_reviewer"},
    "origination:applications:new": ENTRY,
    "origination:applications:claim": {"credit_reviewer"},
    "origination:applications:approve": {"credit_reviewer"},
    "origination:applications:reject": {"credit_reviewer"},
    "origination:applications:return": {"credit_reviewer"},
    "origination:applications:resume": ENTRY,
    "origination:applications:reassign": {"credit_reviewer"},  # the review group's lead
    "origination:applications:reveal": {"credit_reviewer", "credit_approver"},
    "origination:applications:document": ENTRY,
    "origination:applications:withdraw": ENTRY,
    "origination:applications:contract": {"customer_manager"},  # workflows.record_contract_acceptance
    "origination:batch:new": {"customer_manager"},
    # The in-loan pages (organisations.roles: _DRAWDOWN_ENTRY, _DISBURSEMENT_REVIEW, _LINE_CARE); a line
    # change is decided by the approval node's work group, which no demo role works in by default.
    "servicing:lines:request": {"customer_manager", "post_loan_manager"},
    "servicing:lines:decide": set(),
    "servicing:warnings:decide": {"post_loan_manager"},
    "origination:quality:inspect": {"credit_approver"},
    "signing:appointments:book": {"customer_manager"},  # the signing group's member
    "signing:appointments:reschedule": {"customer_manager"},  # the signing group's member
    "signing:appointments:cancel": {"customer_manager"},
    "signing:appointments:complete": {"customer_manager"},
    "signing:appointments:no_show": {"customer_manager"},
    # Drawdowns (servicing.enter_drawdown / cancel_drawdown / review_drawdown).
    "lending:drawdowns:new": {"customer_manager"},
    "lending:drawdowns:cancel": {"customer_manager", "post_loan_manager"},
    "lending:drawdowns:review": {"disbursement_reviewer"},
    # Post-loan (issue 16 §6; organisations.roles: _POST_LOAN, _POST_LOAN_OFFICE, _WRITE_OFF_APPROVAL): offline
    # repayments and credit-balance refunds (maker-checker within the role), the daily close, write-off approval.
    "lending:loans:register": {"post_loan_manager"},
    "lending:loans:refund": {"post_loan_manager"},
    "lending:loans:write_off": {"post_loan_manager"},
    "lending:verification:repayment_verify": {"post_loan_manager"},
    "lending:verification:repayment_reject": {"post_loan_manager"},
    "lending:verification:refund_approve": {"post_loan_manager"},
    "lending:verification:refund_reject": {"post_loan_manager"},
    "lending:verification:write_off_decide": {"credit_approver"},
    "lending:close:start": {"post_loan_manager"},
    # Collections (organisations.roles: _COLLECTING, _COLLECTION_LEAD): a collector of the case's work
    # group, or a post-loan manager (work_on_cases); contacts are also refused by the compliance rules.
    "collection:cases:detail": {"collector", "post_loan_manager"},
}


def _view_class(callback):
    view = callback
    while True:
        if getattr(view, "view_class", None) is not None:
            return view.view_class
        if not hasattr(view, "__wrapped__"):
            return None
        view = view.__wrapped__


def write_routes(patterns=None, prefix="", namespace=""):
    """(route, name, view class) of every back-office URL whose view accepts POST (a function
    view counts as one: it may)."""
    if patterns is None:
        patterns = site.urls[0]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            yield from write_routes(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            view_class = _view_class(pattern.callback)
            if view_class is None or hasattr(view_class, "post"):
                yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name or ''}".removeprefix(":") \
                    if namespace else f":{pattern.name or ''}", view_class


def classification(name: str):
    for pattern in sorted(ALLOWED, key=len, reverse=True):  # the most specific pattern first
        if fnmatch(name, pattern):
            return ALLOWED[pattern]
    return None


def test_every_write_route_is_classified():
    unclassified = [f"{route} ({name})" for route, name, _view in write_routes() if classification(name) is None]
    assert unclassified == [], "Classify these back-office write views in tests/authz/test_role_matrix.py ALLOWED"


# --- the scenario ------------------------------------------------------------------------------------


def _scenario(capture):
    sync_standard_roles(django_apps)  # seeded by a migration; a transactional test may have flushed them
    org = seed_organisation(log=lambda *args: None)
    users, branch = org["users"], org["branches"]["shanghai"]
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    node_config_ensure_defaults(product)
    ProductFlowSettings.objects.filter(product=product).update(approval_threshold=Decimal("0.00"))
    ProcessNodeConfig.objects.filter(product=product, node="review").update(work_group=WorkGroup.objects.get(
        code="review"))
    ProcessNodeConfig.objects.filter(product=product, node="approval").update(work_group=WorkGroup.objects.get(
        code="approval"))
    ProcessNodeConfig.objects.filter(product=product, node="signing").update(enabled=False)

    def entered(sequence, mobile):
        # Entered by the system (no staff user): four-eyes stands aside, only the role decides.
        with capture(execute=True):
            return services.application_create(
                product=product, amount=Decimal("20000.00"), term=12, repayment_method="equal_installment",
                purpose="education", applicant=applicant_data(sequence, mobile=mobile), branch=branch,
                consents=CONSENTS, actor=None, actor_label="system")

    referred = entered("991", "13812345678")  # waits in the review queue, unassigned
    returned = entered("992", "13812345679")
    services.application_return_for_documents(application=returned, actor=users["reviewer"], reason="Payslips")
    review = Task.objects.get(process=referred.process, flow_task=CreditApplicationFlow.review)
    signing = make_application(branch=branch, status="signing")
    schedule = make_schedule(work_group=WorkGroup.objects.get(code="signing"), capacity=5)
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    appointment = signing_book(application=signing, slot_start=at(monday, 9), schedule=schedule, actor=None,
                               actor_label="system")
    inspection = QualityInspection.objects.create(application=make_application(branch=branch, status="approved"),
                                                  business_date=today)
    return {"users": users, "referred": referred, "returned": returned, "review": review, "signing": signing,
            "schedule": schedule, "monday": monday, "appointment": appointment, "inspection": inspection,
            **(in_loan := _in_loan(product, branch, capture)), **_post_loan(in_loan["line"], branch)}


def _post_loan(line, branch):
    """A loan of the demo branch with a credit balance; a bank transfer awaiting verification and a
    refund awaiting approval, both entered by another post-loan manager (so the demo one may
    decide them: four eyes); a write-off the close proposed."""
    import datetime

    from creditfactory.organisations.roles import role_group
    from servicing.models import WriteOffRequest
    from servicing.services.calendar import business_date_set
    from servicing.services.repayments import (
        credit_balance_refund_request, offline_repayment_register, repayment_post,
    )
    from servicing.services.loans import loan_book
    from tests.factories import make_staff
    from tests.servicing.factories import make_drawdown

    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    loan = loan_book(drawdown=make_drawdown(line=line))
    repayment_post(loan=loan, amount="100.00", reference="OVERPAID", actor=None)
    maker = make_staff("maker-2", branch)
    maker.groups.add(role_group("post_loan_manager"))
    transfer = offline_repayment_register(loan=loan, amount="50.00", reference="TRANSFER-1", actor=maker)
    refund = credit_balance_refund_request(loan=loan, amount="10.00", reason="Paid twice", actor=maker)
    write_off = WriteOffRequest.objects.create(loan=loan, proposed_on=datetime.date(2026, 12, 4), days_past_due=0)
    return {"loan": loan, "transfer": transfer, "refund": refund, "write_off": write_off}


def _in_loan(product, branch, capture):
    """An active line in the demo branch, two drawdowns waiting in the demo disbursement group's
    review (every drawdown of the product needs one), and an open warning on the line."""
    from servicing.models import CreditLine, Drawdown, LineWarning
    from tests.servicing.funding_factories import make_channel, make_funder, make_rule
    from workflows.models import DRAWDOWN_FLOW
    from workflows.services.drawdowns import drawdown_request

    make_rule("Own funds", funder=make_funder("own", kind="own", priority=10), fallback=True, priority=100)
    make_channel()
    node_config_ensure_defaults(product, flow=DRAWDOWN_FLOW)
    ProcessNodeConfig.objects.filter(product=product, flow=DRAWDOWN_FLOW, node="review").update(
        work_group=WorkGroup.objects.get(code="disbursement"))
    type(product.current_version).objects.filter(pk=product.current_version_id).update(
        drawdown_review_above=Decimal("0.00"))
    origin = make_application(branch=branch, status="approved", number="CA-LINE-0001", mobile="13812340124")
    today = timezone.localdate()
    line = CreditLine.objects.create(
        application=origin, applicant=origin.applicant, product_version=origin.product_version, branch=branch,
        limit=Decimal("100000.00"), rate_percent=Decimal("7"), rate_basis="annual", grade="B", valid_from=today,
        valid_until=today + timedelta(days=365), status="active", revolving=True)
    waiting = []
    for account in ("6222021234567890128", "6222021234567890136"):
        with capture(execute=True):
            drawdown = drawdown_request(line=line, actor=None, actor_label="system", data={
                "amount": "20000.00", "term": 12, "term_unit": "months", "repayment_method": "equal_installment",
                "purpose": "education", "bank_account": account, "external_reference": ""})
        waiting.append(Drawdown.objects.get(pk=drawdown.pk))
    assert [d.status for d in waiting] == ["reviewing", "reviewing"]
    warning = LineWarning.objects.create(credit_line=line, source="list_entry", action="notify",
                                         rules=[{"code": "fraud_list", "description": "On the fraud list"}],
                                         business_date=line.valid_from)
    return {"line": line, "drawdowns": waiting, "warning": warning}


def _assign_review_to_reviewer(s):
    Task.objects.filter(pk=s["review"].pk).update(owner=s["users"]["reviewer"], status="ASSIGNED")


def _requests(s):
    """route name → (url, POST data, preparation inside the savepoint or None)."""
    app, ret, task = s["referred"].pk, s["returned"].pk, s["review"]
    review_url = f"/workflow/flows/creditapplication/{task.process_id}/review/{task.pk}"
    appt = s["appointment"].pk
    png = lambda: SimpleUploadedFile("payslip.png", png_bytes(), "image/png")  # noqa: E731
    return {
        f"{FLOW}:review:assign": (f"{review_url}/assign/", {}, None),
        f"{FLOW}:review:unassign": (f"{review_url}/unassign/", {}, _assign_review_to_reviewer),
        f"{FLOW}:review:execute": (f"{review_url}/execute/", {}, _assign_review_to_reviewer),
        f"{FLOW}:review:undo": (f"{review_url}/undo/", {}, None),
        f"{FLOW}:review:cancel": (f"{review_url}/cancel/", {}, None),
        f"{FLOW}:review:index": (f"{review_url}/", {}, None),
        f"{FLOW}:process_cancel": (f"/workflow/flows/creditapplication/{task.process_id}/cancel/",
                                   {"_cancel_process": "1"}, None),
        "workflow:tasks_assign": ("/workflow/queue/assign/", {"pk": [task.pk], "_confirm": "1"}, None),
        "workflow:tasks_unassign": ("/workflow/inbox/unassign/", {"pk": [task.pk], "_confirm": "1"},
                                    _assign_review_to_reviewer),
        ":index": ("/", {}, None),
        "workflow:index": ("/workflow/", {}, None),
        "origination:applications:new": ("/origination/applications/new/", {}, None),
        "origination:applications:claim": (f"/origination/applications/{app}/claim/", {}, None),
        "origination:applications:approve": (f"/origination/applications/{app}/approve/", {"approve-note": "ok"},
                                             None),
        "origination:applications:reject": (f"/origination/applications/{app}/reject/",
                                            {"reject-reason": "income too low"}, None),
        "origination:applications:return": (f"/origination/applications/{app}/return/",
                                            {"return-reason": "payslips", "return-documents": ["income_proof"]},
                                            None),
        "origination:applications:resume": (f"/origination/applications/{ret}/resume/", {"resume-note": "here"},
                                            None),
        "origination:applications:reassign": (f"/origination/applications/{app}/reassign/",
                                              {"reassign-to_user": s["users"]["reviewer"].pk}, None),
        # Not waiting for a contract: the allowed role passes the permission and meets the status rule.
        "origination:applications:contract": (f"/origination/applications/{app}/contract/", {
            "contract-signing": "branch", "contract-reference": "HT-2026-001"}, None),
        "origination:applications:reveal": (f"/origination/applications/{app}/reveal/",
                                            {"reveal-field": "mobile", "reveal-reason": "call back"}, None),
        "origination:applications:document": (f"/origination/applications/{ret}/documents/",
                                              {"document-kind": "income_proof", "document-file": png}, None),
        "origination:applications:withdraw": (f"/origination/applications/{app}/withdraw/",
                                              {"withdraw-reason": "customer asked"}, None),
        "origination:batch:new": ("/origination/batch/new/", {}, None),
        "origination:quality:inspect": (f"/origination/quality/{s['inspection'].pk}/", {"result": "passed"}, None),
        "signing:appointments:book": ("/signing/appointments/book/", {
            "application": s["signing"].number, "schedule": s["schedule"].pk,
            "slot_start": at(s["monday"], 10).isoformat()}, None),
        "signing:appointments:reschedule": (f"/signing/appointments/{appt}/reschedule/", {
            "slot_start": at(s["monday"], 11).isoformat(), "reason": "asked"}, None),
        "signing:appointments:cancel": (f"/signing/appointments/{appt}/cancel/", {"reason": "asked"}, None),
        "signing:appointments:complete": (f"/signing/appointments/{appt}/complete/",
                                          {"result": "failed", "notes": "no id card"}, None),
        "signing:appointments:no_show": (f"/signing/appointments/{appt}/no-show/", {"reason": "absent"}, None),
        # In-loan (贷中): a drawdown entered, cancelled and reviewed; a line change requested; a warning decided.
        "lending:drawdowns:new": (f"/lending/drawdowns/new/{s['line'].pk}/", {
            "amount": "10000.00", "term": "12", "repayment_method": "equal_installment", "purpose": "education",
            "bank_account": "6222021234567890144"}, None),
        "lending:drawdowns:cancel": (f"/lending/drawdowns/{s['drawdowns'][0].pk}/cancel/",
                                     {"reason": "customer asked"}, None),
        "lending:drawdowns:review": (f"/lending/drawdowns/{s['drawdowns'][1].pk}/review/", {"approve": "1"}, None),
        "servicing:lines:request": (f"/servicing/lines/{s['line'].pk}/changes/", {
            "kind": "decrease", "new_limit": "80000.00", "reason": "Income fell"}, None),
        "servicing:warnings:decide": (f"/servicing/warnings/{s['warning'].pk}/", {"action": "lift",
                                                                                  "note": "Cleared"}, None),
        # Post-loan (贷后): offline repayments, refunds, write-offs, the daily close.
        "lending:loans:register": (f"/lending/loans/{s['loan'].pk}/repayments/", {
            "amount": "20.00", "kind": "regular", "reference": "TRANSFER-2"}, None),
        "lending:loans:refund": (f"/lending/loans/{s['loan'].pk}/refunds/", {"amount": "5.00", "reason": "Asked"},
                                 None),
        "lending:loans:write_off": (f"/lending/loans/{s['loan'].pk}/write-off/", {"note": "Borrower deceased"}, None),
        "lending:verification:repayment_verify": (f"/lending/verification/repayments/{s['transfer'].pk}/verify/",
                                                  {}, None),
        "lending:verification:repayment_reject": (f"/lending/verification/repayments/{s['transfer'].pk}/reject/",
                                                  {"reason": "Not on the statement"}, None),
        "lending:verification:refund_approve": (f"/lending/verification/refunds/{s['refund'].pk}/approve/", {},
                                                None),
        "lending:verification:refund_reject": (f"/lending/verification/refunds/{s['refund'].pk}/reject/",
                                               {"reason": "Keep it"}, None),
        "lending:verification:write_off_decide": (f"/lending/verification/write-offs/{s['write_off'].pk}/",
                                                  {"action": "approve", "note": ""}, None),
        "lending:close:start": ("/lending/close/run/", {"confirm": "yes"}, None),
    }


IGNORED_TABLES = {"django_session", "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog"}


def _writes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_xact_user_tables")
        return {name: count for name, count in cursor.fetchall() if name not in IGNORED_TABLES}


class _Rollback(Exception):
    pass


def test_only_the_intended_roles_may_write(client, django_capture_on_commit_callbacks):
    s = _scenario(django_capture_on_commit_callbacks)
    requests = _requests(s)
    routes = {name for _route, name, _view in write_routes()}
    assert set(requests) - routes == set()  # the scenario names routes that exist
    problems = []
    for name, (url, data, prepare) in sorted(requests.items()):
        allowed = classification(name)
        for role in ROLES:
            user = s["users"][DEMO_USER[role]]
            client.force_login(user)
            try:
                with transaction.atomic():
                    if prepare is not None:
                        prepare(s)
                    before = _writes()
                    payload = {k: (v() if callable(v) else v) for k, v in data.items()}
                    response = client.post(url, payload)
                    changed = {t for t, n in _writes().items() if n != before.get(t, 0)}
                    raise _Rollback
            except _Rollback:
                pass
            status = response.status_code
            if status >= 500:
                problems.append(f"{name} {role}: {status}")
            elif allowed == READ_ONLY:
                if changed:
                    problems.append(f"{name} {role}: read-only route wrote {sorted(changed)}")
            elif role in allowed:
                if status in (403, 404):
                    problems.append(f"{name} {role}: meant to act, got {status}")
            else:
                if status not in (403, 404):
                    problems.append(f"{name} {role}: not meant to act, got {status}")
                if changed:
                    problems.append(f"{name} {role}: refused but wrote {sorted(changed)}")
    assert problems == [], "\n".join(problems)
