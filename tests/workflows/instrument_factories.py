"""A constructed portfolio for the data dashboard and the cockpit (tests/workflows/test_instruments.py,
test_cockpit.py and the cockpit's browser test): applications of two products over three channels,
five loans of two products and two funders (one co-lent 70/30), their days past due set by hand,
and the nightly aggregates of 2026-11-30 and 2026-12-04. Every figure the tests assert is worked
out in the docstrings of those tests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from itertools import count
from decimal import Decimal
from zoneinfo import ZoneInfo

from creditfactory.organisations.roles import role_group
from creditfactory.organisations.models import Branch
from products.models import LoanProduct
from servicing.models import Funder, FunderQuotaDay, Loan, LoanPart
from servicing.services.calendar import business_date_set
from servicing.services.loans import loan_book
from servicing.services.portfolio import portfolio_snapshot
from tests.factories import make_branch, make_product, make_staff
from tests.servicing.factories import make_drawdown, make_funder, make_line
from workflows.models import CreditApplication

from .factories import make_application

D = Decimal
DAY = datetime.date(2026, 12, 4)
SHANGHAI = ZoneInfo("Asia/Shanghai")
_numbers = count(1)


def local(day: datetime.date, hour: int = 12, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=SHANGHAI)


@dataclass
class Portfolio:
    manager: object
    hq: object
    education: LoanProduct
    cash: LoanProduct
    own: Funder
    bank: Funder
    loans: dict


def _app(branch, product, channel, created, **fields):
    application = make_application(branch=branch, product_code=product.code, channel=channel,
                                   number=f"DASH{next(_numbers):06d}", **fields)
    CreditApplication.objects.filter(pk=application.pk).update(created_at=created)
    return application


def _loan(*, line, amount, value_date, outstanding, dpd=0, status="active", funders=None):
    loan = loan_book(drawdown=make_drawdown(line=line, amount=D(amount), value_date=value_date, funders=funders))
    Loan.objects.filter(pk=loan.pk).update(principal_outstanding=D(outstanding), days_past_due=dpd, status=status)
    for part in loan.parts.all():
        LoanPart.objects.filter(pk=part.pk).update(
            principal_outstanding=(D(outstanding) * part.share_percent / 100).quantize(D("0.01")))
    return loan


def build_portfolio() -> Portfolio:
    business_date_set(date=DAY, reason="test")
    hq = Branch.objects.filter(code="hq").first() or make_branch("hq", name="Head office")
    education = LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    cash = make_product("CASH", name="Cash loan")
    manager = make_staff("manager", hq)
    manager.groups.add(role_group("manager"))

    _app(hq, education, "back_office", local(DAY, 10), status="approved", amount=D("20000.00"),
         submitted_at=local(DAY, 10), approved_at=local(DAY, 10, 30), approval_mode="straight_through")
    _app(hq, education, "api", local(DAY, 10), status="approved", amount=D("150000.00"),
         submitted_at=local(DAY, 10), approved_at=local(DAY, 12), approval_mode="review")
    _app(hq, cash, "batch", local(DAY, 11), status="rejected", amount=D("200000.00"))
    _app(hq, cash, "back_office", local(datetime.date(2026, 12, 1)), status="in_review")
    _app(hq, education, "back_office", local(datetime.date(2026, 11, 20), 9), status="approved",
         submitted_at=local(datetime.date(2026, 11, 20), 9), approved_at=local(datetime.date(2026, 11, 20), 9, 10),
         approval_mode="straight_through")
    _app(make_branch("bj", name="Beijing"), education, "api", local(DAY, 10), status="approved",
         submitted_at=local(DAY, 10), approved_at=local(DAY, 10, 5), approval_mode="straight_through")

    own = make_funder("own", name="Own funds")
    bank = make_funder("bank", kind="co_lender", name="Partner bank", total_quota=D("100000.00"),
                       total_used=D("95000.00"), daily_quota=D("10000.00"))
    FunderQuotaDay.objects.create(funder=bank, business_date=DAY, used=D("9500.00"))

    first = make_line(product=education, sequence="101")
    second = make_line(product=education, sequence="102")
    third = make_line(product=cash, sequence="103")
    fourth = make_line(product=cash, sequence="104")
    # the lines' own applications were made long before the range
    CreditApplication.objects.filter(credit_line__isnull=False).update(created_at=local(datetime.date(2026, 1, 5)))
    loans = {
        "L1": _loan(line=first, amount="20000.00", value_date=datetime.date(2026, 10, 10), outstanding="15000.00"),
        "L2": _loan(line=second, amount="10000.00", value_date=datetime.date(2026, 11, 20), outstanding="10000.00",
                    dpd=35, status="overdue", funders=[(bank, D(70)), (own, D(30))]),
        "L3": _loan(line=first, amount="5000.00", value_date=datetime.date(2026, 12, 2), outstanding="5000.00"),
        "L4": _loan(line=third, amount="8000.00", value_date=datetime.date(2026, 11, 25), outstanding="8000.00",
                    dpd=95, status="overdue"),
        "L5": _loan(line=fourth, amount="3000.00", value_date=datetime.date(2026, 11, 16), outstanding="0.00",
                    status="closed"),
    }
    portfolio_snapshot(business_date=datetime.date(2026, 11, 30))
    portfolio_snapshot(business_date=DAY)
    return Portfolio(manager=manager, hq=hq, education=education, cash=cash, own=own, bank=bank, loans=loans)

