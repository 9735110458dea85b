"""Every lock the servicing app takes, by name. Nothing else in servicing calls
``select_for_update`` or claims a balance with a conditional UPDATE: holds on a credit line,
funder quotas and the business date are taken here, so the order they are taken in can be read
in one place.

Order: the business date row first (the daily close and ``business_date --set`` hold it while
they run), then a credit line, then a funder's quota rows in funder id order. For a loan: the
loan row (``loan_lock``), then its installment rows (``loan_installments_lock``), then the
credit line's ``used`` (``line_repay``) — a repayment takes them in that order, so the daily
close must take a loan's row before its installments' too (or be set-based on relative
arithmetic that needs no read).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, F, Q, Value
from django.db.models.functions import Greatest, Now

from servicing.fastpath import (
    LOCKED_DISBURSEMENT, LOCKED_DRAWDOWN, LOCKED_INSTALLMENTS, LOCKED_LOAN, drawdown_line_hold_update,
    funder_quotas_take, line_draw_update, line_hold_update,
)
from servicing.models import (
    BusinessDate,
    CreditLine,
    CreditLineChange,
    CollectionDebit,
    CreditBalanceRefund,
    CreditLineStatus,
    Disbursement,
    Drawdown,
    Funder,
    FunderQuotaDay,
    FundingHoldStatus,
    Installment,
    Loan,
    LoanStatus,
    Repayment,
    WriteOffRequest,
)

__all__ = ["business_date_lock", "collection_debit_lock", "credit_balance_refund_lock", "line_repay",
           "loan_installments_lock", "loan_lock", "repayment_lock", "credit_line_change_lock", "credit_line_lock",
           "disbursement_lock",
           "drawdown_line_hold_settle", "drawdown_lock", "funder_quota_release", "funder_quota_take", "line_draw",
           "line_hold", "line_limit_set", "line_rate_set", "line_release", "loans_lock_range", "write_off_request_lock"]


def business_date_lock(*, date, actor=None, reason: str = "") -> tuple[BusinessDate, bool]:
    """The business date row, locked for the rest of the transaction (created with ``date``
    when there is none yet). Returns ``(row, created)``."""
    return BusinessDate.objects.select_for_update().get_or_create(
        pk=1, defaults={"date": date, "changed_by": actor, "reason": reason})



# --- credit-line reservations (drawdowns) ------------------------------------------------------------
# TigerBeetle's two-phase transfer: ``line_hold`` is the pending transfer, ``line_draw`` posts it,
# ``line_release`` voids it. Each is one conditional UPDATE: the row lock is taken by the UPDATE
# itself and held to the end of the caller's transaction, and a refused claim changes nothing.


def line_hold(*, line_id: int, amount: Decimal, unless_reference: tuple[int, str] | None = None) -> bool:
    """Reserve ``amount`` on an active line: ``held += amount WHERE status = active AND used +
    held + amount <= limit``. False (nothing changed) when the line is not active or the amount
    is more than is available. ``unless_reference=(partner id, external reference)``: also
    refused when that partner has a drawdown with that reference (the check rides on the same
    statement; the caller asks why when it is refused)."""
    if connection.vendor == "postgresql":  # the same UPDATE, built once (servicing.fastpath)
        return line_hold_update(line_id=line_id, amount=Decimal(amount), active=CreditLineStatus.ACTIVE,
                                unless_reference=unless_reference)
    return _line_hold_orm(line_id=line_id, amount=amount, unless_reference=unless_reference)


def _line_hold_orm(*, line_id: int, amount: Decimal, unless_reference: tuple[int, str] | None = None) -> bool:
    rows = CreditLine.objects.filter(pk=line_id, status=CreditLineStatus.ACTIVE,
                                     used__lte=F("limit") - F("held") - amount)
    if unless_reference is not None:
        partner_id, reference = unless_reference
        rows = rows.exclude(Exists(Drawdown.objects.filter(partner_id=partner_id, external_reference=reference)))
    return bool(rows.update(held=F("held") + amount))


def line_release(*, line_id: int, amount: Decimal) -> bool:
    """Give a reservation back: ``held -= amount WHERE held >= amount`` (whatever the line's
    status: a frozen line still releases what its drawdowns held)."""
    return bool(CreditLine.objects.filter(pk=line_id, held__gte=amount).update(held=F("held") - amount))


def line_draw(*, line_id: int, amount: Decimal) -> bool:
    """Post a reservation at confirmed disbursement: ``held -= amount, used += amount WHERE held
    >= amount``. The money is paid already, so the line's status is not asked; used + held stays
    the same, so the limit still holds."""
    if connection.vendor == "postgresql":  # the same UPDATE, built once (servicing.fastpath)
        return line_draw_update(line_id=line_id, amount=Decimal(amount))
    return _line_draw_orm(line_id=line_id, amount=amount)


def _line_draw_orm(*, line_id: int, amount: Decimal) -> bool:
    return bool(CreditLine.objects.filter(pk=line_id, held__gte=amount)
                .update(held=F("held") - amount, used=F("used") + amount))


def drawdown_line_hold_settle(*, drawdown_id: int, to_status: str) -> bool:
    """Move a drawdown's reservation from held to ``to_status`` (posted or released) exactly once:
    ``UPDATE … SET line_hold = :to WHERE line_hold = held``. True for the one caller that moved
    it; that caller then releases or draws the line."""
    if connection.vendor == "postgresql":  # the same UPDATE, built once (servicing.fastpath)
        return drawdown_line_hold_update(drawdown_id=drawdown_id, from_status=FundingHoldStatus.HELD,
                                         to_status=to_status)
    return _drawdown_line_hold_settle_orm(drawdown_id=drawdown_id, to_status=to_status)


def _drawdown_line_hold_settle_orm(*, drawdown_id: int, to_status: str) -> bool:
    return bool(Drawdown.objects.filter(pk=drawdown_id, line_hold=FundingHoldStatus.HELD)
                .update(line_hold=to_status))


def drawdown_lock(*, drawdown_id: int) -> Drawdown:
    """The drawdown row, locked for the rest of the transaction (status moves of one drawdown
    are serialised on it)."""
    drawdown = LOCKED_DRAWDOWN.get(drawdown_id)  # one prebuilt statement (servicing.fastpath)
    if drawdown is None:
        raise Drawdown.DoesNotExist(f"No drawdown {drawdown_id}.")
    return drawdown
# --- credit lines ---------------------------------------------------------------------------------


def credit_line_lock(*, line_id: int) -> CreditLine:
    """The credit line's row, locked for the rest of the transaction (a status change or a
    change request being decided on it)."""
    return CreditLine.objects.select_for_update().get(pk=line_id)


def credit_line_change_lock(*, change_id: int) -> CreditLineChange:
    """A change request's row (alone), locked: one decision at a time."""
    return CreditLineChange.objects.select_for_update(of=("self",)).select_related("credit_line").get(pk=change_id)


