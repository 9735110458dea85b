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


# --- the portfolio list: filters, DPD buckets, sorting, paging, indexed queries -------------------


def _overdue(loan, days):
    from servicing.models import Loan

    Loan.objects.filter(pk=loan.pk).update(status="overdue", days_past_due=days)


@pytest.fixture
def portfolio(loan):
    """Three loans: the co-lent one (30 days past due), one of another branch and product (95 days
    past due) and one current."""
    from tests.factories import make_product

    other_branch = make_branch("sz")
    line = make_line(product=make_product(code="REVOLVE", name="随借随还"), sequence="301", branch=other_branch)
    far = loan_book(drawdown=make_drawdown(line=line, amount=D("8000.00"), term=6))
    current = loan_book(drawdown=make_drawdown(line=make_line(sequence="302"), amount=D("5000.00"), term=6))
    _overdue(loan, 30)
    _overdue(far, 95)
    return loan, far, current


@pytest.mark.parametrize(("query", "expected"), [
    ({"dpd": "M0"}, {"current"}), ({"dpd": "M1"}, {"loan"}), ({"dpd": "M2"}, set()), ({"dpd": "M3+"}, {"far"}),
    ({"status": "overdue"}, {"loan", "far"}), ({"product": "REVOLVE"}, {"far"}), ({"funder": "bank-b"}, {"loan"}),
    ({"status": "overdue", "dpd": "M1", "funder": "bank-a"}, {"loan"}), ({"dpd": "nonsense"}, {"loan", "far", "current"}),
])
def test_the_portfolio_filters_by_status_dpd_bucket_product_and_funder(admin_client, portfolio, query, expected):
    names = dict(zip(("loan", "far", "current"), portfolio, strict=True))
    page = admin_client.get("/lending/loans/", query).content.decode()
    assert {name for name, loan in names.items() if loan.number in page} == expected


def test_the_portfolio_filters_by_branch_and_sorts(admin_client, portfolio):
    loan, far, current = portfolio
    page = admin_client.get("/lending/loans/", {"branch": far.branch_id}).content.decode()
    assert far.number in page and loan.number not in page and current.number not in page
    by_dpd = admin_client.get("/lending/loans/", {"sort": "-days_past_due"}).content.decode()
    assert by_dpd.index(far.number) < by_dpd.index(loan.number) < by_dpd.index(current.number)
    assert "95 (M3+)" in by_dpd and "30 (M1)" in by_dpd and "0 (M0)" in by_dpd
    by_outstanding = admin_client.get("/lending/loans/", {"sort": "-principal_outstanding"}).content.decode()
    assert by_outstanding.index(loan.number) < by_outstanding.index(far.number) < by_outstanding.index(current.number)
    zh = admin_client.get("/lending/loans/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "M3+（逾期 90 天以上）" in zh and "逾期天数" in zh and "随借随还" in zh


def test_the_portfolio_pages_without_counting(admin_client, portfolio, monkeypatch):
    from servicing import backoffice_loans

    monkeypatch.setattr(backoffice_loans, "PAGE_SIZE", 2)
    loan, far, current = portfolio
    first = admin_client.get("/lending/loans/", {"sort": "-days_past_due"}).content.decode()
    assert far.number in first and loan.number in first and current.number not in first
    assert "?sort=-days_past_due&amp;page=2" in first and "Previous" not in first
    second = admin_client.get("/lending/loans/", {"sort": "-days_past_due", "page": "2"}).content.decode()
    assert current.number in second and far.number not in second and "page=1" in second


@pytest.mark.parametrize("query", [
    {}, {"status": "overdue"}, {"dpd": "M1"}, {"dpd": "M3+"}, {"funder": "bank-a"}, {"sort": "-days_past_due"},
    {"sort": "-principal_outstanding"}, {"sort": "maturity_date"}, {"sort": "number"}, {"sort": "value_date"},
])
def test_each_portfolio_query_uses_an_index_not_a_scan_of_the_loans(admin_user, portfolio, query):
    """With sequential scans priced out, the plan of every filter and sort must find an index on
    the loans (and their parts): a page of a million loans reads its rows, not the table."""
    from django.db import connection

    from servicing.selectors.loans import loan_filter, loan_portfolio_for

    queryset = loan_filter(loan_portfolio_for(admin_user), **query)[:51]
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan on servicing_loan " not in plan and "Seq Scan on servicing_loanpart" not in plan, plan


def test_the_loan_page_shows_paid_and_unpaid_parts_penalty_status_and_dpd(admin_client, loan):
    from servicing.models import Installment

    Installment.objects.filter(loan=loan, number=1).update(
        status="overdue", principal_paid=D("600.00"), interest_accrued=D("116.67"), interest_paid=D("116.67"),
        penalty_accrued=D("3.06"), penalty_paid=D("1.00"))
    _overdue(loan, 12)
    page = admin_client.get(f"/lending/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    row = page[page.index('id="installment-1"'):page.index('id="installment-2"')]
    for figure in ("1,613.86", "600.00", "1,013.86", "116.67", "3.06", "1.00", "2.06"):
        assert figure in row, figure
    assert "12 · M1（逾期 1–30 天）" in page and "罚息" in page and "未还" in page and "应还" in page
    assert f"{loan.number}/disbursement/bank-b" in page  # the journal entry's reference
