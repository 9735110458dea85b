"""The mobile cockpit (移动驾驶舱) on a phone, 390 px wide: a manager signs in, opens /cockpit/ and
sees one column — the alerts first, then each figure large with its change and its sparkline,
nothing wider than the screen. Screenshots under ``test-artifacts/cockpit_on_a_phone/``."""

import pytest

from .test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS, artifacts, sync_playwright

__all__ = ["artifacts", "sync_playwright"]  # fixtures used below

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def portfolio():
    from django.apps import apps

    from creditfactory.organisations.roles import sync_standard_roles
    from tests.workflows.instrument_factories import build_portfolio

    sync_standard_roles(apps)
    return build_portfolio()


def test_cockpit_on_a_phone(live_server, sync_playwright, artifacts, portfolio):
    from playwright.sync_api import expect

    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844},
                                       device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill(portfolio.manager.username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)

            page.goto(f"{base}/cockpit/?date=2026-12-04")
            expect(page.locator("#cockpit-day")).to_have_text("2026-12-04")
            expect(page.locator("#figure-m1-rate .cockpit__value")).to_have_text("47.37 %")
            expect(page.locator("#figure-outstanding .cockpit__value")).to_have_text("38,000.00")
            expect(page.locator("#alerts .cockpit__alert")).to_have_count(3)
            expect(page.locator(".cockpit__card svg.sparkline").first).to_be_visible()
            page.screenshot(path=str(artifacts / "01-cockpit-390px.png"), full_page=True)

            # one column: every card as wide as the others, stacked, and within the screen
            boxes = page.locator(".cockpit__card").evaluate_all(
                "cards => cards.map(c => { const r = c.getBoundingClientRect(); "
                "return {left: r.left, right: r.right, top: r.top}; })")
            assert len(boxes) == 6
            assert len({round(box["left"]) for box in boxes}) == 1
            assert all(box["right"] <= 390 for box in boxes)
            assert [box["top"] for box in boxes] == sorted(box["top"] for box in boxes)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390
        finally:
            browser.close()
    assert sorted(path.name for path in artifacts.glob("*.png")) == ["01-cockpit-390px.png"]


def test_dashboard_in_chinese(live_server, sync_playwright, artifacts, portfolio):
    """The data dashboard at a desktop width in zh-hans: the headline figures, the charts drawn."""
    from playwright.sync_api import expect

    base = live_server.url
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)
            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill(portfolio.manager.username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            page.goto(f"{base}/dashboard/?start=2026-11-15&end=2026-12-04")
            expect(page.locator("#m1-rate")).to_have_text("47.37 %")
            expect(page.get_by_text("复贷率", exact=False).first).to_be_visible()
            expect(page.locator("svg.bo-lines")).to_have_count(1)
            page.screenshot(path=str(artifacts / "01-dashboard-zh-hans.png"), full_page=True)
        finally:
            browser.close()
