"""The collections phase of the daily close: cases open when a loan becomes overdue (once, across
re-runs), move through the buckets and strategy steps as DPD grows, close on repayment and on
write-off; classification follows the thresholds with its history."""

import datetime
from decimal import Decimal

import pytest

from collection.models import (
    AgencyAssignment, CaseStageChange, ClassificationChange, CollectionCase, LoanClass,
)
from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from servicing.models import Loan
from servicing.services.calendar import business_date_set
from servicing.services.close import close_date, close_day
from servicing.services.repayments.posting import repayment_post
from servicing.services.repayments.quotes import loan_quote
from tests.collection.factories import make_strategy
from tests.partners.factories import make_partner
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
DUE = datetime.date(2027, 1, 4)  # the first due date of a 12-month loan booked on DAY
D = Decimal


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def _snapshot():
    return (list(CollectionCase.objects.order_by("id").values_list("id", "loan_id", "status", "bucket", "step",
                                                                  "opened_on", "closed_on", "agency_id")),
            CaseStageChange.objects.count(), AgencyAssignment.objects.count(), ClassificationChange.objects.count())


def test_a_case_opens_the_day_after_the_due_date_is_missed_once_across_re_runs():
    strategy = make_strategy()
    loan, current = make_loan(), make_loan()
    close_day(until=DUE - datetime.timedelta(days=1))
    repayment_post(loan=current, amount=loan_quote(loan=current, kind="payoff").payable, reference="due")
    assert not CollectionCase.objects.exists()
    [result] = close_day()  # the close of the due date: loan 1 overdue, DPD 1
    case = CollectionCase.objects.get()
    assert (case.loan, case.status, case.bucket, case.step, case.opened_on, case.dpd_at_open,
            case.strategy_version) == (loan, "open", "M1", 0, DUE + datetime.timedelta(days=1), 1,
                                       strategy.current_version)
    assert result["handover"] == 2  # the case opened and the loan classified special mention
    assert [(t.from_state, t.to_state) for t in transitions_for(case)] == [("", "open")]
    before = _snapshot()
    again = close_date(business_date=DUE)  # re-run of the same date
    assert again["rows_written"] == 0
    assert _snapshot() == before
    assert LoanClass.objects.get(loan=loan).classification == "special_mention"
    assert not LoanClass.objects.filter(loan=current).exists()


def test_a_case_moves_through_the_steps_and_buckets_as_dpd_grows():
    make_strategy()
    loan = make_loan()
    close_day(until=DUE + datetime.timedelta(days=30))  # DPD 31 at the start of 02-04
    loan.refresh_from_db()
    case = CollectionCase.objects.get()
    assert (loan.days_past_due, case.bucket, case.step, case.agency.code, case.work_group.code) == (
        31, "M2", 2, "AGENCY1", "collectors")
    assert list(case.stage_changes.values_list("business_date", "from_bucket", "to_bucket", "from_step",
                                               "to_step", "dpd")) == [
        (datetime.date(2027, 1, 5), "", "M1", None, 0, 1),
        (datetime.date(2027, 1, 12), "M1", "M1", 0, 1, 8),
        (datetime.date(2027, 2, 4), "M1", "M2", 1, 2, 31)]
    assert list(case.agency_assignments.values_list("agency__code", "commission_percent", "start", "end")) == [
        ("AGENCY1", D("15"), datetime.date(2027, 2, 4), None)]
    assert [(t.field, t.from_state, t.to_state) for t in transitions_for(case).order_by("id")] == [
        ("status", "", "open"), ("bucket", "M1", "M2")]
    before = _snapshot()
    # (servicing counts the de-duplicated due-date reminder of installment 2 as written: not ours)
    assert close_date(business_date=DUE + datetime.timedelta(days=30))["handover"] == 0
    assert _snapshot() == before


def test_a_case_closes_when_the_loan_is_current_again_and_a_new_one_opens_later():
    make_strategy()
    loan = make_loan()
    close_day(until=DUE + datetime.timedelta(days=2))
    repayment_post(loan=loan, amount=loan_quote(loan=loan, kind="payoff").payable, reference="catch-up")
    close_day()
    case = CollectionCase.objects.get()
    assert (case.status, case.closed_on, case.close_reason) == ("closed", DUE + datetime.timedelta(days=4), "cured")
    assert LoanClass.objects.get(loan=loan).classification == "normal"
    assert list(ClassificationChange.objects.values_list("from_class", "to_class")) == [
        ("normal", "special_mention"), ("special_mention", "normal")]
    close_day(until=datetime.date(2027, 2, 4))  # the second installment is missed
    cases = list(CollectionCase.objects.order_by("id").values_list("status", "opened_on"))
    assert cases == [("closed", datetime.date(2027, 1, 5)), ("open", datetime.date(2027, 2, 5))]


