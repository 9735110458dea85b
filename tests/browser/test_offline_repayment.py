"""An offline repayment (线下还款) in a real browser: one post-loan manager registers a bank transfer
on the loan page, another verifies it in the verification queue and it posts. Screenshots under
``test-artifacts/offline_repayment/``."""

import datetime
from decimal import Decimal

import pytest

from .test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS, artifacts, sync_playwright

__all__ = ["artifacts", "sync_playwright"]  # fixtures used below

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def loan_and_officers():
    """The worked example's loan on its first due date (1,730.53 due) and two post-loan managers."""
    from django.apps import apps

    from creditfactory.organisations.roles import role_group, sync_standard_roles
    from servicing.services.calendar import business_date_set
    from tests.factories import make_staff
    from tests.servicing.repayment_factories import close_through, make_loan

    sync_standard_roles(apps)
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    loan = make_loan()
    close_through(datetime.date(2027, 1, 3))
    officers = []
    for name in ("maker", "checker"):
        user = make_staff(name, loan.branch)
        user.groups.add(role_group("post_loan_manager"))
        officers.append(user)
    return loan, *officers


def _login(browser, base, user):
    page = browser.new_context(locale="en-US").new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base}/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_offline_repayment(live_server, sync_playwright, artifacts, loan_and_officers):
    from playwright.sync_api import expect

    from servicing.models import Repayment

    loan, maker, checker = loan_and_officers
    base = live_server.url
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = _login(browser, base, maker)
            page.goto(f"{base}/lending/loans/{loan.pk}/")
            expect(page.locator("#quote-regular")).to_contain_text("1,730.53")
            form = page.locator("#register-form")
            form.locator("input[name=amount]").fill("1730.53")
            form.locator("input[name=reference]").fill("ICBC-20270104-001")
            page.screenshot(path=str(artifacts / "01-register.png"), full_page=True)
            form.locator("button[type=submit]").click()
            expect(page.locator("#repayments")).to_contain_text("Awaiting verification")
            page.screenshot(path=str(artifacts / "02-registered.png"), full_page=True)

            page = _login(browser, base, checker)
            page.goto(f"{base}/lending/verification/")
            expect(page.locator("#count-repayments")).to_have_text("1")
            page.screenshot(path=str(artifacts / "03-queue.png"), full_page=True)
            page.locator("#repayments button", has_text="Verify and post").click()
            expect(page.locator("#count-repayments")).to_have_text("0")
            page.goto(f"{base}/lending/loans/{loan.pk}/")
            expect(page.locator("#repayments")).to_contain_text("Posted")
            page.screenshot(path=str(artifacts / "04-posted.png"), full_page=True)
        finally:
            browser.close()
    repayment = Repayment.objects.get(loan=loan)
    assert (repayment.status, repayment.entered_by, repayment.verified_by, repayment.principal) == (
        "posted", maker, checker, Decimal("1613.86"))
