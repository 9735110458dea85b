"""The factory tour (issue 18 §5, README "The factory tour"): a new product configured in Django
admin and sold through the partner API, with no deploy and no restart — one live server for the
whole test, every configuration change made through the browser.

1. A product admin (the *product admin* role) adds GREEN in *Products → Loan products*: the six
   elements, pricing (rate band, prepayment fee), the line and drawdown terms, straight-through
   approval up to 30,000.00; on its page routes manual review to the Green-loan desk (SLA 4 h) and
   switches approval off; publishes it with the list's *Publish* action. On the running product
   EDUCATION, approval is switched off for new applications.
2. A risk policy admin (the *risk policy admin* role) adds the rule set GREEN_ADMISSION (amounts
   above 15,000.00 refer to a person), publishes it and gives GREEN a risk policy: the standard rule
   sets plus the new one, the scorecard, limit and pricing strategies.
3. The superuser gives the partner ACME the product (*Partners → Partners*): ACME's existing key,
   refused for GREEN a moment before, now applies for it (``Idempotency-Key``). The rule refers the
   application; the review task lands in the Green-loan desk's queue, where its officer claims and
   approves it in the back office — no approval step follows.
4. The partner accepts the contract (the line is granted), draws 20,000.00 (own funds, the sandbox
   bank pays at once), prepays 5,000.00 of principal; a post-loan manager runs the daily close in
   the back office (*Daily close → Run the close*, confirm), as an operator does at the end of a
   business day, and waits on the run's page until it has succeeded — the workers run it (eagerly
   in the tests: the page answers once it is done); the close writes the portfolio figures, and
   the manager's dashboard counts the loan.
5. An EDUCATION application that was in review before any of it keeps its configuration snapshot,
   its tasks and its path: its review still leads to approval.

0. First the superuser adds the work group that will handle GREEN's manual review, in
   *Organisations → Work groups*: the Green-loan desk of the branch, its officer a member and its
   lead (members get the queue's object permission on save).

Set-up that is not the point of the tour is made with the suite's factories: the branch, the
running product's work groups, the staff, the scorecard and strategies, funders and the payment
channel.
Screenshots of every step under ``test-artifacts/factory_tour/``."""

import datetime
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal

import pytest

from .test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS, artifacts, sync_playwright

__all__ = ["artifacts", "sync_playwright"]  # fixtures used below

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREEN_NAME = "Green car loan (绿色车贷)"


@dataclass
class Floor:
    """What exists before the tour: the running product EDUCATION with its policy, work groups and
    one application in review, the partner ACME selling it with a key, the officer who will staff
    the Green-loan desk, the staff who configure, and the money side (own funds, the sandbox bank)."""

    o: object
    running: object
    partner: object
    key: str
    green_desk: object  # made in the tour, in admin
    green_officer: object
    post_loan: object
    product_admin: object
    risk_admin: object
    superuser: object
    manager: object
    rule_sets: dict
    scorecard: object
    limit_strategy: object
    pricing_strategy: object


@pytest.fixture
def floor():
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from creditfactory.organisations.roles import role_group, sync_standard_roles
    from risk.models import RuleSet
    from tests.factories import make_staff
    from tests.partners.factories import issue_key, make_partner
    from tests.risk.policy_factories import make_limit_strategy, make_pricing_strategy, make_scorecard
    from tests.servicing.funding_factories import make_channel, make_funder, make_rule
    from tests.workflows.flow_factories import create_application, setup_origination

    sync_standard_roles(apps)
    # EDUCATION: review by the review group, then approval for every reviewed application.
    o = setup_origination(approval_threshold=None)
    o.reviewer.groups.add(role_group("credit_reviewer"))
    running = create_application(o, sequence="991")  # thin file: referred, in the review queue
    running.refresh_from_db()
    assert running.status == "in_review"
    partner = make_partner("ACME", branch=o.branch, products=[o.product], throttle_rate="100000/min")
    green_officer = make_staff("green_officer", o.branch)
    green_officer.groups.add(role_group("credit_reviewer"))
    product_admin = make_staff("productadmin", o.branch)
    product_admin.groups.add(role_group("product_admin"))
    risk_admin = make_staff("riskadmin", o.branch)
    risk_admin.groups.add(role_group("risk_policy_admin"))
    manager = make_staff("manager", o.branch)
    manager.groups.add(role_group("manager"))
    post_loan = make_staff("postloan", o.branch)
    post_loan.groups.add(role_group("post_loan_manager"))
    superuser = get_user_model().objects.create_superuser("admin", "admin@example.test", PASSWORD)
    own = make_funder("own", kind="own", priority=10, cost="3.5")
    make_rule("Own funds", funder=own, fallback=True, priority=100)
    make_channel()
    return Floor(o=o, running=running, partner=partner, key=issue_key(partner), green_desk=None,
                 green_officer=green_officer, post_loan=post_loan, product_admin=product_admin, risk_admin=risk_admin,
                 superuser=superuser, manager=manager,
                 rule_sets={rule_set.code: rule_set.pk for rule_set in RuleSet.objects.all()},
                 scorecard=make_scorecard(), limit_strategy=make_limit_strategy(),
                 pricing_strategy=make_pricing_strategy())


