"""A7: the sidebar shows only the sections a role may open, the refusal page explains and links
back (in the user's language), and roles without credit-flow work land on "My work"."""

import pytest
from django.apps import apps as django_apps
from django.utils import translation

from creditfactory.organisations.demo import seed_organisation
from creditfactory.organisations.roles import sync_standard_roles
from creditfactory.organisations.models import WorkGroup
from tests.workflows.factories import make_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def standard_roles():
    # Seeded by a migration, but a transactional test elsewhere may have flushed them.
    sync_standard_roles(django_apps)

SECTIONS = ("/workflow/", "/home/", "/origination/", "/lending/", "/servicing/", "/signing/", "/risk/", "/organisation/",
            "/tools/")


@pytest.fixture
def users():
    users = seed_organisation(log=lambda *args: None)["users"]
    make_schedule(work_group=WorkGroup.objects.get(code="signing"))  # the manager signs (demo)
    return users


def sidebar(client, user):
    client.force_login(user)
    html = client.get("/home/work/").content.decode()
    return {section for section in SECTIONS if f'href="{section}"' in html}


def test_the_sidebar_shows_only_what_each_role_may_open(client, users):
    manager = sidebar(client, users["manager"])
    assert {"/workflow/", "/home/", "/origination/", "/signing/"} <= manager and "/risk/" not in manager
    assert sidebar(client, users["disburser"]) == {"/home/", "/organisation/", "/tools/"}  # no Origination
    assert sidebar(client, users["collector"]) == {"/home/", "/organisation/", "/tools/"}
    assert sidebar(client, users["riskadmin"]) == {"/home/", "/risk/", "/organisation/", "/tools/"}
    reviewer = sidebar(client, users["reviewer"])
    assert {"/workflow/", "/home/", "/origination/", "/risk/"} <= reviewer and "/signing/" not in reviewer


@pytest.mark.parametrize("username", ["manager", "reviewer", "approver", "disburser", "postloan", "collector",
                                      "riskadmin", "productadmin", "auditor"])
def test_every_section_in_the_sidebar_opens(client, users, username):
    user = users[username]
    for section in sidebar(client, user):
        response = client.get(section, follow=True)
        assert response.status_code == 200, (username, section)


@pytest.mark.parametrize("username", ["disburser", "collector", "riskadmin", "productadmin"])
def test_roles_without_flow_work_land_on_my_work(client, users, username):
    client.force_login(users[username])
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/home/work/"
    assert "/signing/" not in response.redirect_chain[-1][0]


def test_my_work_shows_the_role_its_work_group_and_its_configuration(client, users):
    client.force_login(users["disburser"])
    html = client.get("/home/work/").content.decode()
    assert "放款审核 Disbursement reviewer" in html and "Checks drawdowns before payout." in html
    assert "放款审核组 Disbursement check" in html
    client.force_login(users["productadmin"])
    html = client.get("/home/work/").content.decode()
    assert 'href="/admin/products/loanproduct/"' in html
    client.force_login(users["manager"])
    html = client.get("/home/work/").content.decode()
    assert 'href="/origination/applications/"' in html and 'href="/signing/appointments/"' in html
    assert 'href="/risk/decisions/"' not in html


def test_officers_still_land_on_their_inbox(client, users):
    client.force_login(users["reviewer"])
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/workflow/inbox/"


def test_the_refusal_page_explains_and_links_back(client, users):
    client.force_login(users["disburser"])
    response = client.get("/origination/applications/", HTTP_REFERER="http://testserver/home/work/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You may not open this page" in html
    assert "Your role does not include this page or action" in html
    assert 'href="http://testserver/home/work/" id="refusal-back"' in html
    assert 'id="refusal-home"' in html
    assert "Log in as another user" not in html
    elsewhere = client.get("/origination/applications/", HTTP_REFERER="https://evil.example/").content.decode()
    assert "evil.example" not in elsewhere


def test_the_refusal_page_is_translated(client, users):
    client.force_login(users["disburser"])
    with translation.override("zh-hans"):
        html = client.get("/origination/applications/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "You may not open this page" not in html
    assert "您无权打开此页面" in html


def test_my_work_is_translated(client, users):
    client.force_login(users["disburser"])
    with translation.override("zh-hans"):
        html = client.get("/home/work/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "我的工作组" in html and "放款前审核支用申请。" in html
    assert "My work groups" not in html
