"""What a loan owes on a business date, and the quotes of early repayment (docs/servicing.md §4–5).

``loan_quote(loan=, kind=, principal=None)`` answers for the current business date: ``payable``
(every unpaid part of the installments due on or before it, and their penalty — ``penalty`` and
``fee`` are the parts of it that are penalty and fee), ``principal`` (not yet due: all of it for a
payoff, the chosen P for a prepayment), ``interest`` (the interest to date on that principal),
``prepayment_fee`` and ``total``. The repayment service posts with the same figures, from the
installments it has locked (``quote_compute``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from creditfactory.core.money import HUNDRED, ZERO, money_context, quantize_fen
from products.engine import DayCount
from products.validation import annual_rate_fraction
from servicing.models import Installment, Loan, LoanStatus, RepaymentKind

from .allocation import Owed

__all__ = ["Quote", "RepaymentRefused", "interest_to_date", "is_revolving", "loan_quote", "owed_payable",
           "quote_compute"]


class RepaymentRefused(Exception):
    """A repayment or quote that cannot be made: ``field`` names the input at fault, ``figures``
    the amounts the caller should have sent; ``status`` 422 (the request) or 409 (the loan's
    state)."""

    def __init__(self, message: str, *, field: str = "non_field_errors", status: int = 422, code: str = "refused",
                 figures: dict | None = None):
        super().__init__(message)
        self.message, self.field, self.status, self.code, self.figures = message, field, status, code, figures or {}


@dataclass(frozen=True)
class Quote:
    date: datetime.date
    kind: str
    payable: Decimal
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    fee: Decimal
    prepayment_fee: Decimal
    total: Decimal
    # Details the posting needs.
    owed: list = field(default_factory=list, repr=False)
    not_due: Decimal = ZERO
    period_start: datetime.date | None = None
    days: int = 0

    def as_dict(self) -> dict:
        return {"date": self.date, "payable": self.payable, "principal": self.principal, "interest": self.interest,
                "penalty": self.penalty, "fee": self.fee, "prepayment_fee": self.prepayment_fee, "total": self.total}


def is_revolving(loan: Loan) -> bool:
    return loan.repayment_method == "revolving"


def _unpaid(i: Installment, *, revolving: bool) -> Owed:
    interest = (i.interest_accrued if revolving else i.interest) - i.interest_paid
    return Owed(key=i.number, penalty=max(i.penalty_accrued - i.penalty_paid, ZERO),
                fee=max(i.fee - i.fee_paid, ZERO), interest=max(interest, ZERO),
                principal=max(i.principal - i.principal_paid, ZERO))


def owed_payable(loan: Loan, *, installments: list[Installment], on: datetime.date) -> list[Owed]:
    """What is payable on ``on``, oldest first: installments due on or before it (a revolving
    loan's single installment any day — its accrued interest and all of its principal)."""
    revolving = is_revolving(loan)
    rows = [_unpaid(i, revolving=revolving) for i in installments if revolving or i.due_date <= on]
    return [row for row in rows if row.total > 0]


def interest_to_date(*, loan: Loan, principal: Decimal, days: int) -> Decimal:
    """principal × contract annual rate ÷ 360 (365) × days, rounded once (half up)."""
    if days <= 0 or principal <= 0:
        return ZERO
    annual = annual_rate_fraction(rate_percent=loan.rate_percent, rate_basis=loan.rate_basis, day_count=loan.day_count)
    with money_context():
        return quantize_fen(principal * annual * days / DayCount(loan.day_count).days_in_year)


def prepayment_fee(*, loan: Loan, principal: Decimal) -> Decimal:
    if is_revolving(loan):
        return ZERO
    with money_context():
        return quantize_fen(principal * (loan.product_version.prepayment_fee_percent or ZERO) / HUNDRED)


def quote_compute(*, loan: Loan, installments: list[Installment], on: datetime.date, kind: str,
                  principal: Decimal | None = None) -> Quote:
    """The quote for ``kind`` on ``on`` from these installments (see the module docstring)."""
    if loan.status in (LoanStatus.CLOSED, LoanStatus.WRITTEN_OFF):
        raise RepaymentRefused(_("Loan %(number)s is %(status)s: it takes no repayment.")
                               % {"number": loan.number, "status": loan.get_status_display()}, status=409,
                               code="loan_closed")
    if kind not in RepaymentKind.values:
        raise RepaymentRefused(_("Unknown kind of repayment."), field="kind")
    owed = owed_payable(loan, installments=installments, on=on)
    payable = sum((row.total for row in owed), ZERO)
    penalty = sum((row.penalty for row in owed), ZERO)
    fee = sum((row.fee for row in owed), ZERO)
    revolving = is_revolving(loan)
    not_due = ZERO if revolving else sum(
        (i.principal - i.principal_paid for i in installments if i.due_date > on), ZERO)
    starts = [i.due_date for i in installments if i.due_date <= on]
    period_start = max(starts) if starts else loan.value_date
    days = (on - period_start).days
    base = dict(date=on, kind=kind, payable=payable, penalty=penalty, fee=fee, owed=owed, not_due=not_due,
                period_start=period_start, days=days)
    if kind == RepaymentKind.REGULAR:
        return Quote(**base, principal=ZERO, interest=ZERO, prepayment_fee=ZERO, total=payable)
    if kind == RepaymentKind.PREPAYMENT and revolving:
        raise RepaymentRefused(_("A revolving loan is repaid any day with a regular repayment (interest first, then "
                                 "principal), or paid off."), field="kind")
    if not_due > 0 and not loan.product_version.prepayment_allowed:
        raise RepaymentRefused(_("The product does not allow early repayment."), field="kind")
    if kind == RepaymentKind.PAYOFF:
        interest = interest_to_date(loan=loan, principal=not_due, days=days)
        fee_amount = prepayment_fee(loan=loan, principal=not_due)
        return Quote(**base, principal=not_due, interest=interest, prepayment_fee=fee_amount,
                     total=payable + not_due + interest + fee_amount)
    if principal is None or principal <= 0:
        raise RepaymentRefused(_("Name the principal to prepay."), field="principal")
    if quantize_fen(principal) != principal:
        raise RepaymentRefused(_("The principal is an amount in fen (two decimal places)."), field="principal")
    if principal >= not_due:
        raise RepaymentRefused(_("At most %(max)s of principal can be prepaid; to repay all of it, pay the loan off.")
                               % {"max": f"{max(not_due - Decimal('0.01'), ZERO):.2f}"}, field="principal",
                               figures={"not_due": not_due})
    interest = interest_to_date(loan=loan, principal=principal, days=days)
    fee_amount = prepayment_fee(loan=loan, principal=principal)
    return Quote(**base, principal=principal, interest=interest, prepayment_fee=fee_amount,
                 total=payable + principal + interest + fee_amount)


def loan_quote(*, loan: Loan, kind: str, principal: Decimal | None = None, on: datetime.date | None = None) -> Quote:
    """The quote of ``kind`` (regular / payoff / prepayment with ``principal``) for the current
    business date. Reads only (no lock): the figures a repayment posted now would use."""
    from servicing.services.calendar import business_date

    installments = list(loan.installments.order_by("number"))
    return quote_compute(loan=loan, installments=installments, on=on or business_date(), kind=kind,
                         principal=principal)