def _work_group(code: str):
    from creditfactory.organisations.models import WorkGroup

    return WorkGroup.objects.get(code=code)


def _process_state(application) -> dict:
    """What a later configuration change must not touch: the application's status and node, its
    configuration snapshot, and every task of its process with its queue and owner."""
    from viewflow.workflow.models import Task

    from workflows.selectors.applications import application_current_node

    application.refresh_from_db()
    tasks = Task.objects.filter(process=application.process).order_by("pk")
    return {"status": application.status, "node": application_current_node(application),
            "config": application.process.data["config"],
            "tasks": [(t.pk, t.flow_task.name, t.status, t.owner_id, t.owner_permission,
                       t.owner_permission_obj_pk) for t in tasks]}


class PartnerApi:
    """The partner's calls over HTTP to the live server (the standard library's client), with its
    Bearer key; every POST carries a fresh ``Idempotency-Key``."""

    def __init__(self, base: str, key: str):
        self.base = f"{base}/api/v1"
        self.headers = {"Authorization": f"Bearer {key}", "Accept-Language": "en", "Accept": "application/json"}

    def _call(self, method: str, path: str, *, body: dict | None = None, headers: dict | None = None):
        import json
        import urllib.error
        import urllib.request

        headers = {**self.headers, **(headers or {})}
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base}{path}", method=method, headers=headers,
                                         data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def get(self, path: str, **params):
        from urllib.parse import urlencode

        status, data = self._call("GET", f"{path}?{urlencode(params)}" if params else path)
        assert status == 200, (path, status, data)
        return data

    def post(self, path: str, body: dict | None = None, *, expect: int = 201):
        status, data = self._call("POST", path, body=body or {}, headers={"Idempotency-Key": str(uuid.uuid4())})
        assert status == expect, (path, status, data)
        return data


def _applicant(sequence: str = "123") -> dict:
    from tests.workflows.flow_factories import applicant_data

    applicant = applicant_data(sequence)
    return {**applicant, "monthly_income": str(applicant["monthly_income"])}


GREEN_APPLICATION = {
    "product": "GREEN", "amount": "20000.00", "term": 12, "term_unit": "months",
    "repayment_method": "equal_installment", "purpose": "durable_goods",
    "consents": {"credit_report": True, "personal_information": True}, "external_reference": "ACME-GREEN-1",
}


@contextmanager
def _chromium(sync_playwright):
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _signed_in(browser, base: str, username: str):
    page = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def _node_row(page, node: str, *, flow: str = "creditapplication"):
    """The *Process nodes* inline's row of ``node`` of ``flow`` (rows are server-rendered, so the
    chosen options carry ``selected``)."""
    return (page.locator("#flow_nodes-group tr.form-row")
            .filter(has=page.locator(f"select[name$='-flow'] option[value='{flow}'][selected]"))
            .filter(has=page.locator(f"select[name$='-node'] option[value='{node}'][selected]")))


def _saved(page):
    from playwright.sync_api import expect

    expect(page.locator("ul.messagelist li.success").first).to_be_visible()
    expect(page.locator(".errornote")).to_have_count(0)


