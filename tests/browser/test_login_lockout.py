"""The sign-in lockout in a real browser: five wrong passwords through the sign-in form, then the
lockout page (in Chinese for a zh-hans browser) instead of the workbench, even with the right
password. Screenshots under ``test-artifacts/<test>/``."""

import pytest

from tests.browser.test_officer_workflow import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The fixtures of the officer's workflow test: the system chromium and the screenshot folder.
from tests.browser.test_officer_workflow import artifacts, sync_playwright  # noqa: E402,F401


def test_five_wrong_passwords_show_the_lockout_page(live_server, sync_playwright, artifacts):  # noqa: F811
    from playwright.sync_api import expect

    from tests.factories import UserFactory

    UserFactory(username="officer")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-hans"},
                                       viewport={"width": 1366, "height": 900}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)

            def sign_in(password: str):
                page.goto(f"{live_server.url}/accounts/login/")
                page.locator("input[name=username]").fill("officer")
                page.locator("input[name=password]").fill(password)
                page.locator("form button[type=submit]").click()
                page.wait_for_load_state()

            for _attempt in range(5):
                sign_in("wrong-password")
            expect(page.locator("#login-locked")).to_be_visible()
            page.screenshot(path=str(artifacts / "01-locked-out.png"), full_page=True)
            sign_in(PASSWORD)
            expect(page.locator("#login-locked")).to_contain_text("30 分钟后重试")
            expect(page.locator(".vf-page-lockscreen__sidebar-header-title")).to_have_text("登录失败次数过多")
            page.screenshot(path=str(artifacts / "02-right-password-refused.png"), full_page=True)
        finally:
            browser.close()
