"""Issue 14 in a real browser (Playwright driving Debian's chromium against a live server):

* An application entered in the back office reaches an active credit line through staff actions
  alone: a customer manager enters it, a reviewer claims and approves it, the customer manager
  records the contract acceptance (how and under which reference it was signed) — no partner API.
* Under zh-hans, chosen with the language switcher, the inbox and the application page show none
  of viewflow's English frame words.

Screenshots of every step under ``test-artifacts/<test>/`` (gitignored; CI keeps them). Without
chromium the tests fail in CI and are skipped elsewhere (see test_officer_workflow)."""

import re
from datetime import date
from decimal import Decimal

import pytest

from tests.browser.test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS
from tests.workflows.test_zh_hans_pages import FRAME_WORDS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The fixtures of the officer's workflow test: the system chromium and the screenshot folder.
from tests.browser.test_officer_workflow import artifacts, sync_playwright  # noqa: E402,F401


@pytest.fixture
def staff():
    """The product and work groups of the credit flow; a customer manager who enters applications
    and records contracts, and a reviewer (another person: four-eyes) who decides them."""
    from django.apps import apps

    from creditfactory.organisations.roles import role_group, sync_standard_roles
    from tests.factories import make_staff
    from tests.workflows.flow_factories import setup_origination

    sync_standard_roles(apps)
    o = setup_origination()
    o.reviewer.groups.add(role_group("credit_reviewer"))
    manager = make_staff("manager", o.branch)
    manager.groups.add(role_group("customer_manager"))
    return o, manager


def _open(browser, base: str, username: str, *, locale: str = "en-US"):
    from playwright.sync_api import expect

    page = browser.new_context(locale=locale, viewport={"width": 1366, "height": 1000}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_a_back_office_application_reaches_an_active_credit_line_by_staff_alone(
        live_server, sync_playwright, artifacts, staff):  # noqa: F811
    from playwright.sync_api import expect

    from risk.validators import build_resident_id

    o, manager = staff
    base = live_server.url
    id_number = build_resident_id(region="110105", birth_date=date(1990, 5, 20),
                                  sequence="123")  # sandbox: approve, grade C, limit 40,000.00
    branch_pk, product_code = o.branch.pk, o.product.code

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            desk = _open(browser, base, manager.username)

            def shot(page, name: str):
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

            # 1. The customer manager enters the application at the branch.
            desk.goto(f"{base}/origination/applications/new/")
            form = desk.locator("#new-application-form")
            form.locator("select[name=product]").select_option(product_code)
            form.locator("select[name=branch]").select_option(str(branch_pk))
            form.locator("input[name=amount]").fill("20000.00")
            form.locator("input[name=term]").fill("12")
            form.locator("select[name=repayment_method]").select_option("equal_installment")
            form.locator("select[name=purpose]").select_option("education")
            form.locator("input[name=name]").fill("张三")
            form.locator("input[name=id_number]").fill(id_number)
            form.locator("input[name=mobile]").fill("13812345678")
            form.locator("input[name=monthly_income]").fill("10000.00")
            form.locator("select[name=employment]").select_option("employed")
            form.locator("input[name=address]").fill("北京市朝阳区建国路 1 号")
            form.locator("input[name=consent_credit_report]").check()
            form.locator("input[name=consent_personal_information]").check()
            shot(desk, "01-entered")
            form.locator("button[type=submit]").click()
            desk.wait_for_url(re.compile(r"/origination/applications/\d+/$"))
            expect(desk.locator("#status")).to_have_text("In review")
            detail = desk.url
            shot(desk, "02-submitted-in-review")

            # 2. The reviewer claims the review task and approves (below the approval threshold).
            review = _open(browser, base, o.reviewer.username)
            review.goto(detail)
            review.locator("#claim-form button[type=submit]").click()
            expect(review.locator("#approve-form")).to_be_visible()
            review.locator("#approve-form textarea[name='approve-note']").fill("Income and employment confirmed.")
            shot(review, "03-review-claimed")
            review.locator("#approve-form button[type=submit]").click()
            expect(review.locator("#status")).to_have_text("Awaiting contract acceptance")
            shot(review, "04-approved-awaiting-contract")

            # 3. The customer manager records how the applicant signed: the line is granted.
            desk.goto(detail)
            expect(desk.locator("#contract-form")).to_be_visible()
            desk.locator("#contract-form select[name='contract-signing']").select_option("branch")
            desk.locator("#contract-form input[name='contract-reference']").fill("HT-2026-0001")
            shot(desk, "05-contract-form")
            desk.locator("#contract-form button[type=submit]").click()
            expect(desk.locator("#status")).to_have_text("Approved")
            expect(desk.locator("#credit-line")).to_be_visible()
            expect(desk.locator("#contract-signing")).to_contain_text("At the branch · HT-2026-0001")
            expect(desk.locator("#task-panel")).to_contain_text("Nothing waits for staff.")
            shot(desk, "06-line-granted")
        finally:
            browser.close()

    from servicing.models import CreditLine
    from workflows.models import CreditApplication

    application = CreditApplication.objects.get()
    assert (application.status, application.channel, application.partner, application.created_by,
            application.reviewed_by, application.contract_signing, application.contract_reference,
            application.contract_recorded_by) == (
        "approved", "back_office", None, manager, o.reviewer, "branch", "HT-2026-0001", manager)
    line = CreditLine.objects.get(application=application)
    assert (line.status, line.limit) == ("active", Decimal("40000.00"))
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-entered.png", "02-submitted-in-review.png", "03-review-claimed.png",
        "04-approved-awaiting-contract.png", "05-contract-form.png", "06-line-granted.png"]


def _english_frame_words(text: str) -> list[str]:
    return sorted({word for word in FRAME_WORDS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)})


def test_the_zh_hans_inbox_and_application_page_have_no_english_frame_words(
        live_server, sync_playwright, artifacts, staff, django_capture_on_commit_callbacks):  # noqa: F811
    from playwright.sync_api import expect

    from tests.workflows.flow_factories import create_application
    from workflows.services import applications as services

    o, _manager = staff
    mine = create_application(o, sequence="991")  # autocommit: assessed on commit, referred to review
    mine.refresh_from_db()
    services.application_claim(application=mine, actor=o.reviewer)  # in the reviewer's inbox
    base = live_server.url
    icons = "document.querySelectorAll('.material-icons').forEach(e => e.remove())"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _open(browser, base, o.reviewer.username)
            page.goto(f"{base}/workflow/inbox/")
            # 1. Switch to Chinese with the toolbar's switcher: the page comes back in Chinese.
            page.locator("#language-switcher select").select_option("zh-hans")
            page.wait_for_load_state()
            expect(page.locator(".vf-page__menu")).to_contain_text("我的待办")
            expect(page.locator(".vf-list__table")).to_contain_text(mine.number)
            page.screenshot(path=str(artifacts / "01-inbox-zh-hans.png"), full_page=True)
            page.evaluate(icons)  # Material icon ligatures ("inbox") are pictures, not words
            inbox_words = _english_frame_words(page.locator("body").inner_text())

            # 2. The application page.
            page.goto(f"{base}/origination/applications/{mine.pk}/")
            expect(page.locator("#status")).to_have_text("审查中")
            page.screenshot(path=str(artifacts / "02-application-zh-hans.png"), full_page=True)
            page.evaluate(icons)
            application_words = _english_frame_words(page.locator("body").inner_text())
        finally:
            browser.close()

    assert (inbox_words, application_words) == ([], [])
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-inbox-zh-hans.png", "02-application-zh-hans.png"]
