"""Booking a loan (贷款) when its disbursement is confirmed: the loan, one part per funder, the
schedule from the repayment engine and the journal entries — in the caller's transaction.

``loan_book`` does not touch the credit line or the funder quotas: the drawdown flow posts those
(``line_draw``, ``funding_post``) in the same transaction."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from django.contrib.contenttypes.models import ContentType

from creditfactory.core.models import StateTransition
from creditfactory.core.money import ZERO
from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from products.validation import annual_rate_fraction
from servicing import fastpath
from servicing.calculator import CalculatorError, schedule_calculate
from servicing.models import AccountKind, EntryKind, Installment, Loan, LoanPart, LoanStatus
from servicing.services.calendar import business_date
from servicing.services.ledger import Posting, funder_chart, ledger_post, split_by_share

__all__ = ["LoanBookingError", "loan_book", "loan_number", "penalty_rate_percent"]

HUNDRED = Decimal(100)


class LoanBookingError(Exception):
    """The drawdown cannot be booked (no funding parts, parts not adding up, bad terms)."""


def loan_number(loan: Loan) -> str:
    """LN + value date + the zero-padded id, like an application's number: unique, sortable."""
    return f"LN{loan.value_date:%Y%m%d}{loan.pk:08d}"


def penalty_rate_percent(*, line, version) -> Decimal:
    """The penalty (罚息) rate as an annual percentage: the line's rate made annual (a daily rate ×
    360 or 365 by the version's day count) × the version's penalty multiplier, to six decimals."""
    annual = annual_rate_fraction(rate_percent=line.rate_percent, rate_basis=line.rate_basis,
                                  day_count=version.day_count) * HUNDRED
    return (annual * version.penalty_rate_multiplier).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _schedule(drawdown, *, value_date):
    line, version = drawdown.credit_line, drawdown.product_version
    try:
        return schedule_calculate(
            principal=drawdown.amount, rate_percent=line.rate_percent, rate_basis=line.rate_basis,
            term=drawdown.term, term_unit=drawdown.term_unit, method=drawdown.repayment_method, start_date=value_date,
            upfront_fee_percent=version.upfront_fee_percent, interest_every_months=version.interest_every_months,
            day_count=version.day_count,
        )
    except CalculatorError as exc:
        raise LoanBookingError(_("The loan's schedule cannot be computed: %(errors)s")
                               % {"errors": "; ".join(m for messages in exc.errors.values() for m in messages)}) from exc


def _parts(drawdown, *, funding=None) -> list:
    if funding is None:
        funding = list(drawdown.funding.select_related("funder"))
    funding = sorted(funding, key=lambda part: (not part.lead, part.funder.code))  # lead first, then by code
    if not funding:
        raise LoanBookingError(_("Drawdown %(number)s has no funding to book.") % {"number": drawdown.number})
    total = sum(part.principal for part in funding)
    if total != drawdown.amount:
        raise LoanBookingError(_("The funding parts of drawdown %(number)s add up to %(total)s, not %(amount)s.")
                               % {"number": drawdown.number, "total": total, "amount": drawdown.amount})
    return funding


def _post_disbursement(loan: Loan, parts: list[LoanPart], *, actor) -> None:
    """Per funder: Dr principal receivable / Cr settlement for its part of the principal; the
    upfront fee (withheld from what is paid out) its own entry, Dr settlement / Cr fee income,
    split by the same shares. The references name the loan booked in this transaction, so none
    exists yet (``ledger_post(new_reference=True)``: no savepoint per entry)."""
    fees = split_by_share(amount=loan.upfront_fee, shares=[(part.funder_id, part.share_percent) for part in parts])
    for part in parts:
        chart = funder_chart(funder=part.funder)
        ledger_post(kind=EntryKind.DISBURSEMENT, reference=f"{loan.number}/disbursement/{part.funder.code}",
                    business_date=loan.value_date, loan=loan, actor=actor, new_reference=True,
                    memo=_("Disbursement of loan %(number)s") % {"number": loan.number},
                    postings=[Posting(chart[AccountKind.PRINCIPAL_RECEIVABLE], debit=part.principal),
                              Posting(chart[AccountKind.SETTLEMENT], credit=part.principal)])
        if fees[part.funder_id] > ZERO:
            ledger_post(kind=EntryKind.UPFRONT_FEE, reference=f"{loan.number}/upfront-fee/{part.funder.code}",
                        business_date=loan.value_date, loan=loan, actor=actor, new_reference=True,
                        memo=_("Upfront fee of loan %(number)s") % {"number": loan.number},
                        postings=[Posting(chart[AccountKind.SETTLEMENT], debit=fees[part.funder_id]),
                                  Posting(chart[AccountKind.FEE_INCOME], credit=fees[part.funder_id])])


