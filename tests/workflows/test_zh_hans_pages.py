"""Under zh-hans the back office and admin speak Chinese, frame included (issue 14, A6): viewflow's
inbox, queue, archive and process list, the application page and the admin index show none of
viewflow's or Django's English frame words; a language switcher is on every one of them; the
history's reasons follow the reader's language, whatever language they were written in."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import translation

from creditfactory.core.state import transitions_for
from creditfactory.core.texts import PREFIX, display_text, stored_text
from creditfactory.organisations.roles import role_group
from tests.factories import make_staff
from workflows.services import applications as services

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db

# What viewflow's frame and Django admin printed in English under zh-hans before (issue 14, A6).
FRAME_WORDS = ("Inbox", "Archive", "Processes", "Process", "Brief", "Created", "Done", "New", "Queue", "Task",
               "Tasks", "Assigned", "Owner", "Status", "Started", "Finished", "Select all", "Pick an action",
               "Assign selected tasks", "Unassign selected tasks", "GO", "of", "Process brief", "Workflow",
               "Filter", "Log out", "Profile", "Model name", "Add link", "Change or view list link", "Axes",
               "Access attempts", "Access failures", "Access logs", "Process list", "Open navigation menu", "Core",
               "Process id", "Process summary", "Active tasks")


class _Visible(HTMLParser):
    """The text a person sees or hears: element text and the labels of controls, not scripts,
    styles or Material icon ligatures ("inbox", "archive" are icon names drawn as pictures)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        icon = "material-icons" in (attrs.get("class") or "")
        self._skip.append(tag in ("script", "style", "template") or icon)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attrs.get(name):
                self.parts.append(attrs[name])

    def handle_endtag(self, tag):
        if self._skip:
            self._skip.pop()

    def handle_data(self, data):
        if not any(self._skip) and data.strip():
            self.parts.append(data.strip())


def english_frame_words(html: str) -> list[str]:
    parser = _Visible()
    parser.feed(html)
    text = "\n".join(parser.parts)
    return sorted({word for word in FRAME_WORDS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)})


@pytest.fixture
def pages(django_capture_on_commit_callbacks):
    """A reviewer with one task in the queue, one in the inbox and one approved (archive)."""
    o = setup_origination(approval=False)
    o.reviewer.groups.add(role_group("credit_reviewer"))
    with django_capture_on_commit_callbacks(execute=True):
        queued = create_application(o, sequence="991")
        mine = create_application(o, sequence="992")
        done = create_application(o, sequence="993")
    for application in (mine, done):
        application.refresh_from_db()
        services.application_claim(application=application, actor=o.reviewer)
    services.application_approve(application=done, actor=o.reviewer, note="ok")
    queued.refresh_from_db()
    return o, queued


def test_no_english_frame_words_under_zh_hans(client, admin_user, pages):
    o, application = pages
    client.force_login(o.reviewer)
    client.cookies["django_language"] = "zh-hans"
    found = {}
    for url in ("/workflow/inbox/", "/workflow/queue/", "/workflow/archive/", "/workflow/flows/",
                f"/origination/applications/{application.pk}/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert 'id="language-switcher"' in html, url
        found[url] = english_frame_words(html)
    client.force_login(admin_user)
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/admin/").content.decode()
    assert 'id="language-switcher"' in html
    found["/admin/"] = english_frame_words(html)
    assert found == {url: [] for url in found}


def test_the_frame_words_are_found_in_english(client, pages):
    """The check above can fail: in English the same pages show the words."""
    o, _application = pages
    client.force_login(o.reviewer)
    client.cookies["django_language"] = "en"
    html = client.get("/workflow/queue/").content.decode()
    assert {"Inbox", "Archive", "Queue", "of"} <= set(english_frame_words(html))  # no "Brief" column since A2


def test_the_pagination_summary_is_translated(client, pages):
    o, _application = pages
    client.force_login(o.reviewer)
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/workflow/queue/").content.decode()
    assert "第 1–1 条，共 1 条" in html


def test_the_switcher_sets_the_language_and_returns_to_the_page(client, pages):
    o, application = pages
    client.force_login(o.reviewer)
    page = f"/origination/applications/{application.pk}/"
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": page})
    assert (response.status_code, response["Location"]) == (302, page)
    assert "审查中" in client.get(page).content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": page})
    assert "In review" in client.get(page).content.decode()


def test_history_reasons_are_stored_neutral_and_shown_in_the_readers_language(pages):
    o, application = pages
    with translation.override("zh-hans"):  # written by a Chinese-speaking process
        services.application_withdraw(application=application, reason="客户主动撤回", actor=o.clerk)
    with connection.cursor() as cursor:
        # the application's own rows: another model's row (a product version) may share its id
        cursor.execute("SELECT reason FROM core_statetransition WHERE content_type_id = %s AND object_id = %s "
                       "AND field = 'status' ORDER BY id",
                       [ContentType.objects.get_for_model(application).pk, str(application.pk)])
        stored = [row[0] for row in cursor.fetchall()]
    assert stored[:2] == [stored_text("Submitted."), stored_text("Automated risk assessment started.")]
    assert stored[-1] == "客户主动撤回"  # typed text is stored as typed
    with translation.override("en"):
        english = [t.reason for t in transitions_for(application).filter(field="status").order_by("id")]
    with translation.override("zh-hans"):
        chinese = [t.reason for t in transitions_for(application).filter(field="status").order_by("id")]
    assert english == ["Submitted.", "Automated risk assessment started.", "Referred to manual review.",
                       "客户主动撤回"]
    assert chinese == ["已提交。", "自动风险评估已开始。", "已转人工审查。", "客户主动撤回"]


def test_a_stored_text_with_parameters_and_a_lazy_label(db):
    from workflows.models import ApplicationStatus

    text = stored_text("Result: %(result)s.", result=ApplicationStatus.APPROVED.label)
    assert text.startswith(PREFIX)
    with translation.override("en"):
        assert display_text(text) == "Result: Approved."
    with translation.override("zh-hans"):
        assert display_text(text) == translation.gettext("Result: %(result)s.") % {
            "result": translation.gettext("Approved")}
    # Free text and legacy rows are shown as they are; a damaged stored text does not break a page.
    assert display_text("Income not credible") == "Income not credible"
    assert display_text(PREFIX + "{not json") == PREFIX + "{not json"


def test_a_credit_line_grant_reason_in_both_languages(client, django_capture_on_commit_callbacks):
    o = setup_origination("EMERGENCY", auto_approval=True, ceiling=Decimal("20000.00"), approval=False)
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, amount=Decimal("20000.00"))
    manager = make_staff("cm", o.branch)
    manager.groups.add(role_group("customer_manager"))
    services.application_record_contract_acceptance(application=application, actor=manager, signing="branch",
                                                    reference="HT-1")
    client.force_login(manager)
    page = f"/origination/applications/{application.pk}/"
    client.cookies["django_language"] = "en"
    assert "Contract signed (At the branch), reference HT-1." in client.get(page).content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert "合同已签署（网点现场签署），编号 HT-1。" in client.get(page).content.decode()


def test_the_sign_in_page_has_the_switcher_and_no_demo_name(client):
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/accounts/login/").content.decode()
    assert 'id="language-switcher"' in html
    assert "Viewflow Demo suite" not in html and "信贷工厂" in html
    assert english_frame_words(html) == []
