"""Posting a repayment (还款): regular, full payoff (提前结清), partial prepayment (提前还款) — in one
transaction under the loan's row lock (docs/servicing.md §4–6).

``repayment_post(loan=, amount=, kind=, principal=None, reference=, actor=, source=)`` allocates
the amount (``allocation.allocate`` with the version's order and mode), writes the installments'
paid parts and statuses, the loan's and its parts' balances, one journal entry per funder, trues
up the current period's interest for an early repayment, recomputes the schedule after a partial
prepayment, closes a paid-off loan, gives repaid principal back to a revolving line and tells the
partner (``repayment.received``, ``loan.paid_off``). Idempotent by ``reference`` per loan."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import ZERO, MoneyError, money_context, quantize_fen, to_decimal
from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from creditfactory.partners.services.webhooks import webhook_emit
from servicing.fastpath import INSTALLMENTS, LOANS, REPAYMENTS
from servicing.locks import line_repay, loan_installments_lock, loan_lock
from servicing.models import (
    AccountKind, Installment, InstallmentStatus, Loan, LoanStatus, Repayment, RepaymentKind, RepaymentSource,
    RepaymentStatus,
)
from servicing.services.calendar import business_date

from .allocation import COMPONENTS, allocate
from .books import Books, entry_kind
from .quotes import Quote, RepaymentRefused, interest_to_date, is_revolving, quote_compute
from .schedule import schedule_recompute

__all__ = ["repayment_number", "repayment_post"]

_FIELDS = {"principal": "principal_paid", "interest": "interest_paid", "fee": "fee_paid", "penalty": "penalty_paid"}
_BALANCE = {"principal": "principal_outstanding", "interest": "interest_receivable", "fee": "fee_receivable",
            "penalty": "penalty_receivable"}
_ACCOUNT = {"principal": AccountKind.PRINCIPAL_RECEIVABLE, "interest": AccountKind.INTEREST_RECEIVABLE,
            "fee": AccountKind.FEE_RECEIVABLE, "penalty": AccountKind.PENALTY_RECEIVABLE}


def repayment_number(repayment: Repayment) -> str:
    return f"RP{(repayment.value_date or repayment.created_at.date()):%Y%m%d}{repayment.pk:08d}"


def _amount(value, *, field: str = "amount") -> Decimal:
    try:
        amount = to_decimal(value)
    except MoneyError:
        raise RepaymentRefused(_("Enter an amount, e.g. 1730.53."), field=field) from None
    if amount <= 0 or quantize_fen(amount) != amount:
        raise RepaymentRefused(_("The amount must be positive, in fen (two decimal places)."), field=field)
    return amount


def _settled(i: Installment) -> bool:
    return (i.principal_paid >= i.principal and i.interest_paid >= i.interest and i.fee_paid >= i.fee
            and i.penalty_paid >= i.penalty_accrued)


def _period_target(i: Installment, *, on: datetime.date) -> Decimal:
    """What the close has accrued of ``i``'s interest through ``on`` − 1 (the cumulative target)."""
    if i.period_start is None or on <= i.period_start:
        return ZERO
    length = (i.due_date - i.period_start).days
    if on >= i.due_date or length <= 0:
        return i.interest
    with money_context():
        return quantize_fen(i.interest * (on - i.period_start).days / length)