def loan_book(*, drawdown, actor=None, drawdown_locked: bool = False, funding=None) -> Loan:
    """Book the loan of a drawdown whose disbursement is confirmed; idempotent (one loan per
    drawdown: a second call, or a concurrent one, returns the loan already booked).

    Checked before anything is written (the schedule, the funding parts), so a refusal writes
    nothing. ``drawdown_locked=True``: the caller holds the drawdown's row lock
    (``servicing.locks.drawdown_lock``, as the flow's booking round does) and has seen it not
    booked yet (not ``disbursed``: a booking disburses it in the same transaction), so no loan
    exists, no concurrent booking can race this one and the loan is inserted without a
    savepoint; otherwise an existing loan is returned, and a concurrent booking of the same
    drawdown is caught in a savepoint and its loan returned. ``funding``: the drawdown's funding
    parts with their funders, when the caller has just read them (``funding_post`` returns them).

    Value date = the drawdown's value date, else the business date; schedule from the repayment
    engine at the line's rate; one ``LoanPart`` per funding part; journal entries per funder."""
    if not drawdown_locked:
        existing = Loan.objects.filter(drawdown=drawdown).first()
        if existing is not None:
            return existing
    value_date = drawdown.value_date or business_date()
    funding = _parts(drawdown, funding=funding)
    quote = _schedule(drawdown, value_date=value_date)
    # Everything checked: the writes, in the caller's transaction (one if there is none).
    with transaction.atomic(savepoint=False):
        return _book(drawdown, funding=funding, quote=quote, value_date=value_date,
                     user=actor if getattr(actor, "pk", None) else None, drawdown_locked=drawdown_locked)


def _book(drawdown, *, funding, quote, value_date, user, drawdown_locked: bool) -> Loan:
    schedule = quote.schedule
    reason = stored_text(gettext_noop("Booked from drawdown %(number)s."), number=drawdown.number)
    if drawdown_locked and fastpath.fused():
        return _book_fused(drawdown, funding=funding, quote=quote, value_date=value_date, user=user, reason=reason)
    try:
        # savepoint: a concurrent booking of the same drawdown wins (none can under the row lock)
        with transaction.atomic(savepoint=not drawdown_locked):
            loan = Loan.objects.create(
                number=f"TMP{uuid.uuid4().hex[:20]}", **_loan_values(drawdown, quote=quote, value_date=value_date))
    except IntegrityError:
        if drawdown_locked:
            raise
        existing = Loan.objects.filter(drawdown=drawdown).first()
        if existing is None:
            raise
        return existing
    loan.number = loan_number(loan)
    loan.save(update_fields=["number"])
    parts = LoanPart.objects.bulk_create(_loan_parts(loan, funding))
    Installment.objects.bulk_create(_installments(loan, schedule, value_date=value_date))
    _post_disbursement(loan, parts, actor=user)
    record_transition(loan, from_state="", to_state=LoanStatus.ACTIVE, actor=user,
                      actor_label="" if user else "system", reason=reason)
    return loan


def _book_fused(drawdown, *, funding, quote, value_date, user, reason: str) -> Loan:
    """PostgreSQL, under the drawdown's row lock (no loan exists, none can race): the loan with
    its number, parts, schedule and log entry in one statement (``servicing.fastpath
    .loan_booked_insert``), then the journal entries."""
    loan = Loan(number="", **_loan_values(drawdown, quote=quote, value_date=value_date))
    parts = _loan_parts(loan, funding)
    log = StateTransition(content_type=ContentType.objects.get_for_model(Loan, for_concrete_model=True),
                          field="status", from_state="", to_state=LoanStatus.ACTIVE, actor=user,
                          actor_label="" if user else "system", reason=reason)
    fastpath.loan_booked_insert(loan, number_prefix=f"LN{value_date:%Y%m%d}", parts=parts,
                                installments=_installments(loan, quote.schedule, value_date=value_date), log=log)
    _post_disbursement(loan, parts, actor=user)
    return loan


def _loan_values(drawdown, *, quote, value_date) -> dict:
    schedule, line = quote.schedule, drawdown.credit_line
    return dict(drawdown=drawdown, credit_line=line,
                applicant_id=drawdown.applicant_id, product_version=drawdown.product_version,
                branch_id=drawdown.branch_id, partner_id=drawdown.partner_id, status=LoanStatus.ACTIVE,
                principal=drawdown.amount, value_date=value_date, maturity_date=schedule.maturity_date,
                rate_percent=line.rate_percent, rate_basis=line.rate_basis, day_count=schedule.terms.day_count,
                repayment_method=drawdown.repayment_method, term=drawdown.term, term_unit=drawdown.term_unit,
                upfront_fee=schedule.upfront_fee, apr_percent=quote.apr.nominal_percent,
                penalty_rate_percent=penalty_rate_percent(line=line, version=drawdown.product_version),
                principal_outstanding=drawdown.amount, next_due_date=schedule.installments[0].due_date)


def _loan_parts(loan: Loan, funding) -> list[LoanPart]:
    return [LoanPart(loan=loan, funder=part.funder, share_percent=part.share_percent, rate_percent=part.rate_percent,
                     lead=part.lead, principal=part.principal, principal_outstanding=part.principal)
            for part in funding]


def _installments(loan: Loan, schedule, *, value_date) -> list[Installment]:
    starts = [value_date, *(row.due_date for row in schedule.installments[:-1])]
    return [Installment(loan=loan, number=row.number, period_start=start, due_date=row.due_date,
                        principal=row.principal, interest=row.interest, fee=row.fee, payment=row.payment,
                        remaining_principal=row.remaining_principal)
            for start, row in zip(starts, schedule.installments, strict=True)]
