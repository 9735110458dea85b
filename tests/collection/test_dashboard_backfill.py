"""``python manage.py dashboard_backfill`` (README, upgrade notes): on a database upgraded from
before the dashboard's nightly aggregates, the disbursement and recovery figures of the dates
already closed are written once — the very rows the close writes night by night — and running it
again changes nothing."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from collection.models import RecoveryDay
from servicing.models import DisbursementDate, DisbursementDay
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_day
from servicing.services.repayments.posting import repayment_post
from tests.collection.factories import make_strategy
from tests.servicing.repayment_factories import make_funders, make_loan

pytestmark = pytest.mark.django_db

D = Decimal
DAY = datetime.date(2026, 12, 4)
DUE = datetime.date(2027, 1, 4)  # the first due date of a 12-month loan booked on DAY


def days(n):
    return datetime.timedelta(days=n)


def _rows():
    disbursed = sorted(DisbursementDay.objects.values_list(
        "business_date", "product_id", "branch_id", "partner_id", "funder_id", "loans", "parts", "amount",
        "repeat_loans", "repeat_parts"))
    recovered = sorted(RecoveryDay.objects.values_list(
        "business_date", "bucket", "product_id", "branch_id", "partner_id", "funder_id", "entered", "entered_owed",
        "recovered"))
    marked = sorted(DisbursementDate.objects.values_list("business_date", flat=True))
    return disbursed, recovered, marked


def _backfill(*args):
    out = StringIO()
    call_command("dashboard_backfill", *args, stdout=out)
    return out.getvalue().strip()


def test_the_backfill_writes_the_rows_the_close_wrote():
    business_date_set(date=DAY, reason="test")
    make_strategy()
    late = make_loan()
    close_day(until=DAY + days(1))
    co_lent = make_loan(funders=[(bank, D(share)) for bank, share in zip(make_funders(), ("30", "70"))])
    assert co_lent.value_date == DAY + days(2)
    close_day(until=DUE + days(1))  # late: a case in M1 from DUE + 1
    repayment_post(loan=late, amount=D("500.00"), reference="partial")  # recovered in M1 on DUE + 2
    close_day(until=DUE + days(3))
    assert business_date() == DUE + days(4)
    closed = _rows()
    disbursed, recovered, marked = closed
    assert [(row[0], row[5], row[6], row[7]) for row in disbursed] == [
        (DAY, 1, 1, D("20000.00")), (DAY + days(2), 0, 1, D("6000.00")), (DAY + days(2), 1, 1, D("14000.00"))]
    assert [(row[0], row[1], row[6], row[7], row[8]) for row in recovered] == [
        (DUE + days(1), "M1", 1, D("20120.13"), D("0.00")), (DUE + days(2), "M1", 0, D("0.00"), D("500.00")),
        # the co-lent loan, due two days later: split 30/70 between its funders, counted on the lead's row
        (DUE + days(3), "M1", 0, D("6036.04"), D("0.00")), (DUE + days(3), "M1", 1, D("14084.09"), D("0.00"))]
    assert marked == [DAY + days(n) for n in range((DUE + days(3) - DAY).days + 1)]

    # an upgraded database: none of these were written before the upgrade
    DisbursementDay.objects.all().delete()
    DisbursementDate.objects.all().delete()
    RecoveryDay.objects.all().delete()
    assert _backfill() == "disbursement_dates=35 disbursement_days=3 recovery_dates=3 recovery_days=4"
    assert _rows() == closed

    # idempotent: nothing missing, the recovery dates rewritten with the same rows
    assert _backfill() == "disbursement_dates=0 disbursement_days=0 recovery_dates=3 recovery_days=4"
    assert _rows() == closed

    # one value date missing: only that date is written
    DisbursementDay.objects.filter(business_date=DAY + days(2)).delete()
    DisbursementDate.objects.filter(business_date=DAY + days(2)).delete()
    assert _backfill("--first", (DUE + days(3)).isoformat()).endswith("recovery_dates=1 recovery_days=2")
    assert _backfill() == "disbursement_dates=1 disbursement_days=2 recovery_dates=3 recovery_days=4"
    assert _rows() == closed


def test_the_backfill_refuses_a_range_backwards():
    with pytest.raises(Exception, match="--first is after --last"):
        _backfill("--first", "2027-01-05", "--last", "2027-01-04")
    assert not DisbursementDate.objects.exists()