def line_limit_set(*, line_id: int, new_limit) -> bool:
    """Set the line's limit to ``new_limit`` if what is drawn and held still fits under it and the
    line is active or frozen — one conditional UPDATE, so a drawdown holding at the same moment
    either fits under the new limit or is refused. False (nothing changed) otherwise."""
    return bool(CreditLine.objects.filter(
        Q(pk=line_id), Q(status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]),
        Q(used__lte=new_limit - F("held")),
    ).update(limit=new_limit, updated_at=Now()))


def line_rate_set(*, line_id: int, new_rate) -> bool:
    """Set the line's rate if the line is active or frozen (one conditional UPDATE; drawdowns take
    the rate at their value date, so a change applies to later drawdowns). False otherwise."""
    return bool(CreditLine.objects.filter(pk=line_id, status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN])
                .update(rate_percent=new_rate, updated_at=Now()))


class _Refused(Exception):
    """Rolls back the savepoint of a quota take when one of its two statements is refused."""


def funder_quota_take(*, funder_id: int, day, amount: Decimal) -> bool:
    """Take ``amount`` of a funder's total quota and of its quota for business date ``day``:
    ``total_used += amount WHERE active AND total_used + amount <= total_quota`` and
    ``used += amount WHERE used + amount <= daily_quota`` on the day's row — both or neither.
    Empty quotas are unlimited. Returns False when refused (inactive funder or either quota
    short), changing nothing. The funder row is taken first, then its day row: one prebuilt
    statement (``servicing.fastpath.funder_quotas_take``), no savepoint; when the day's quota is
    short, the total taken is given back at once (the funder row stays locked by this transaction
    in between, so nobody sees it)."""
    amount = Decimal(amount)
    if connection.vendor != "postgresql":  # pragma: no cover - the embedded SQLite default
        return _funder_quota_take_orm(funder_id=funder_id, day=day, amount=amount)
    with transaction.atomic(savepoint=False):
        total, daily = funder_quotas_take(funder_id=funder_id, day=day, amount=amount)
        if total and not daily:
            Funder.objects.filter(pk=funder_id).update(total_used=F("total_used") - amount)
    return total and daily