class _Work:
    """One repayment being worked out on locked rows."""

    def __init__(self, loan: Loan, installments: list[Installment], repayment: Repayment, on: datetime.date, actor):
        self.loan, self.installments, self.repayment, self.on, self.actor = loan, installments, repayment, on, actor
        self.books = Books(loan)
        self.paid = {c: ZERO for c in COMPONENTS}
        self.true_up = ZERO  # interest accrued now (payoff/prepayment/catch-up), split per part at the end
        self.by_number = {i.number: i for i in installments}
        self.changed: set[int] = set()

    # --- installments --------------------------------------------------------------------------
    def pay(self, allocation) -> None:
        for number, parts in allocation.paid.items():
            i = self.by_number[number]
            for component, value in parts.items():
                setattr(i, _FIELDS[component], getattr(i, _FIELDS[component]) + value)
                self.paid[component] += value
            self.changed.add(number)

    def catch_up_due_interest(self) -> None:
        """Due installments whose interest the close has not landed yet (it runs behind the
        business date only when a date was skipped): accrue the rest now, so what is paid is
        receivable."""
        if is_revolving(self.loan):
            return
        for i in self.installments:
            if i.due_date <= self.on and i.interest_accrued < i.interest:
                self.true_up += i.interest - i.interest_accrued
                i.interest_accrued = i.interest
                self.changed.add(i.number)

    # --- the books -----------------------------------------------------------------------------
    def finish(self, *, credit: Decimal, prepayment_fee: Decimal, debit_kind: str, reference_kind: str) -> None:
        books, rep = self.books, self.repayment
        reference = f"{self.loan.number}/{reference_kind}/{rep.pk}"
        memo = _("Repayment %(number)s of loan %(loan)s") % {"number": rep.number, "loan": self.loan.number}
        if self.true_up:
            shares = books.split(self.true_up)
            books.change("interest_receivable", shares)
            books.post(kind=entry_kind("accrual"), reference=f"{self.loan.number}/interest-true-up/{rep.pk}",
                       on=self.on, memo=memo, actor=self.actor,
                       debit={AccountKind.INTEREST_RECEIVABLE: shares}, credit={AccountKind.INTEREST_INCOME: shares})
        components = {c: books.split(self.paid[c], balance=_BALANCE[c], taking=True) for c in COMPONENTS
                      if self.paid[c]}
        total = sum(self.paid.values(), ZERO) + prepayment_fee + credit
        if not total:
            books.save()
            return
        extra = {}
        if prepayment_fee:
            extra[AccountKind.FEE_INCOME] = books.split(prepayment_fee)
        if credit:
            extra[AccountKind.SUSPENSE] = books.split(credit)
            books.change("credit_balance", extra[AccountKind.SUSPENSE])

        def per_part(key):
            return (sum((shares.get(key, ZERO) for shares in components.values()), ZERO)
                    + sum((shares.get(key, ZERO) for shares in extra.values()), ZERO))

        if debit_kind == AccountKind.SUSPENSE:
            # Paid out of the credit balance each part holds: its part of the debit is what it
            # holds (taken whole, or by share within its holding); the largest component absorbs
            # the fen the two splits differ by, per part, its loan total unchanged.
            debit_shares = books.split(total, balance="credit_balance", taking=True)
            largest = max(components, key=lambda c: self.paid[c])
            for part in books.parts:
                components[largest][part.pk] += debit_shares[part.pk] - per_part(part.pk)
            books.change("credit_balance", {k: -v for k, v in debit_shares.items()})
        else:
            debit_shares = {part.pk: per_part(part.pk) for part in books.parts}
        credits = {}
        for component, shares in components.items():
            books.change(_BALANCE[component], {k: -v for k, v in shares.items()})
            credits[_ACCOUNT[component]] = shares
        credits.update(extra)
        books.post(kind=entry_kind("repayment"), reference=reference, on=self.on, memo=memo, actor=self.actor,
                   debit={debit_kind: debit_shares}, credit=credits)
        books.save()

    # --- statuses ------------------------------------------------------------------------------
    closing = False

    def settle_statuses(self) -> None:
        """Installments due (or all, when the loan is being paid off) with nothing left unpaid
        become paid, settled today. A revolving loan's installment only when it is paid off: its
        interest becomes what was accrued."""
        revolving = is_revolving(self.loan)
        for i in self.installments:
            if i.status == InstallmentStatus.PAID:
                continue
            if revolving:
                if not self.closing:
                    continue
                i.interest = i.interest_accrued
                i.payment = i.principal + i.interest + i.fee
                self.changed.add(i.number)
            elif not (i.due_date <= self.on or self.closing):
                continue
            if _settled(i):
                i.status, i.settled_on = InstallmentStatus.PAID, self.on
                self.changed.add(i.number)

    def save_installments(self) -> None:
        rows = [i for i in self.installments if i.number in self.changed]
        if len(rows) == 1:
            # The usual repayment pays one installment: one UPDATE of its row built once (a fraction
            # of the CPU of bulk_update's CASE per column; the rows are locked, the values final).
            INSTALLMENTS.update(rows[0], fields=_INSTALLMENT_FIELDS)
        elif rows:
            Installment.objects.bulk_update(rows, _INSTALLMENT_FIELDS)


