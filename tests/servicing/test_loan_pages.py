"""The loan pages of the back office (list and one loan: balances, funding, schedule, journal) and
the read-only admin of the ledger, loans and the business date."""

import datetime
from decimal import Decimal

import pytest

from servicing.services.calendar import business_date_set
from servicing.services.loans import loan_book
from tests.factories import make_branch, make_staff
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def loan():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    a, b = make_funder("bank-a", name="甲银行", kind="co_lender"), make_funder("bank-b", name="乙银行", kind="co_lender")
    return loan_book(drawdown=make_drawdown(line=make_line(rate_percent=D("7")), funders=[(a, D(30)), (b, D(70))]))


def test_the_loan_list_shows_loans_with_money_formatted(admin_client, loan):
    page = admin_client.get("/lending/loans/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert loan.number in page and "20,000.00" in page and "甲银行 30.00 %" in page and "乙银行 70.00 %" in page
    assert "正常" in page or "有效" in page
    filtered = admin_client.get("/lending/loans/", {"status": "closed"}).content.decode()
    assert loan.number not in filtered
    assert loan.number in admin_client.get("/lending/loans/", {"funder": "bank-a"}).content.decode()


def test_the_loan_page_shows_schedule_funding_balances_and_journal(admin_client, loan):
    page = admin_client.get(f"/lending/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert loan.number in page and loan.drawdown.number in page
    assert "2027-01-04" in page and "1,613.86" in page and "1,730.53" in page and "18,386.14" in page
    assert "766.41" in page  # total interest
    assert "14,000.00" in page and "6,000.00" in page and "主资金方" in page
    assert "bank-b-1301" in page and "应收本金" in page and "放款" in page
    assert "还款计划" in page and "会计分录" in page
    assert "年化 7.00 %" in page and "6.9999 %" in page  # the contract rate and the APR


def test_staff_see_loans_of_their_branch_only(client, loan):
    from django.contrib.auth.models import Permission

    outsider = make_staff("outsider", make_branch("sz"))
    outsider.user_permissions.add(Permission.objects.get(codename="view_loan"))
    client.force_login(outsider)
    assert loan.number not in client.get("/lending/loans/").content.decode()
    assert client.get(f"/lending/loans/{loan.pk}/").status_code == 404
    insider = make_staff("insider", loan.branch)
    insider.user_permissions.add(Permission.objects.get(codename="view_loan"))
    client.force_login(insider)
    assert client.get(f"/lending/loans/{loan.pk}/").status_code == 200


def test_without_the_permission_the_pages_are_refused(client, loan):
    client.force_login(make_staff("clerk", loan.branch))
    assert client.get("/lending/loans/").status_code == 403
    assert client.get(f"/lending/loans/{loan.pk}/").status_code == 403


@pytest.mark.parametrize("model", ["loan", "journalentry", "account", "businessdate"])
def test_the_admin_shows_ledger_and_loans_read_only(admin_client, loan, model):
    listing = admin_client.get(f"/admin/servicing/{model}/")
    assert listing.status_code == 200
    assert admin_client.get(f"/admin/servicing/{model}/add/").status_code == 403


def test_the_admin_pages_show_figures(admin_client, loan):
    assert loan.number in admin_client.get("/admin/servicing/loan/").content.decode()
    change = admin_client.get(f"/admin/servicing/loan/{loan.pk}/change/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "object (" not in change and "第 1 期" in change and "乙银行，70 %" in change
    accounts = admin_client.get("/admin/servicing/account/").content.decode()
    assert "bank-b-1301" in accounts and "14,000.00" in accounts and "-14,000.00" in accounts
    entry = loan.journal_entries.order_by("id").first()
    detail = admin_client.get(f"/admin/servicing/journalentry/{entry.pk}/change/").content.decode()
    assert "bank-b-1301" in detail and "14000.00" in detail.replace(",", "")
    assert "2026-12-04" in admin_client.get("/admin/servicing/businessdate/").content.decode()


def test_a_post_loan_manager_reads_loans_and_their_ledger(client, loan):
    from creditfactory.organisations.roles import role_group

    manager = make_staff("post-loan", loan.branch)
    manager.groups.add(role_group("post_loan_manager"))
    client.force_login(manager)
    assert client.get(f"/lending/loans/{loan.pk}/").status_code == 200
    assert manager.has_perms(["servicing.view_loan", "servicing.view_journalentry", "servicing.view_account"])
