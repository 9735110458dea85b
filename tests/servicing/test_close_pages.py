"""The back office of the daily close (runs, progress, figures per phase, failures with the loan,
starting the close for an authorised role only) and of write-offs (核销: approved or rejected with
a reason by someone other than the proposer), and their read-only admin."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied

from creditfactory.core.state import transitions_for
from creditfactory.organisations.roles import role_group
from servicing.models import CloseChunk, CloseRun, JournalEntry, Loan, WriteOffRequest
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_date
from servicing.services.close.write_off import write_off_approve, write_off_propose
from servicing.services.ledger import reconcile
from servicing.services.ledger_checks import ledger_check
from tests.factories import make_staff
from tests.servicing.repayment_factories import close_through, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
VALUE = datetime.date(2026, 12, 4)
DUE1 = datetime.date(2027, 1, 4)


@pytest.fixture
def loan():
    business_date_set(date=VALUE, reason="test")
    return make_loan()


def _staff(name, loan, role):
    user = make_staff(name, loan.branch)
    user.groups.add(role_group(role))
    return user


@pytest.fixture
def manager(loan):
    return _staff("postloan", loan, "post_loan_manager")


# --- close runs ---------------------------------------------------------------------------------------


def test_the_close_runs_show_progress_and_figures_per_phase(client, manager, loan):
    close_date(business_date=VALUE)
    run = CloseRun.objects.get()
    client.force_login(manager)
    listing = client.get("/lending/close/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="run-{run.pk}"' in listing and "Succeeded" in listing and "100 %" in listing
    assert "Business date" in listing and "2026-12-05" in listing  # the business date advanced
    detail = client.get(f"/lending/close/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Close of 2026-12-04 · run #" in detail and '<span id="progress">100 %</span>' in detail
    phases = detail[detail.index('id="phases"'):]
    assert "Overdue, interest and penalty accrual" in phases and "Loans closed" in phases
    assert '<tr id="phase-loans"><td>Loans closed</td><td class="num">1</td>' in phases
    assert '<tr id="phase-interest"><td>Installments accruing interest</td><td class="num">1</td>' in phases
    assert "No failures." in detail
    zh = client.get(f"/lending/close/{run.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "日终" in zh and "计息" in zh


def test_a_failed_chunk_names_its_loan(client, manager, loan):
    run = CloseRun.objects.create(business_date=VALUE, status="failed", stage="done", chunks_total=1,
                                  chunks_failed=1)
    CloseChunk.objects.create(run=run, stage="close", seq=1, lo=loan.pk, hi=loan.pk, status="failed",
                              failures=[{"loan": loan.pk, "number": loan.number, "error": "DataError: boom"}])
    client.force_login(manager)
    detail = client.get(f"/lending/close/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'<a href="/lending/loans/{loan.pk}/">{loan.number}</a>' in detail and "DataError: boom" in detail
    assert "Failed" in detail


def test_an_authorised_person_runs_the_close_after_confirming(client, manager, loan,
                                                              django_capture_on_commit_callbacks):
    client.force_login(manager)
    confirm = client.get("/lending/close/run/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "This closes the business date 2026-12-04" in confirm and "Close 2026-12-04" in confirm
    assert client.post("/lending/close/run/", {}).status_code == 303  # not confirmed: back to the page
    assert not CloseRun.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/lending/close/run/", {"confirm": "yes"})
    run = CloseRun.objects.get()
    assert response.status_code == 303 and response["Location"] == f"/lending/close/{run.pk}/"
    assert (run.actor, run.status, run.advanced, business_date()) == (manager, "succeeded", True,
                                                                       VALUE + datetime.timedelta(days=1))
    loan.refresh_from_db()
    assert loan.interest_receivable == D("3.76")
    assert reconcile() == []


def test_a_clerk_without_the_permission_cannot_run_the_close(client, loan):
    clerk = make_staff("clerk", loan.branch)
    clerk.user_permissions.add(Permission.objects.get(codename="view_closerun"))
    client.force_login(clerk)
    listing = client.get("/lending/close/").content.decode()
    assert 'id="run-close"' not in listing
    assert client.get("/lending/close/run/").status_code == 403
    assert client.post("/lending/close/run/", {"confirm": "yes"}).status_code == 403
    assert not CloseRun.objects.exists() and business_date() == VALUE
    nobody = make_staff("nobody", loan.branch)
    client.force_login(nobody)
    assert client.get("/lending/close/").status_code == 403


# --- write-offs ---------------------------------------------------------------------------------------


@pytest.fixture
def overdue(loan):
    """The loan 6 days past its first due date, proposed for write-off as the close proposes."""
    close_through(DUE1 + datetime.timedelta(days=5))
    loan.refresh_from_db()
    assert (loan.status, loan.days_past_due) == ("overdue", 6)
    return WriteOffRequest.objects.create(loan=loan, proposed_on=business_date(), days_past_due=6,
                                          principal=loan.principal_outstanding, interest=loan.interest_receivable,
                                          penalty=loan.penalty_receivable)


@pytest.fixture
def approver(loan):
    return _staff("approver", loan, "credit_approver")


def test_a_write_off_is_approved_and_the_receivables_leave_the_books(client, approver, loan, overdue):
    loan.refresh_from_db()
    assert (loan.principal_outstanding, loan.interest_receivable, loan.penalty_receivable) == (
        D("20000.00"), D("137.43"), D("2.82"))
    client.force_login(approver)
    queue = client.get("/lending/verification/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<span id="count-write-offs">1</span>' in queue and "The daily close" in queue
    assert "count-repayments" not in queue  # approvers verify no transfers
    response = client.post(f"/lending/verification/write-offs/{overdue.pk}/", {"action": "approve", "note": ""})
    assert response.status_code == 303
    overdue.refresh_from_db()
    loan.refresh_from_db()
    assert (overdue.status, overdue.decided_by, overdue.principal, overdue.interest, overdue.penalty) == (
        "approved", approver, D("20000.00"), D("137.43"), D("2.82"))
    assert (loan.status, loan.principal_outstanding, loan.interest_receivable, loan.penalty_receivable) == (
        "written_off", D("0.00"), D("0.00"), D("0.00"))
    entry = JournalEntry.objects.get(reference=f"{loan.number}/write-off/own")
    assert sorted((line.account.number, line.debit, line.credit) for line in entry.lines.all()) == [
        ("own-1301", D("0"), D("20000.00")), ("own-1302", D("0"), D("137.43")), ("own-1303", D("0"), D("2.82")),
        ("own-6701", D("20140.25"), D("0"))]
    assert [t.to_state for t in transitions_for(loan)][0] == "written_off"
    assert reconcile() == [] and ledger_check() == []
    again = client.post(f"/lending/verification/write-offs/{overdue.pk}/", {"action": "approve"})
    assert again.status_code == 422 and "This write-off was decided already." in again.content.decode()


def test_a_write_off_rejected_needs_a_reason_and_moves_nothing(client, approver, loan, overdue):
    client.force_login(approver)
    blank = client.post(f"/lending/verification/write-offs/{overdue.pk}/", {"action": "reject", "note": ""})
    assert blank.status_code == 422 and "Say why the write-off is rejected." in blank.content.decode()
    response = client.post(f"/lending/verification/write-offs/{overdue.pk}/",
                           {"action": "reject", "note": "Borrower agreed a plan"})
    assert response.status_code == 303
    overdue.refresh_from_db()
    loan.refresh_from_db()
    assert (overdue.status, overdue.note, loan.status) == ("rejected", "Borrower agreed a plan", "overdue")
    assert not JournalEntry.objects.filter(kind="write_off").exists()


def test_who_proposes_a_write_off_does_not_approve_it(loan, overdue):
    approver = _staff("both", loan, "credit_approver")
    approver.groups.add(role_group("post_loan_manager"))
    WriteOffRequest.objects.filter(pk=overdue.pk).delete()
    proposal = write_off_propose(loan=loan, actor=approver, note="Borrower deceased")
    with pytest.raises(PermissionDenied):
        write_off_approve(request=proposal, actor=approver)
    proposal.refresh_from_db()
    assert proposal.status == "pending" and Loan.objects.get(pk=loan.pk).status == "overdue"
    other = _staff("other", loan, "credit_approver")
    assert write_off_approve(request=proposal, actor=other).status == "approved"


def test_a_post_loan_manager_may_not_approve_a_write_off(client, manager, loan, overdue):
    client.force_login(manager)
    assert "count-write-offs" not in client.get("/lending/verification/").content.decode()
    response = client.post(f"/lending/verification/write-offs/{overdue.pk}/", {"action": "approve"})
    assert response.status_code == 403
    overdue.refresh_from_db()
    assert overdue.status == "pending"


# --- admin ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["closerun", "writeoffrequest", "repayment", "creditbalancerefund"])
def test_the_admin_shows_close_runs_and_decisions_read_only(admin_client, loan, model):
    close_date(business_date=VALUE)
    assert admin_client.get(f"/admin/servicing/{model}/").status_code == 200
    assert admin_client.get(f"/admin/servicing/{model}/add/").status_code == 403


def test_the_close_run_admin_shows_its_chunks(admin_client, loan):
    close_date(business_date=VALUE)
    run = CloseRun.objects.get()
    page = admin_client.get(f"/admin/servicing/closerun/{run.pk}/change/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Close-of-day chunks" in page and "Start of the next day" in page
    assert "100 %" in admin_client.get("/admin/servicing/closerun/").content.decode()


def test_a_running_close_shows_its_progress(client, manager, loan):
    run = CloseRun.objects.create(business_date=VALUE, chunks_total=4, chunks_done=1)
    for seq in range(1, 5):
        CloseChunk.objects.create(run=run, stage="close", seq=seq, lo=seq, hi=seq,
                                  status="done" if seq == 1 else "pending",
                                  counts={"loans": 3} if seq == 1 else {}, seconds={"accrue": 0.25} if seq == 1 else {})
    client.force_login(manager)
    listing = client.get("/lending/close/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<progress max="100" value="25">' in listing and "1 / 4" in listing and "Resume the close" in listing
    detail = client.get(f"/lending/close/{run.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<td>Close of the date</td><td class=\"num\">4</td><td class=\"num\">1</td><td class=\"num\">0</td>" \
           "<td class=\"num\">3</td>" in detail
    assert '<td class="num">0.25</td>' in detail
    confirm = client.get("/lending/close/run/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The close of 2026-12-04 is unfinished" in confirm


def test_a_post_loan_manager_proposes_a_write_off_on_the_loan_page(client, manager, loan):
    close_through(DUE1 + datetime.timedelta(days=5))
    approver = _staff("approver", loan, "credit_approver")
    client.force_login(manager)
    blank = client.post(f"/lending/loans/{loan.pk}/write-off/", {"note": ""})
    assert blank.status_code == 422 and not WriteOffRequest.objects.exists()
    assert client.post(f"/lending/loans/{loan.pk}/write-off/", {"note": "Borrower deceased"}).status_code == 303
    proposal = WriteOffRequest.objects.get()
    assert (proposal.status, proposal.proposed_by, proposal.days_past_due, proposal.principal) == (
        "pending", manager, 6, D("20000.00"))
    page = client.get(f"/lending/loans/{loan.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Borrower deceased" in page and 'id="write-off-form"' not in page  # one pending at a time
    client.force_login(approver)
    assert client.post(f"/lending/verification/write-offs/{proposal.pk}/", {"action": "approve"}).status_code == 303
    loan.refresh_from_db()
    assert loan.status == "written_off" and ledger_check() == []


def test_a_co_lent_loan_is_written_off_part_by_part():
    from servicing.models import LoanPart
    from tests.servicing.repayment_factories import make_funders

    business_date_set(date=VALUE, reason="test")
    a, b = make_funders()
    loan = make_loan(funders=[(a, D(30)), (b, D(70))])
    close_through(DUE1 + datetime.timedelta(days=5))
    loan.refresh_from_db()
    request = WriteOffRequest.objects.create(loan=loan, proposed_on=business_date(), days_past_due=6)
    approver = _staff("approver", loan, "credit_approver")
    write_off_approve(request=request, actor=approver)
    entries = {e.reference: sorted((line.account.number, line.debit, line.credit) for line in e.lines.all())
               for e in JournalEntry.objects.filter(kind="write_off")}
    assert sorted(entries) == [f"{loan.number}/write-off/bank-a", f"{loan.number}/write-off/bank-b"]
    a_lines = entries[f"{loan.number}/write-off/bank-a"]
    b_lines = entries[f"{loan.number}/write-off/bank-b"]
    assert a_lines[0] == ("bank-a-1301", D("0"), D("6000.00")) and b_lines[0] == ("bank-b-1301", D("0"), D("14000.00"))
    assert sum(line[1] for line in a_lines + b_lines) == D("20140.25")
    assert all(part.principal_outstanding == 0 and part.interest_receivable == 0 and part.penalty_receivable == 0
               for part in LoanPart.objects.filter(loan=loan))
    assert reconcile() == [] and ledger_check() == []
