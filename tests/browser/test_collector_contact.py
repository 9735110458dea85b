"""A collector records a contact and a promise to pay on the case page in a real browser, then a
contact to a third party, which the page refuses naming the rule. Screenshots under
``test-artifacts/collector_contact/``."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from collection.models import CompliancePolicy, ComplianceRefusal, Contact, Promise
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_case, make_work_group
from tests.factories import make_staff

from .test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS, artifacts, sync_playwright

__all__ = ["artifacts", "sync_playwright"]  # fixtures used below

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_collector_records_a_contact_and_a_promise(live_server, sync_playwright, artifacts):
    from playwright.sync_api import expect

    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))
    case = make_case()
    collector = make_staff("zhao", case.loan.branch)
    collector.user_permissions.add(Permission.objects.get(codename="view_collectioncase"))
    group = make_work_group(members=[collector])
    type(case).objects.filter(pk=case.pk).update(work_group=group)
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US").new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill("zhao")
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)

            page.goto(f"{base}/collection/cases/")
            page.get_by_role("link", name=f"#{case.pk}", exact=True).click()
            page.wait_for_url(f"{base}/collection/cases/{case.pk}/")
            form = page.locator("#contact-form")
            form.locator("select[name=channel]").select_option("call")
            form.locator("select[name=party]").select_option("borrower")
            form.locator("select[name=result]").select_option("reached")
            form.locator("textarea[name=notes]").fill("Will pay on Thursday")
            form.locator("input[name=promise_amount]").fill("1730.53")
            form.locator("input[name=promise_due_on]").fill("2026-12-10")
            page.screenshot(path=str(artifacts / "01-form.png"), full_page=True)
            form.locator("#record").click()
            expect(page.locator("#contacts")).to_contain_text("Will pay on Thursday")
            expect(page.locator("#promises")).to_contain_text("1,730.53")
            page.screenshot(path=str(artifacts / "02-recorded.png"), full_page=True)

            form = page.locator("#contact-form")
            form.locator("select[name=channel]").select_option("call")
            form.locator("select[name=party]").select_option("other")
            form.locator("select[name=result]").select_option("reached")
            form.locator("#record").click()
            expect(page.locator("#form-errors")).to_contain_text("Third parties: only the registered emergency contact")
            page.screenshot(path=str(artifacts / "03-refused.png"), full_page=True)
        finally:
            browser.close()
    promise = Promise.objects.get()
    assert (promise.amount, promise.due_on, promise.collector.username) == (
        Decimal("1730.53"), datetime.date(2026, 12, 10), "zhao")
    assert Contact.objects.count() == 1 and ComplianceRefusal.objects.get().rule == "third_party"