def _funder_quota_take_orm(*, funder_id: int, day, amount: Decimal) -> bool:
    try:
        with transaction.atomic():
            total = Funder.objects.filter(pk=funder_id, active=True).filter(
                Q(total_quota__isnull=True) | Q(total_used__lte=F("total_quota") - amount))
            if not total.update(total_used=F("total_used") + amount):
                raise _Refused
            daily_quota = Funder.objects.filter(pk=funder_id).values_list("daily_quota", flat=True).get()
            FunderQuotaDay.objects.bulk_create([FunderQuotaDay(funder_id=funder_id, business_date=day)],
                                               ignore_conflicts=True)
            rows = FunderQuotaDay.objects.filter(funder_id=funder_id, business_date=day)
            if daily_quota is not None:
                rows = rows.filter(used__lte=daily_quota - amount)
            if not rows.update(used=F("used") + amount):
                raise _Refused
    except _Refused:
        return False
    return True


def funder_quota_release(*, funder_id: int, day, amount: Decimal) -> bool:
    """Give back what ``funder_quota_take`` took (a failed, cancelled or rejected drawdown).
    Returns False, changing nothing, when either counter holds less than ``amount``."""
    amount = Decimal(amount)
    try:
        with transaction.atomic():
            if not Funder.objects.filter(pk=funder_id, total_used__gte=amount).update(
                    total_used=F("total_used") - amount):
                raise _Refused
            if not FunderQuotaDay.objects.filter(funder_id=funder_id, business_date=day, used__gte=amount).update(
                    used=F("used") - amount):
                raise _Refused
    except _Refused:
        return False
    return True


def disbursement_lock(*, reference: str) -> Disbursement | None:
    """The disbursement with this reference, locked for the rest of the transaction (a callback
    and a status query confirming it at the same time are serialised); None when unknown."""
    return LOCKED_DISBURSEMENT.get(reference)  # one prebuilt statement (servicing.fastpath)


# --- the daily close ------------------------------------------------------------------------------


def loans_lock_range(*, lo: int, hi: int, business_date) -> list[int]:
    """The open loans with ids ``lo``…``hi`` that the close of ``business_date`` has still to do
    (a watermark before the date), locked in id order for the rest of the transaction. A repayment
    holding one of them makes the close wait for it (and the other way round), so the close's
    set-based statement, run after this, sees every committed repayment and none lands during it.
    Returns their ids."""
    pending = (Q(closed_through__isnull=True) | Q(closed_through__lt=business_date)
               | Q(accrued_through__isnull=True) | Q(accrued_through__lt=business_date)
               | Q(penalty_through__isnull=True) | Q(penalty_through__lt=business_date))
    return list(Loan.objects.select_for_update(of=("self",)).filter(
        pending, id__gte=lo, id__lte=hi, status__in=[LoanStatus.ACTIVE, LoanStatus.OVERDUE],
        value_date__lte=business_date).order_by("id").values_list("id", flat=True))


# --- loans and repayments -------------------------------------------------------------------------


def loan_lock(*, loan_id: int) -> Loan:
    """The loan's row, locked for the rest of the transaction: repayments, credit-balance
    applications and refunds of one loan are serialised on it, and so is the daily close's
    update of its balances."""
    loan = LOCKED_LOAN.get(loan_id)  # one prebuilt statement (servicing.fastpath)
    if loan is None:
        raise Loan.DoesNotExist(f"No loan {loan_id}.")
    return loan


def loan_installments_lock(*, loan_id: int) -> list[Installment]:
    """The loan's installments, locked, oldest first. Take ``loan_lock`` first."""
    return sorted(LOCKED_INSTALLMENTS.filter(loan_id), key=lambda installment: installment.number)


def line_repay(*, line_id: int, amount: Decimal) -> bool:
    """Repaid principal of a revolving line is available again at once: ``used = greatest(used −
    amount, 0)`` — relative, so a drawdown posting at the same moment is never lost. False when
    the line is not revolving (a one-off line keeps counting what was ever drawn)."""
    return bool(CreditLine.objects.filter(pk=line_id, revolving=True).update(
        used=Greatest(F("used") - amount, Value(Decimal("0.00"))), updated_at=Now()))


def repayment_lock(*, repayment_id: int) -> Repayment:
    """A repayment row (alone), locked: one verification decision at a time."""
    return Repayment.objects.select_for_update(of=("self",)).get(pk=repayment_id)


def credit_balance_refund_lock(*, refund_id: int) -> CreditBalanceRefund:
    """A refund request's row (alone), locked: one decision at a time."""
    return CreditBalanceRefund.objects.select_for_update(of=("self",)).get(pk=refund_id)


def write_off_request_lock(*, request_id: int) -> WriteOffRequest:
    """A write-off request's row (alone), locked: one decision at a time. Take ``loan_lock`` first."""
    return WriteOffRequest.objects.select_for_update(of=("self",)).get(pk=request_id)


def collection_debit_lock(*, reference: str) -> CollectionDebit | None:
    """The scheduled debit with this reference, locked (a callback and a replay of it are
    serialised); None when unknown."""
    return CollectionDebit.objects.select_for_update(of=("self",)).select_related("loan", "channel").filter(
        reference=reference).first()