def test_factory_tour(live_server, sync_playwright, artifacts, floor):
    from playwright.sync_api import expect

    from servicing.models import CloseRun
    from servicing.services.calendar import business_date

    f = floor
    base = live_server.url
    running_before = _process_state(f.running)
    api = PartnerApi(base, f.key)
    step = iter(range(1, 100))

    def shot(page, name: str):
        page.screenshot(path=str(artifacts / f"{next(step):02d}-{name}.png"), full_page=True)

    # Before the tour the partner's key cannot apply for a product that does not exist yet.
    refused = api.post("/applications", {**GREEN_APPLICATION, "applicant": _applicant()}, expect=400)
    assert set(refused["errors"]) == {"product"}, refused

    # -- 0-3: configuration in Django admin, through the browser ------------------------------------
    with _chromium(sync_playwright) as browser:
        # 0. The superuser sets up the work group that will handle GREEN's manual review: the
        #    Green-loan desk of the branch, its officer a member and its lead.
        page = _signed_in(browser, base, f.superuser.username)
        page.goto(f"{base}/admin/organisations/workgroup/add/")
        page.locator("#id_code").fill("green")
        page.locator("#id_name").fill("Green-loan desk")
        page.locator("#id_branch").select_option(str(f.o.branch.pk))
        page.locator("#id_policy").select_option("claim")
        page.locator("#id_members_from").select_option(label=f.green_officer.username)
        page.locator("#id_members_add").click()
        page.locator(".field-lead .select2-selection").click()
        page.locator(".select2-search__field").fill("green_off")
        page.locator(".select2-results__option", has_text="green_officer").click()
        shot(page, "work-group-add")
        page.locator("input[name=_continue]").click()
        _saved(page)
        green_desk = page.url.rstrip("/").split("/")[-2]  # …/workgroup/<pk>/change/

        # 1. The product admin adds the product: the six elements, pricing, line and drawdown terms,
        #    and the flow settings inline (straight-through approval up to 30,000.00).
        page = _signed_in(browser, base, f.product_admin.username)
        page.goto(f"{base}/admin/products/loanproduct/add/")
        form = page.locator("#loanproduct_form")
        form.locator("#id_code").fill("GREEN")
        form.locator("#id_name").fill(GREEN_NAME)
        form.locator("#id_product_type").select_option("consumer")
        form.locator("#id_description").fill("Loans for new-energy cars, sold by partners.")
        form.locator("#id_amount_min").fill("5000.00")
        form.locator("#id_amount_max").fill("50000.00")
        form.locator("#id_term_unit").select_option("months")
        form.locator("#id_term_min").fill("6")
        form.locator("#id_term_max").fill("24")
        form.locator("#id_rate_basis").select_option("annual")
        form.locator("#id_rate_min_percent").fill("5")
        form.locator("#id_rate_default_percent").fill("6")
        form.locator("#id_rate_max_percent").fill("9")
        form.locator("input[name=repayment_methods][value=equal_installment]").check()
        form.locator("input[name=repayment_methods][value=equal_principal]").check()
        form.locator("#id_prepayment_allowed").check()
        form.locator("#id_prepayment_fee_percent").fill("1")
        form.locator("input[name=purposes][value=durable_goods]").check()
        form.locator("#id_line_revolving").check()
        form.locator("#id_drawdown_review_above").fill("30000.00")
        form.locator("#id_flow_settings-0-auto_approval_enabled").check()
        form.locator("#id_flow_settings-0-auto_approval_ceiling").fill("30000.00")
        shot(page, "product-add")
        form.locator("input[name=_continue]").click()
        _saved(page)
        expect(page.locator("div.field-status .readonly")).to_have_text("Draft")

        # On its page: the process nodes. Review goes to the Green-loan desk, approval is off,
        # remote signing stays off (its default).
        review = _node_row(page, "review")
        review.locator("select[name$='-work_group']").select_option(green_desk)
        review.locator("input[name$='-sla_hours']").fill("4")
        _node_row(page, "approval").locator("input[name$='-enabled']").uncheck()
        expect(_node_row(page, "signing").locator("input[name$='-enabled']")).not_to_be_checked()
        shot(page, "product-nodes")
        page.locator("input[name=_save]").click()
        _saved(page)

        # Publish: the list's action freezes version 1 and puts the product on offer.
        page.goto(f"{base}/admin/products/loanproduct/?q=GREEN")
        page.locator("#result_list tbody tr", has_text="GREEN").locator("input.action-select").check()
        page.locator("select[name=action]").select_option("publish_selected")
        shot(page, "product-publish")
        page.locator("button[name=index]").click()
        expect(page.locator("ul.messagelist")).to_contain_text("GREEN published as version 1.")
        expect(page.locator("#result_list tbody tr", has_text="GREEN")).to_contain_text("Active")
        shot(page, "product-published")

        # The running product EDUCATION: approval off from now on (for new applications only).
        page.goto(f"{base}/admin/products/loanproduct/{f.o.product.pk}/change/")
        _node_row(page, "approval").locator("input[name$='-enabled']").uncheck()
        page.locator("input[name=_save]").click()
        _saved(page)

        # 2. The risk policy admin writes a rule set, publishes it and gives GREEN its policy.
        page = _signed_in(browser, base, f.risk_admin.username)
        page.goto(f"{base}/admin/risk/ruleset/add/")
        page.locator("#id_code").fill("GREEN_ADMISSION")
        page.locator("#id_name").fill("Green car admission")
        page.locator("#id_stage").select_option("admission")
        page.locator("#rules-group .add-row a").click()
        rule = page.locator("#rules-0")
        rule.locator("#id_rules-0-code").fill("GREEN_LARGE")
        rule.locator("#id_rules-0-priority").fill("10")
        rule.locator("#id_rules-0-expression").fill("amount > 15000")
        rule.locator("#id_rules-0-outcome").select_option("refer")
        rule.locator("#id_rules-0-reason_code").fill("GREEN_LARGE_AMOUNT")
        rule.locator("#id_rules-0-customer_reason_zh").fill("需人工审核")
        rule.locator("#id_rules-0-customer_reason_en").fill("A loan officer reviews larger amounts")
        rule.locator("#id_rules-0-description").fill("Green car loans above 15,000.00 are reviewed by the desk")
        shot(page, "ruleset-add")
        page.locator("input[name=_continue]").click()
        _saved(page)
        page.locator("form[action$='/publish/'] button[type=submit]").click()
        expect(page.locator("ul.messagelist")).to_contain_text("GREEN_ADMISSION: version 1 is current.")
        shot(page, "ruleset-published")
        green_rules = page.url.rstrip("/").split("/")[-2]

        page.goto(f"{base}/admin/risk/riskpolicy/add/")
        page.locator("#id_product").select_option(label=f"GREEN · {GREEN_NAME}")
        for rule_set in (f.rule_sets["T_ADMISSION"], f.rule_sets["T_DIRECT"], f.rule_sets["T_FRAUD"], green_rules):
            page.locator("#id_rule_sets_from").select_option(str(rule_set))
            page.locator("#id_rule_sets_add").click()
        page.locator("#id_scorecard").select_option(str(f.scorecard.pk))
        page.locator("#id_limit_strategy").select_option(str(f.limit_strategy.pk))
        page.locator("#id_pricing_strategy").select_option(str(f.pricing_strategy.pk))
        shot(page, "risk-policy")
        page.locator("input[name=_save]").click()
        _saved(page)

        # 3. The superuser gives the partner the product.
        page = _signed_in(browser, base, f.superuser.username)
        page.goto(f"{base}/admin/partners/partner/{f.partner.pk}/change/")
        page.locator("#id_products_from").select_option(label=f"GREEN · {GREEN_NAME}")
        page.locator("#id_products_add").click()
        shot(page, "partner-products")
        page.locator("input[name=_save]").click()
        _saved(page)

    f.green_desk = _work_group("green")  # as the superuser saved it (the ORM outside the browser's loop)
    assert (str(f.green_desk.pk), list(f.green_desk.members.all()), f.green_desk.lead, f.green_desk.branch) == (
        green_desk, [f.green_officer], f.green_officer, f.o.branch)

    # -- 3. The partner applies through the API, with the key it already had ----------------------
    created = api.post("/applications", {**GREEN_APPLICATION, "applicant": _applicant()})
    application = api.get(f"/applications/{created['id']}")
    assert (application["status"], application["current_node"], application["decision"]["outcome"],
            application["decision"]["limit"], application["decision"]["rate_percent"]) == (
        "in_review", "review", "refer", "40000.00", "7.000000"), application
    assert application["decision"]["reasons"] == ["A loan officer reviews larger amounts"]

    # The Green-loan desk's officer finds it in the queue, claims it and approves it.
    with _chromium(sync_playwright) as browser:
        page = _signed_in(browser, base, f.green_officer.username)
        page.goto(f"{base}/workflow/queue/")
        link = page.get_by_role("link", name=application["number"], exact=True)
        expect(link).to_be_visible()
        shot(page, "green-desk-queue")
        link.click()
        expect(page.locator("#task-owner")).to_have_text("(in the queue)")
        page.locator("#claim-form button[type=submit]").click()
        expect(page.locator("#task-owner")).to_have_text(f.green_officer.username)
        page.locator("#approve-form textarea[name='approve-note']").fill("Car dealer invoice and income checked.")
        shot(page, "green-desk-claimed")
        page.locator("#approve-form button[type=submit]").click()
        expect(page.locator("#status")).to_have_text("Awaiting contract acceptance")
        shot(page, "green-desk-approved")

    # -- 4. The line, a drawdown, a repayment -------------------------------------------------------
    accepted = api.post(f"/applications/{created['id']}/contract/accept", expect=200)
    assert accepted["status"] == "approved", accepted
    line = api.get(f"/applications/{created['id']}/credit-line")
    assert (line["product"], line["status"], line["limit"], line["rate_percent"]) == (
        "GREEN", "active", "40000.00", "7.000000"), line
    drawdown = api.post(f"/credit-lines/{line['id']}/drawdowns", {
        "amount": "20000.00", "term": 12, "term_unit": "months", "repayment_method": "equal_installment",
        "purpose": "durable_goods", "bank_account": "6222021234567890128", "external_reference": "ACME-GREEN-DD-1"})
    drawdown = api.get(f"/drawdowns/{drawdown['id']}")
    assert (drawdown["status"], drawdown["review_required"], drawdown["funding"]) == (
        "disbursed", False, [{"funder": "own", "share_percent": "100.00", "principal": "20000.00"}]), drawdown
    loan = api.get(f"/loans/{drawdown['loan']}")
    assert (loan["product"], loan["principal"], loan["rate_percent"]) == ("GREEN", "20000.00", "7.000000"), loan
    quote = api.get(f"/loans/{loan['id']}/quote", kind="prepayment", principal="5000.00")
    assert (quote["principal"], quote["interest"], quote["prepayment_fee"], quote["total"]) == (
        "5000.00", "0.00", "50.00", "5050.00"), quote
    repaid = api.post(f"/loans/{loan['id']}/repayments", {
        "amount": quote["total"], "kind": "prepayment", "principal": "5000.00", "reference": "ACME-GREEN-R-1"})
    assert repaid["allocation"]["principal"] == "5000.00", repaid
    assert repaid["loan"]["balances"]["principal_outstanding"] == "15000.00", repaid

    # The close of the day, run by an operator in the back office; it writes the portfolio figures
    # the dashboard reads.
    day = business_date().isoformat()
    with _chromium(sync_playwright) as browser:
        page = _signed_in(browser, base, f.post_loan.username)
        page.goto(f"{base}/lending/close/")
        expect(page.locator("#business-date")).to_have_text(f"Business date: {day}")
        page.locator("#run-close").click()
        expect(page.locator("#confirm-text")).to_contain_text(f"This closes the business date {day}")
        shot(page, "close-confirm")
        page.locator("#close-form button[type=submit]").click()
        page.wait_for_url(re.compile(r"/lending/close/\d+/$"))
        _wait_for_the_close(page)
        expect(page.locator("#progress")).to_have_text("100 %")
        shot(page, "close-done")
    run = CloseRun.objects.get()
    assert (run.business_date.isoformat(), run.status, run.actor, run.advanced) == (day, "succeeded", f.post_loan,
                                                                                      True)
    assert business_date() == run.business_date + datetime.timedelta(days=1)

    with _chromium(sync_playwright) as browser:
        page = _signed_in(browser, base, f.manager.username)
        page.goto(f"{base}/dashboard/?start={day}&end={day}")
        expect(page.locator("#disbursed-count")).to_have_text("1")
        expect(page.locator("#disbursed-amount")).to_have_text("20,000.00")
        expect(page.locator("#outstanding")).to_have_text("15,000.00")
        green_row = page.locator("#outstanding-by-product tbody tr", has_text=GREEN_NAME)
        expect(green_row.locator("td")).to_have_text([GREEN_NAME, "1", "15,000.00", "0.00", "0.0 %"])
        expect(page.locator("#applications-by-product tbody tr", has_text=GREEN_NAME).locator("td").nth(1)
               ).to_have_text("1")
        shot(page, "dashboard")

    # -- What the configuration did, and did not do -------------------------------------------------
    _assert_new_path(f, created["id"])
    _assert_running_untouched(f, running_before)
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-work-group-add.png", "02-product-add.png", "03-product-nodes.png", "04-product-publish.png",
        "05-product-published.png", "06-ruleset-add.png", "07-ruleset-published.png", "08-risk-policy.png",
        "09-partner-products.png", "10-green-desk-queue.png", "11-green-desk-claimed.png",
        "12-green-desk-approved.png", "13-close-confirm.png", "14-close-done.png", "15-dashboard.png"]