_POSTED_FIELDS = ("value_date", "number", "status", "principal", "interest", "fee", "penalty", "prepayment_fee",
                  "credit_balance", "updated_at")
_INSTALLMENT_FIELDS = ("principal", "interest", "fee", "payment", "remaining_principal", "interest_accrued",
                       "principal_paid", "interest_paid", "fee_paid", "penalty_paid", "status", "settled_on")


def _loan_after(work: _Work, *, actor) -> None:
    """The loan's status, DPD and next due date after the repayment; closing when all is paid."""
    loan, on = work.loan, work.on  # its balances as Books.save left them (the row is locked)
    unpaid = [i for i in work.installments if i.status != InstallmentStatus.PAID]
    fields = ["next_due_date", "updated_at"]
    loan.next_due_date = min((i.due_date for i in unpaid), default=None)
    before = loan.status
    reason = stored_text(gettext_noop("Repayment %(number)s."), number=work.repayment.number)
    if not unpaid:
        loan.status, loan.closed_on, loan.days_past_due = LoanStatus.CLOSED, on, 0
        fields += ["status", "closed_on", "days_past_due"]
    elif loan.status == LoanStatus.OVERDUE:
        late = [i.due_date for i in unpaid if i.due_date < on]
        if late:
            loan.days_past_due = (on - min(late)).days
        else:
            loan.status, loan.days_past_due = LoanStatus.ACTIVE, 0
            fields.append("status")
        fields.append("days_past_due")
    LOANS.update(loan, fields=fields)  # loan.save(update_fields=fields), built once (servicing.fastpath)
    if loan.status != before:
        record_transition(loan, from_state=before, to_state=loan.status, actor=actor, reason=reason)


def _post(work: _Work, quote: Quote, *, amount: Decimal, kind: str, debit_kind: str, reference_kind: str) -> None:
    loan, installments, on = work.loan, work.installments, work.on
    version = loan.product_version
    work.catch_up_due_interest()
    credit = ZERO
    prepayment_fee = ZERO
    if kind == RepaymentKind.REGULAR:
        allocation = allocate(amount=amount, owed=quote.owed, order=version.allocation_order,
                              mode=version.allocation_mode)
        work.pay(allocation)
        credit = allocation.rest
        # A revolving loan whose principal is repaid with all it owed is paid off.
        work.closing = is_revolving(loan) and amount >= quote.payable and all(
            i.principal_paid >= i.principal for i in installments)
    else:
        if amount < quote.total or (kind == RepaymentKind.PREPAYMENT and amount != quote.total):
            message = (_("A payoff today is %(total)s; the amount is below it.") if kind == RepaymentKind.PAYOFF
                       else _("This prepayment today is %(total)s; the amount must be exactly that."))
            raise RepaymentRefused(message % {"total": f"{quote.total:.2f}"}, field="amount",
                                   code="amount_mismatch", figures={"quote": quote.total})
        allocation = allocate(amount=quote.payable, owed=quote.owed, order=version.allocation_order,
                              mode=version.allocation_mode)
        work.pay(allocation)
        prepayment_fee = quote.prepayment_fee
        credit = amount - quote.total
        not_due = [] if is_revolving(loan) else [i for i in installments if i.due_date > on]
        if kind == RepaymentKind.PAYOFF:
            _payoff_schedule(work, quote, not_due)
        else:
            _prepay_schedule(work, quote, not_due)
    work.closing = work.closing or kind == RepaymentKind.PAYOFF
    work.settle_statuses()
    work.save_installments()
    work.finish(credit=credit, prepayment_fee=prepayment_fee, debit_kind=debit_kind, reference_kind=reference_kind)
    rep = work.repayment
    rep.principal, rep.interest, rep.fee, rep.penalty = (work.paid["principal"], work.paid["interest"],
                                                         work.paid["fee"], work.paid["penalty"])
    rep.prepayment_fee, rep.credit_balance = prepayment_fee, credit


