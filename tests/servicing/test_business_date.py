"""The business date (营业日): the ``business_date`` command, its refusal to move behind a posting,
and the date in the back-office header and in admin."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from servicing.models import BusinessDate
from servicing.services.calendar import business_date, business_date_set
from servicing.services.ledger import Posting, funder_account, ledger_post
from tests.factories import make_staff, make_branch
from tests.servicing.factories import make_funder

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("business_date", *args, stdout=out)
    return out.getvalue()


def test_the_command_prints_the_business_date():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    assert _run() == "2026-12-04\n"


def test_the_command_sets_the_date_with_its_reason():
    assert _run("--set", "2026-12-07", "--reason", "holiday catch-up") == "2026-12-07\n"
    row = BusinessDate.objects.get()
    assert (row.date, row.reason) == (datetime.date(2026, 12, 7), "holiday catch-up")
    assert business_date() == datetime.date(2026, 12, 7)


def test_the_command_refuses_a_date_behind_a_posting_and_leaves_the_date():
    business_date_set(date=datetime.date(2026, 12, 4))
    funder = make_funder()
    ledger_post(kind="disbursement", reference="LN1/d", business_date=datetime.date(2026, 12, 4), postings=[
        Posting(funder_account(funder=funder, kind="principal_receivable"), debit=Decimal("1.00")),
        Posting(funder_account(funder=funder, kind="settlement"), credit=Decimal("1.00"))])
    with pytest.raises(CommandError, match="cannot move to 2026-12-03: a posting is dated 2026-12-04"):
        _run("--set", "2026-12-03")
    assert business_date() == datetime.date(2026, 12, 4)
    assert _run("--set", "2026-12-04") == "2026-12-04\n"  # the posting's own date is fine


def test_the_command_refuses_a_malformed_date():
    business_date_set(date=datetime.date(2026, 12, 4))
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        _run("--set", "04/12/2026")
    assert business_date() == datetime.date(2026, 12, 4)


def test_the_refusal_exits_non_zero(capsys, monkeypatch):
    from django.core.management import base, execute_from_command_line

    monkeypatch.setattr(base.connections, "close_all", lambda: None)  # the test's transaction stays open

    business_date_set(date=datetime.date(2026, 12, 4))
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "business_date", "--set", "not-a-date"])
    assert exit_info.value.code == 1
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_the_back_office_header_shows_the_business_date_in_chinese(client):
    business_date_set(date=datetime.date(2026, 12, 4))
    client.force_login(make_staff("clerk", make_branch("hq")))
    page = client.get("/tools/calculator/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "营业日 2026-12-04" in page


def test_the_admin_shows_the_business_date(admin_client):
    business_date_set(date=datetime.date(2026, 12, 4))
    page = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "营业日 2026-12-04" in page
