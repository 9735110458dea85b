"""The queue on a phone (390 px wide, issue 14 A2/A9): number, applicant (masked) and amount are
shown in full and legibly; the other columns step aside. The application page's sections fold
and open with a tap. Screenshots under ``test-artifacts/queue_on_a_phone/``."""

import pytest

from .test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS, artifacts, referred, sync_playwright

__all__ = ["artifacts", "referred", "sync_playwright"]  # fixtures used below

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_queue_on_a_phone(live_server, sync_playwright, artifacts, referred):
    from playwright.sync_api import expect

    o, application = referred
    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844},
                                       device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill(o.reviewer.username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)

            page.goto(f"{base}/workflow/queue/")
            row = page.locator("tr[data-row-id]").first
            number = row.get_by_role("link", name=application.number, exact=True)
            expect(number).to_be_visible()
            expect(row.locator("td.bo-col-applicant")).to_have_text("张*")
            expect(row.locator("td.bo-col-amount")).to_have_text("20,000.00")
            expect(row.locator("td.bo-col-branch")).to_be_hidden()
            expect(row.locator("td.bo-col-sla")).to_be_hidden()
            page.screenshot(path=str(artifacts / "01-queue-390px.png"), full_page=True)
            # Nothing of the three is cut: each cell's text fits its box and the row fits the screen.
            for cell in ("td.bo-col-application", "td.bo-col-applicant", "td.bo-col-amount"):
                box = row.locator(cell).evaluate(
                    "e => ({scroll: e.scrollWidth, client: e.clientWidth, right: e.getBoundingClientRect().right})")
                assert box["scroll"] <= box["client"] + 1, (cell, box)
                assert box["right"] <= 390, (cell, box)

            number.click()
            page.wait_for_url(f"{base}/origination/applications/{application.pk}/")
            documents = page.locator("#documents")
            expect(documents.locator("table")).to_be_hidden()
            expect(page.locator("#task-panel #claim-form")).to_be_visible()
            page.screenshot(path=str(artifacts / "02-application-390px.png"), full_page=True)
            documents.locator(".vf-card__header").click()
            expect(documents.locator("table")).to_be_visible()
            page.screenshot(path=str(artifacts / "03-section-opened-390px.png"), full_page=True)
        finally:
            browser.close()
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-queue-390px.png", "02-application-390px.png", "03-section-opened-390px.png"]
