"""The start of day's write-off proposals (核销) through the real close: a loan past its
version's write-off DPD is proposed; once a person rejects the proposal the loan is not proposed
again until the version's ``write_off_repropose_days`` business days after the rejection (empty:
never), the rejection and its reason staying on the loan; re-runs of the close propose nothing twice."""

import datetime
from decimal import Decimal

import pytest

from creditfactory.core.state import transitions_for
from creditfactory.organisations.roles import role_group
from servicing.models import WriteOffRequest
from servicing.services.calendar import business_date, business_date_set
from servicing.services.close import close_date, close_day
from servicing.services.close.write_off import write_off_reject
from servicing.services.ledger import reconcile
from tests.factories import make_product, make_staff
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

D = Decimal
VALUE = datetime.date(2026, 12, 4)
DUE1 = datetime.date(2027, 1, 4)
PROPOSED = datetime.date(2027, 1, 7)  # the start of day at 3 days past the first due date


def days(n):
    return datetime.timedelta(days=n)


@pytest.fixture
def loan():
    business_date_set(date=VALUE, reason="test")
    product = make_product("WRITEOFF", write_off_dpd=3, write_off_repropose_days=5)
    return make_loan(product=product)


@pytest.fixture
def approver(loan):
    user = make_staff("approver", loan.branch)
    user.groups.add(role_group("credit_approver"))
    return user


def _requests(loan):
    return list(WriteOffRequest.objects.filter(loan=loan).order_by("id")
                .values_list("proposed_on", "days_past_due", "status", "decided_on"))


def test_a_product_proposes_again_30_days_after_a_rejection_by_default():
    product = make_product("PLAIN")
    assert (product.write_off_repropose_days, product.current_version.write_off_repropose_days) == (30, 30)


def test_a_rejected_write_off_is_proposed_again_after_the_configured_days(loan, approver):
    close_day(until=PROPOSED - days(1))  # the start of PROPOSED ran with the close of the day before
    assert business_date() == PROPOSED
    assert _requests(loan) == [(PROPOSED, 3, "pending", None)]
    first = WriteOffRequest.objects.get(loan=loan)
    write_off_reject(request=first, actor=approver, reason="Borrower negotiating a settlement")

    close_day(until=PROPOSED)  # the next day: not proposed again
    assert business_date() == PROPOSED + days(1)
    assert _requests(loan) == [(PROPOSED, 3, "rejected", PROPOSED)]
    close_day(until=PROPOSED + days(3))  # 4 days after the rejection: still not
    assert business_date() == PROPOSED + days(4) and len(_requests(loan)) == 1

    close_day(until=PROPOSED + days(4))  # 5 days after it: proposed again, 8 days past due
    assert business_date() == PROPOSED + days(5)
    assert _requests(loan) == [(PROPOSED, 3, "rejected", PROPOSED), (PROPOSED + days(5), 8, "pending", None)]
    rejected = WriteOffRequest.objects.get(loan=loan, status="rejected")
    assert rejected.note == "Borrower negotiating a settlement"
    assert [t.to_state for t in transitions_for(rejected)] == ["rejected"]
    assert reconcile() == []

    # a re-run of the date that proposed it proposes nothing more (one pending per loan)
    close_date(business_date=PROPOSED + days(4))
    assert len(_requests(loan)) == 2

    # rejected again today: a re-run of the closed date does not bring it back either
    write_off_reject(request=WriteOffRequest.objects.get(loan=loan, status="pending"), actor=approver,
                     reason="Guarantor paying in January")
    close_date(business_date=PROPOSED + days(4))
    close_day(until=PROPOSED + days(8))
    assert _requests(loan) == [(PROPOSED, 3, "rejected", PROPOSED),
                               (PROPOSED + days(5), 8, "rejected", PROPOSED + days(5))]
    close_day(until=PROPOSED + days(9))
    assert _requests(loan)[2:] == [(PROPOSED + days(10), 13, "pending", None)]
    notes = list(WriteOffRequest.objects.filter(loan=loan, status="rejected").order_by("id")
                      .values_list("note", flat=True))
    assert notes == ["Borrower negotiating a settlement", "Guarantor paying in January"]


def test_no_repropose_days_means_a_rejection_is_final(loan, approver):
    version = loan.product_version
    type(version).objects.filter(pk=version.pk).update(write_off_repropose_days=None)
    close_day(until=PROPOSED - days(1))
    write_off_reject(request=WriteOffRequest.objects.get(loan=loan), actor=approver, reason="Court case pending")
    close_day(until=PROPOSED + days(40))
    assert _requests(loan) == [(PROPOSED, 3, "rejected", PROPOSED)]