def _payoff_schedule(work: _Work, quote: Quote, not_due: list[Installment]) -> None:
    """Every installment not yet due is paid: its principal; the current one's interest becomes the
    interest to date (trued up from what the close accrued), the later ones' interest and fee 0."""
    for index, i in enumerate(not_due):
        interest = quote.interest if index == 0 else ZERO
        if i.interest_accrued != interest:
            work.true_up += interest - i.interest_accrued
        i.interest, i.interest_accrued, i.fee = interest, interest, ZERO
        work.paid["principal"] += i.principal - i.principal_paid
        work.paid["interest"] += interest - i.interest_paid
        i.principal_paid, i.interest_paid = i.principal, interest
        i.payment = i.principal + i.interest + i.fee
        work.changed.add(i.number)


def _prepay_schedule(work: _Work, quote: Quote, not_due: list[Installment]) -> None:
    """Interest to date on P accrued and paid at once (no installment's); the installments not yet
    due recomputed on N − P by the engine; the current one's accrued interest set to what the close
    would have accrued through yesterday on its new interest."""
    loan, on = work.loan, work.on
    work.true_up += quote.interest
    work.paid["interest"] += quote.interest
    work.paid["principal"] += quote.principal
    rows = schedule_recompute(loan=loan, remaining=not_due, principal_left=quote.not_due - quote.principal,
                              start=quote.period_start, recompute=loan.product_version.prepayment_recompute)
    for i, row in zip(not_due, rows, strict=False):
        # Principal paid so far of a not-yet-due installment stays paid: P reduces what is left.
        i.principal, i.interest, i.payment, i.remaining_principal = (row.principal + i.principal_paid, row.interest,
                                                                     row.payment + i.principal_paid,
                                                                     row.remaining_principal)
        target = _period_target(i, on=on)
        if target != i.interest_accrued:
            work.true_up += target - i.interest_accrued
            i.interest_accrued = target
        work.changed.add(i.number)
    dropped = not_due[len(rows):]
    if dropped:
        Installment.objects.filter(pk__in=[i.pk for i in dropped]).delete()
        work.installments = [i for i in work.installments if i not in dropped]
        loan.maturity_date = rows[-1].due_date
        loan.save(update_fields=["maturity_date", "updated_at"])
    # The principal P is repaid on no installment's account: record it on the current one's
    # principal_paid would double count, so the schedule shrinks instead (principal − principal_paid
    # of the rows = N − P) and P is credited to principal receivable in the entry.


def _emit(loan: Loan, repayment: Repayment, *, closed: bool) -> None:
    if not loan.partner_id:
        return
    payload = {"id": repayment.pk, "number": repayment.number, "loan": loan.pk, "loan_number": loan.number,
               "kind": repayment.kind, "amount": f"{repayment.amount:.2f}", "value_date": repayment.value_date.isoformat(),
               "reference": repayment.reference,
               "allocation": {name: f"{getattr(repayment, name):.2f}" for name in
                              ("principal", "interest", "penalty", "fee", "prepayment_fee", "credit_balance")}}
    webhook_emit(partner=loan.partner, event="repayment.received", payload=payload)
    if closed:
        webhook_emit(partner=loan.partner, event="loan.paid_off",
                     payload={"id": loan.pk, "number": loan.number, "closed_on": loan.closed_on.isoformat(),
                              "repayment": repayment.pk})