def _wait_for_the_close(page):
    """Reload the run's page until the run has finished (a real worker pool takes a while; eager
    Celery in the tests has finished it before the page answered), then it must have succeeded."""
    import time

    from playwright.sync_api import expect

    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while page.locator("#status").inner_text() == "Running" and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("#status")).to_have_text("Succeeded")


def _assert_new_path(f: Floor, application_id: int):
    from viewflow.workflow.models import Task

    from products.models import LoanProduct
    from risk.models import Decision
    from workflows.models import CreditApplication

    product = LoanProduct.objects.get(code="GREEN")
    assert (product.status, product.current_version.version, product.current_version.drawdown_review_above,
            product.current_version.prepayment_fee_percent) == ("active", 1, Decimal("30000.00"), Decimal("1"))
    application = CreditApplication.objects.get(pk=application_id)
    assert (application.product_version, application.partner, application.status, application.reviewed_by,
            application.approval_mode) == (product.current_version, f.partner, "approved", f.green_officer, "review")
    config = application.process.data["config"]
    assert (config["product"], config["settings"]["auto_approval_enabled"], config["settings"]["auto_approval_ceiling"],
            config["nodes"]["review"]["work_group_code"], config["nodes"]["review"]["sla_hours"],
            config["nodes"]["approval"]["enabled"], config["nodes"]["signing"]["enabled"]) == (
        "GREEN", True, "30000.00", "green", 4, False, False)
    tasks = list(Task.objects.filter(process=application.process).order_by("pk"))
    human = [t for t in tasks if t.flow_task.name == "review"]
    assert [(t.owner, t.owner_permission_obj_pk, t.status) for t in human] == [
        (f.green_officer, str(f.green_desk.pk), "DONE")]
    assert "approval" not in {t.flow_task.name for t in tasks}
    decision = Decision.objects.get(application=application)
    assert [r["code"] for r in decision.reasons if r.get("rule_set") == "GREEN_ADMISSION"] == ["GREEN_LARGE_AMOUNT"]


def _assert_running_untouched(f: Floor, before: dict):
    from workflows.models import ProcessNodeConfig
    from workflows.services.applications import application_approve, application_claim

    # The admin switched EDUCATION's approval off; the application that was running keeps its path.
    node = ProcessNodeConfig.objects.get(product=f.o.product, flow="creditapplication", node="approval")
    assert node.enabled is False
    assert _process_state(f.running) == before
    assert before["config"]["nodes"]["approval"]["enabled"] is True
    application_claim(application=f.running, actor=f.o.reviewer)
    application_approve(application=f.running, actor=f.o.reviewer, note="Thin file, income confirmed.")
    after_review = _process_state(f.running)
    assert (after_review["status"], after_review["node"]) == ("in_approval", "approval")
