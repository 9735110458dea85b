"""The officer's workbench in a real browser: Playwright driving Debian's chromium (headless)
against a live server.

* An officer logs in, opens the queue, takes the application's review task, approves it with the
  form and sees the application move on to contract acceptance.
* A customer manager uploads a batch file through the form, and follows another import's
  progress bar (the page polls the status JSON) until its summary of rejected rows appears.

A screenshot of every step is saved under ``test-artifacts/<test>/`` (gitignored; CI keeps it).

Never ``playwright install``: the browser is the system's chromium. Without it the test fails in
CI (``CI`` set) and is skipped, saying why, on a developer's machine.

The live server needs committed data, so the test is transactional; tests/conftest.py turns on
serialized rollback for it, which restores the migrated data (roles, permissions) before it and
the flush after it empties every table. The roles are synced here as well, so the test also runs
on a database built with ``--nomigrations``.
"""

import json
import os
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "pass-1234-word"  # tests.factories.UserFactory's
TIMEOUT_MS = 15_000


def _unavailable(reason: str):
    """Fail in CI, where the browser must be there; skip elsewhere, and say why."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason}")
    print(f"skipping the browser test: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -r requirements-dev.txt)")
    return sync_playwright


@pytest.fixture
def artifacts(request):
    folder = Path(settings.BASE_DIR) / "test-artifacts" / request.node.name.removeprefix("test_")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


@pytest.fixture
def referred():
    """An application referred to manual review, its task in the review group's shared queue,
    and the reviewer (an officer with the credit-reviewer role) who will take it."""
    from django.apps import apps

    from creditfactory.organisations.roles import role_group, sync_standard_roles
    from tests.workflows.flow_factories import create_application, setup_origination

    sync_standard_roles(apps)
    o = setup_origination()
    o.reviewer.groups.add(role_group("credit_reviewer"))
    # Autocommit: the assessment job is sent on commit and runs eagerly here.
    application = create_application(o, sequence="991")
    application.refresh_from_db()
    assert application.status == "in_review"
    return o, application


def test_an_officer_claims_and_approves_a_task_from_the_queue(live_server, sync_playwright, artifacts, referred):
    from playwright.sync_api import expect

    o, application = referred
    base = live_server.url
    detail = f"{base}/origination/applications/{application.pk}/"
    # No database access from here until the browser is closed: Playwright's sync API runs an
    # event loop in this thread, where Django refuses synchronous queries.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 1000}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)

            def shot(name: str):
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

            # 1. Log in.
            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill(o.reviewer.username)
            page.locator("input[name=password]").fill(PASSWORD)
            shot("01-login")
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            expect(page.locator("vf-page-menu-navigation, .vf-page__menu-primary").first).to_be_attached()
            shot("02-logged-in")

            # 2. The queue lists the application's review task; open the application.
            page.goto(f"{base}/workflow/queue/")
            link = page.get_by_role("link", name=application.number, exact=True)
            expect(link).to_be_visible()
            shot("03-queue")
            link.click()
            page.wait_for_url(detail)
            expect(page.locator("#status")).to_have_text("In review")
            expect(page.locator("#task-owner")).to_have_text("(in the queue)")
            shot("04-application")

            # 3. Claim the task.
            page.locator("#claim-form button[type=submit]").click()
            expect(page.locator("#task-owner")).to_have_text(o.reviewer.username)
            expect(page.locator("#approve-form")).to_be_visible()
            shot("05-claimed")

            # 4. Approve with the form; the application advances past review.
            page.locator("#approve-form textarea[name='approve-note']").fill("Income and employment confirmed.")
            page.locator("#approve-form button[type=submit]").click()
            expect(page.locator("#status")).to_have_text("Awaiting contract acceptance")
            expect(page.locator("#current-node")).to_have_text("Contract acceptance")
            expect(page.locator("#task-panel")).to_contain_text("Waiting at: Contract acceptance")
            shot("06-approved")
        finally:
            browser.close()

    application.refresh_from_db()
    assert (application.status, application.reviewed_by, application.approval_mode) == (
        "contract", o.reviewer, "review")
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-login.png", "02-logged-in.png", "03-queue.png", "04-application.png", "05-claimed.png",
        "06-approved.png"]


def _in_thread(work):
    """Run database work beside the browser: this thread has Playwright's event loop, where
    Django refuses synchronous queries. Re-raises what the work raised."""
    from django.db import connection

    outcome = {}

    def run():
        try:
            outcome["result"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the database work did not finish"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


def test_a_customer_manager_imports_a_file_and_follows_the_progress(live_server, sync_playwright, artifacts,
                                                                   tmp_path):
    from django.apps import apps
    from playwright.sync_api import expect

    from creditfactory.organisations.roles import role_group, sync_standard_roles
    from tests.factories import make_staff
    from tests.workflows.flow_factories import grant, setup_origination
    from tests.workflows.test_batch_import import OFFICER_PERMISSIONS, csv_bytes, row
    from workflows.models import BatchImport, CreditApplication
    from workflows.services.batch import batch_import_process, batch_rows_parse

    sync_standard_roles(apps)
    o = setup_origination()
    manager = grant(make_staff("cm", o.branch), *OFFICER_PERMISSIONS)
    manager.groups.add(role_group("customer_manager"))
    upload = tmp_path / "applications.csv"
    upload.write_bytes(csv_bytes([row("123"), row("130", mobile="12345")]))
    # An import whose task has not run yet: the page shows it waiting and polls.
    later = csv_bytes([row("124", mobile="13900000001"), row("131", mobile="139", amount="1"),
                       row("125", mobile="13900000002")])
    rows = batch_rows_parse(filename="later.csv", content=later)
    waiting = BatchImport.objects.create(filename="later.csv", branch=o.branch, created_by=manager, total=len(rows),
                                         content=json.dumps(rows))
    base = live_server.url

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 1000}).new_page()
            page.set_default_timeout(TIMEOUT_MS)
            expect.set_options(timeout=TIMEOUT_MS)

            def shot(name: str):
                page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)

            page.goto(f"{base}/accounts/login/")
            page.locator("input[name=username]").fill(manager.username)
            page.locator("input[name=password]").fill(PASSWORD)
            page.locator("form button[type=submit]").click()
            page.wait_for_url(lambda url: "/accounts/login/" not in url)

            # 1. Upload through the form (eager Celery: imported before the page answers).
            page.goto(f"{base}/origination/batch/new/")
            page.locator("input[name=file]").set_input_files(str(upload))
            page.locator("input[name=consent_credit_report]").check()
            page.locator("input[name=consent_personal_information]").check()
            shot("01-upload-form")
            page.locator("#batch-form button[type=submit]").click()
            expect(page.locator("#batch-status")).to_have_text("Done")
            expect(page.locator("#count-accepted")).to_have_text("1")
            expect(page.locator("#rejected-rows tbody tr")).to_have_count(1)
            expect(page.locator("#rejected-rows")).to_contain_text("Applicant · Mobile")
            shot("02-upload-summary")

            # 2. A waiting import: the progress bar follows the rows as they are imported.
            page.goto(f"{base}/origination/batch/{waiting.pk}/")
            expect(page.locator("#batch-status")).to_have_text("Waiting")
            expect(page.locator("#batch-progress")).to_have_attribute("value", "0")
            shot("03-progress-waiting")
            _in_thread(lambda: batch_import_process(batch_id=waiting.pk, max_rows=1))
            expect(page.locator("#count-processed")).to_have_text("1")
            expect(page.locator("#batch-status")).to_have_text("Running")
            expect(page.locator("#batch-progress")).to_have_js_property("value", 33)
            shot("04-progress-running")
            _in_thread(lambda: batch_import_process(batch_id=waiting.pk))
            # Finished: the page reloads itself into the summary.
            expect(page.locator("#rejected-rows tbody tr")).to_have_count(1)
            expect(page.locator("#batch-status")).to_have_text("Done")
            expect(page.locator("#count-accepted")).to_have_text("2")
            shot("05-progress-done")
            with page.expect_download() as download:
                page.locator("#rejected-csv").click()
            rejected_csv = download.value.path().read_text(encoding="utf-8-sig")
        finally:
            browser.close()

    assert rejected_csv.splitlines()[1].startswith("3,REF-131,")
    assert CreditApplication.objects.filter(channel="batch").count() == 3
    assert sorted(path.name for path in artifacts.glob("*.png")) == [
        "01-upload-form.png", "02-upload-summary.png", "03-progress-waiting.png", "04-progress-running.png",
        "05-progress-done.png"]