def post_locked(*, loan: Loan, repayment: Repayment, kind: str, amount: Decimal, principal: Decimal | None, actor,
                debit_kind: str = AccountKind.SETTLEMENT, reference_kind: str = "repayment") -> Repayment:
    """Post ``repayment`` (created, not yet posted) on ``loan``, already locked by the caller."""
    on = business_date()
    installments = loan_installments_lock(loan_id=loan.pk)
    quote = quote_compute(loan=loan, installments=installments, on=on, kind=kind, principal=principal)
    work = _Work(loan, installments, repayment, on, actor)
    repayment.value_date = on
    _post(work, quote, amount=amount, kind=kind, debit_kind=debit_kind, reference_kind=reference_kind)
    before = repayment.status
    repayment.status = RepaymentStatus.POSTED
    REPAYMENTS.update(repayment, fields=_POSTED_FIELDS)  # repayment.save(update_fields=…), built once
    record_transition(repayment, from_state=before, to_state=RepaymentStatus.POSTED, actor=actor,
                      reason=stored_text(gettext_noop("Posted on %(date)s."), date=on.isoformat()))
    if work.repayment.principal and loan.credit_line.revolving:
        line_repay(line_id=loan.credit_line_id, amount=work.repayment.principal)
    _loan_after(work, actor=actor)
    # The loan as the posting left it, for the caller's answer without reading it again: its row
    # (balances re-read above), its schedule as saved and its parts (funder, share, principal).
    repayment.posted_loan = (loan, sorted(work.installments, key=lambda i: i.number), work.books.parts)
    if repayment.source != RepaymentSource.CREDIT_BALANCE:
        _emit(loan, repayment, closed=loan.status == LoanStatus.CLOSED)
    elif loan.status == LoanStatus.CLOSED and loan.partner_id:
        webhook_emit(partner=loan.partner, event="loan.paid_off",
                     payload={"id": loan.pk, "number": loan.number, "closed_on": loan.closed_on.isoformat(),
                              "repayment": repayment.pk})
    return repayment


def repayment_create(*, loan: Loan, amount: Decimal, kind: str, principal: Decimal | None, reference: str,
                     source: str, status: str, actor=None, note: str = "") -> Repayment:
    user = actor if getattr(actor, "pk", None) else None
    # The number needs the id: inserted under a unique placeholder, set below in this transaction.
    # (A shared placeholder such as "" made every repayment wait, on the unique index, for the
    # transaction of the one before it to commit: concurrent postings ran one at a time.)
    repayment = REPAYMENTS.insert(Repayment(  # Repayment.objects.create, the INSERT built once
        loan=loan, number=uuid.uuid4().hex, kind=kind, source=source, amount=amount, requested_principal=principal,
        reference=reference, status=status if status != RepaymentStatus.POSTED else "", note=note[:255],
        entered_by=user))
    repayment.number = f"RP{repayment.created_at:%Y%m%d}{repayment.pk:08d}"
    if status != RepaymentStatus.POSTED:
        repayment.save(update_fields=["number"])
        record_transition(repayment, from_state="", to_state=status, actor=actor)
    return repayment


@transaction.atomic
def repayment_post(*, loan: Loan, amount, kind: str = RepaymentKind.REGULAR, principal=None, reference: str,
                   actor=None, source: str = RepaymentSource.API, note: str = "") -> Repayment:
    """Post a repayment of ``amount`` on ``loan`` now (value date = the business date): see the
    module docstring. ``kind`` regular / payoff / prepayment (``principal`` = P); ``source`` api /
    backoffice / collection. Idempotent: a repayment with this ``reference`` on this loan is
    returned as it is. Raises ``RepaymentRefused`` (nothing written) when the loan is closed, the
    amount does not match the quote (``figures["quote"]``) or the input is wrong."""
    amount = _amount(amount)
    if principal is not None and principal != "":
        principal = _amount(principal, field="principal")
    else:
        principal = None
    if not reference or len(reference) > 80:
        raise RepaymentRefused(_("Give the payment's reference (up to 80 characters)."), field="reference")
    if kind not in RepaymentKind.values:
        raise RepaymentRefused(_("Unknown kind of repayment."), field="kind")
    locked = loan_lock(loan_id=loan.pk)
    existing = Repayment.objects.filter(loan=locked, reference=reference).first()
    if existing is not None:
        return existing
    repayment = repayment_create(loan=locked, amount=amount, kind=kind, principal=principal, reference=reference,
                                 source=source, status=RepaymentStatus.POSTED, actor=actor, note=note)
    return post_locked(loan=locked, repayment=repayment, kind=kind, amount=amount, principal=principal, actor=actor)