def test_a_case_closes_when_the_loan_is_paid_off():
    make_strategy()
    loan = make_loan()
    make_loan()  # open, with a higher id: the close's chunks start there, below is the first chunk's
    close_day(until=DUE + datetime.timedelta(days=1))
    repayment_post(loan=loan, amount=loan_quote(loan=loan, kind="payoff").total, kind="payoff", reference="all")
    loan.refresh_from_db()
    assert loan.status == "closed"
    close_day()
    case = CollectionCase.objects.get(loan=loan)
    assert (case.status, case.close_reason, case.closed_on) == ("closed", "paid_off", DUE + datetime.timedelta(days=3))
    assert [(t.from_state, t.to_state) for t in transitions_for(case).order_by("id")] == [
        ("", "open"), ("open", "closed")]


def test_a_case_closes_when_the_loan_is_written_off_and_the_agency_period_ends():
    make_strategy()
    make_loan()
    loan = make_loan()
    close_day(until=DUE + datetime.timedelta(days=31))
    # No write-off service exists yet in servicing: the loan's status is set as approval would.
    Loan.objects.filter(pk=loan.pk).update(status="written_off")
    close_day()
    case = CollectionCase.objects.get(loan=loan)
    end = DUE + datetime.timedelta(days=33)
    assert (case.status, case.close_reason, case.closed_on) == ("closed", "written_off", end)
    assert list(case.agency_assignments.values_list("start", "end")) == [(datetime.date(2027, 2, 4), end)]


def test_a_partner_loan_s_stage_changes_are_sent_as_webhooks():
    make_strategy()
    partner = make_partner()
    loan = make_loan(partner=partner)
    close_day(until=DUE + datetime.timedelta(days=30))
    events = [(e.payload["status"], e.payload["from_bucket"], e.payload["to_bucket"], e.payload["dpd"])
              for e in WebhookEvent.objects.filter(partner=partner, event="collection.stage_changed").order_by("id")]
    assert events == [("open", None, "M1", 1), ("open", "M1", "M2", 31)]
    assert loan.collection_cases.count() == 1


def test_a_chunk_killed_mid_way_leaves_nothing_and_its_re_run_opens_the_case_once():
    make_strategy()
    loan = make_loan()
    close_day(until=DUE - datetime.timedelta(days=1))
    # The close of the due date, its start-of-day chunk dying after the hand-over wrote its rows:
    # the chunk's transaction is rolled back whole (as when a worker is killed before commit).
    from django.db import transaction

    from collection.services import collection_close_phase
    from servicing.services.close import close_day as close

    Loan.objects.filter(pk=loan.pk).update(status="overdue", days_past_due=1, closed_through=DUE)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert collection_close_phase(business_date=DUE + datetime.timedelta(days=1), lo=loan.pk, hi=loan.pk) == 2
        raise RuntimeError("worker killed")
    assert not CollectionCase.objects.exists()
    Loan.objects.filter(pk=loan.pk).update(status="active", days_past_due=0,
                                           closed_through=DUE - datetime.timedelta(days=1))
    close()
    close_date(business_date=DUE)
    assert list(CollectionCase.objects.values_list("loan_id", "status", "opened_on")) == [
        (loan.pk, "open", DUE + datetime.timedelta(days=1))]


def test_the_close_writes_the_dashboard_s_classification_and_recovery_figures():
    """The case enters M1 at the start of DUE + 1 with what the loan owed then; once that run is
    done the classification of DUE counts the loan special mention; the run of DUE + 1 writes its
    bucket entry. A re-run of an older date leaves its figures as they were."""
    from collection.models import ClassificationDay, RecoveryDay

    make_strategy()
    loan = make_loan()
    close_day(until=DUE)
    loan.refresh_from_db()
    owed = loan.principal_outstanding + loan.interest_receivable + loan.penalty_receivable + loan.fee_receivable
    change = CaseStageChange.objects.get()
    assert (change.business_date, change.to_bucket, change.owed) == (DUE + datetime.timedelta(days=1), "M1", owed)
    assert list(ClassificationDay.objects.filter(business_date=DUE).values_list(
        "classification", "loans", "outstanding")) == [("special_mention", 1, D("20000.00"))]
    assert list(ClassificationDay.objects.filter(business_date=DUE - datetime.timedelta(days=1)).values_list(
        "classification", "loans", "outstanding")) == [("normal", 1, D("20000.00"))]
    assert not RecoveryDay.objects.exists()
    close_day()
    assert list(RecoveryDay.objects.values_list("business_date", "bucket", "entered", "entered_owed",
                                                "recovered")) == [
        (DUE + datetime.timedelta(days=1), "M1", 1, owed, D("0.00"))]
    ClassificationDay.objects.filter(business_date=DUE).delete()
    close_date(business_date=DUE)
    assert not ClassificationDay.objects.filter(business_date=DUE).exists()
