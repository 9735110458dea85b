"""Loans to repay, and — until the daily close (helper close16) is on main — ``close_like``: the
state the close of a business date leaves a loan in, per the binding semantics of
docs/servicing.md §1–3 (accrual landing on the due date, overdue and DPD, penalty with grace),
with the aggregated accrual entries, then the business date advanced. Tests that use it say so;
they switch to the real ``close_date`` when it lands."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal
from itertools import count

from creditfactory.core.money import ZERO, money_context, quantize_fen
from products.validation import annual_rate_fraction
from servicing.models import CreditLine, Installment, Loan, LoanPart
from servicing.services.calendar import business_date, business_date_set
from servicing.services.ledger import ledger_accrue_aggregate, split_by_share
from servicing.services.loans import loan_book
from tests.servicing.factories import make_drawdown, make_funder, make_line

D = Decimal
_chunks = count(1)
_sequences = count(200)


def make_loan(*, product=None, amount=D("20000.00"), term=12, method="equal_installment", rate_percent=D("7"),
              funders=None, partner=None, value_date=None, **line_fields) -> Loan:
    """A booked loan on a line that has drawn it (``used`` = the principal, as the drawdown flow
    leaves it)."""
    line = make_line(product=product, rate_percent=rate_percent, partner=partner, sequence=f"{next(_sequences)}",
                     limit=max(D("50000.00"), amount), **line_fields)
    drawdown = make_drawdown(line=line, amount=amount, term=term, repayment_method=method, funders=funders,
                             value_date=value_date)
    loan = loan_book(drawdown=drawdown)
    CreditLine.objects.filter(pk=line.pk).update(used=amount)
    return loan


def _split_into(parts, amount, totals, field):
    shares = split_by_share(amount=amount, shares=[(p.pk, p.share_percent) for p in parts])
    for part in parts:
        if shares[part.pk]:
            LoanPart.objects.filter(pk=part.pk).update(**{field: getattr(part, field) + shares[part.pk]})
            setattr(part, field, getattr(part, field) + shares[part.pk])
            totals[(part.funder, part.loan.product_version.product)] += shares[part.pk]


def _unpaid(i: Installment) -> bool:
    return (i.principal_paid < i.principal or i.interest_paid < i.interest or i.fee_paid < i.fee
            or i.penalty_paid < i.penalty_accrued)


def close_like(day: datetime.date, *, loans=None) -> None:
    """The close of ``day`` for ``loans`` (default: all open), as servicing16 §1–3 define it, then
    the business date → day + 1 and installments due then → "due"."""
    assert business_date() == day, (business_date(), day)
    loans = loans or list(Loan.objects.filter(status__in=["active", "overdue"]))
    interest_totals, penalty_totals = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for loan in loans:
        loan.refresh_from_db()
        if loan.status not in ("active", "overdue") or loan.value_date > day:
            continue
        parts = list(loan.parts.select_related("funder", "loan__product_version__product").order_by("-lead", "id"))
        installments = list(loan.installments.order_by("number"))
        days_in_year = 365 if loan.day_count == "ACT/365" else 360
        interest_added = ZERO
        if loan.repayment_method == "revolving":
            i = installments[0]
            if loan.principal_outstanding > 0:
                annual = annual_rate_fraction(rate_percent=loan.rate_percent, rate_basis=loan.rate_basis,
                                              day_count=loan.day_count)
                with money_context():
                    add = quantize_fen(loan.principal_outstanding * annual / days_in_year)
                i.interest_accrued += add
                interest_added += add
                i.save(update_fields=["interest_accrued"])
        else:
            for i in installments:
                if i.period_start <= day < i.due_date:
                    with money_context():
                        target = quantize_fen(i.interest * (day - i.period_start).days.__add__(1)
                                              / (i.due_date - i.period_start).days)
                    interest_added += target - i.interest_accrued
                    i.interest_accrued = target
                    i.save(update_fields=["interest_accrued"])
        penalty_added = ZERO
        version = loan.product_version
        late = [i for i in installments if i.due_date <= day and _unpaid(i)]
        for i in late:
            with money_context():
                one = quantize_fen((i.principal - i.principal_paid) * loan.penalty_rate_percent / 100 / days_in_year)
                if version.penalty_compound:
                    one += quantize_fen((i.interest - i.interest_paid) * loan.penalty_rate_percent / 100
                                        / days_in_year)
            overdue_days = (day - i.due_date).days
            days = 0 if overdue_days < version.grace_days else (
                version.grace_days + 1 if overdue_days == version.grace_days else 1)
            if days:
                i.penalty_accrued += one * days
                penalty_added += one * days
            i.status = "overdue"
            i.save(update_fields=["penalty_accrued", "status"])
        if interest_added:
            _split_into(parts, interest_added, interest_totals, "interest_receivable")
        if penalty_added:
            _split_into(parts, penalty_added, penalty_totals, "penalty_receivable")
        fields = dict(interest_receivable=loan.interest_receivable + interest_added,
                      penalty_receivable=loan.penalty_receivable + penalty_added, accrued_through=day,
                      penalty_through=day)
        if late:
            fields.update(status="overdue", days_past_due=(day + datetime.timedelta(days=1)
                                                           - min(i.due_date for i in late)).days)
        Loan.objects.filter(pk=loan.pk).update(**fields)
    chunk = f"t{next(_chunks)}"
    ledger_accrue_aggregate(business_date=day, kind="accrual", totals=dict(interest_totals), chunk=chunk)
    ledger_accrue_aggregate(business_date=day, kind="penalty", totals=dict(penalty_totals), chunk=chunk)
    nxt = day + datetime.timedelta(days=1)
    business_date_set(date=nxt, reason="test close")
    Installment.objects.filter(due_date=nxt, status="pending").update(status="due")


def close_through(until: datetime.date, *, loans=None) -> None:
    """``close_like`` each date from the business date up to and including ``until``."""
    while business_date() <= until:
        close_like(business_date(), loans=loans)


def make_funders():
    return make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
