"""Scheduled debit (代扣): on an installment's due date the close asks the payment channel to debit
the borrower's account for what is payable, and again on the product's ``collection_retry_days``
after the due date while anything is unpaid; the channel's signed callback says what was
collected and posts it as a repayment (source ``collection``, reference = the debit's).

``collection_request(loan=, business_date=)`` decides by itself whether the date is a collection
day of the loan (the earliest unpaid due date + 0 or a retry day), so the close may call it for
every loan with something payable; one debit per loan and date (reference
``DEBIT-<loan>-<yyyymmdd>-<attempt>``, the channel's idempotency key)."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import ZERO, to_decimal
from creditfactory.core.state import change_state, record_transition
from creditfactory.core.texts import stored_text
from servicing.channels import ChannelTimeout, ChannelUnavailable, PaymentOrder, provider_for
from servicing.locks import collection_debit_lock
from servicing.models import (
    COLLECTION_MACHINE, CollectionDebit, CollectionDebitStatus, InstallmentStatus, Loan, LoanStatus, RepaymentKind,
    RepaymentSource,
)

from .posting import repayment_post
from .quotes import RepaymentRefused, loan_quote

__all__ = ["collection_callback", "collection_day", "collection_request"]

_D = CollectionDebitStatus


def collection_day(*, loan: Loan, business_date: datetime.date) -> bool:
    """Is ``business_date`` a day to debit ``loan``: the earliest unpaid due date, or that + one of
    the version's retry days."""
    earliest = (loan.installments.exclude(status=InstallmentStatus.PAID).filter(due_date__lte=business_date)
                .order_by("due_date").values_list("due_date", flat=True).first())
    if earliest is None:
        return False
    days = (business_date - earliest).days
    return days == 0 or days in (loan.product_version.collection_retry_days or [])


def collection_request(*, loan: Loan, business_date: datetime.date, force: bool = False) -> CollectionDebit | None:
    """Ask the channel to debit what is payable on ``business_date`` (see the module docstring).
    Returns the debit (the one already asked that day, if any), or None when the date is no
    collection day or nothing is payable. ``force`` (an officer's retry) skips the day check and
    asks again after a failed debit of the same date (the next attempt)."""
    from servicing.services.payments import _channel

    loan = Loan.objects.select_related("product_version", "drawdown", "applicant").get(pk=loan.pk)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
        return None
    today = list(CollectionDebit.objects.filter(loan=loan, business_date=business_date).order_by("attempt"))
    if today and today[-1].status != _D.FAILED:
        return today[-1]
    if not force and (today or not collection_day(loan=loan, business_date=business_date)):
        return today[-1] if today else None
    try:
        amount = loan_quote(loan=loan, kind=RepaymentKind.REGULAR, on=business_date).payable - loan.credit_balance
    except RepaymentRefused:
        return None
    if amount <= 0:
        return None
    attempt = len(today) + 1
    channel = _channel()
    reference = f"DEBIT-{loan.number}-{business_date:%Y%m%d}-{attempt}"
    try:
        with transaction.atomic():
            debit = CollectionDebit.objects.create(loan=loan, channel=channel, reference=reference,
                                                   business_date=business_date, attempt=attempt, amount=amount,
                                                   status=_D.SENT)
            record_transition(debit, from_state="", to_state=_D.SENT, actor_label="system",
                              reason=stored_text(gettext_noop("Debit of %(amount)s asked."), amount=f"{amount:.2f}"))
    except IntegrityError:  # a concurrent request of the same attempt
        return CollectionDebit.objects.get(loan=loan, business_date=business_date, attempt=attempt)
    order = PaymentOrder(reference=reference, amount=amount, account=loan.drawdown.bank_account,
                         account_name=loan.applicant.name)
    with transaction.atomic():
        try:
            result = provider_for(channel).debit(order)
        except ChannelTimeout:
            return debit  # the channel may have it: its callback (or a later query) settles it
        except ChannelUnavailable as exc:
            return _fail(debit, code="unavailable", message=str(exc)[:255])
        if not result.accepted:
            return _fail(debit, code=result.failure_code, message=result.failure_message)
    return debit


def _fail(debit: CollectionDebit, *, code: str, message: str) -> CollectionDebit:
    locked = collection_debit_lock(reference=debit.reference)
    if locked.status != _D.SENT:
        return locked
    locked.failure_code, locked.failure_message = code[:40], message[:255]
    change_state(locked, to_state=_D.FAILED, machine=COLLECTION_MACHINE, actor_label="system",
                 reason=stored_text(gettext_noop("Debit failed: %(code)s"), code=code[:40]),
                 extra_update_fields=["failure_code", "failure_message"])
    return locked


@transaction.atomic
def collection_callback(*, reference: str, paid: bool, data: dict, channel_reference: str = "",
                        failure_code: str = "", failure_message: str = "") -> CollectionDebit:
    """The channel's signed callback for a debit (verified by ``payment_callback_receive``): what
    was collected (``data["amount"]``, a string) posts as a repayment with the debit's reference;
    the debit becomes paid, partial or failed. A replay changes nothing."""
    from servicing.services.payments import CallbackInvalid

    debit = collection_debit_lock(reference=reference)
    if debit.status != _D.SENT:
        return debit
    collected = ZERO
    if paid:
        try:
            collected = to_decimal(data.get("amount", ""))
        except (ValueError, TypeError):
            raise CallbackInvalid({"amount": [_("Give the amount collected, e.g. \"1730.53\".")]}) from None
        if collected < 0 or collected > debit.amount:
            raise CallbackInvalid({"amount": [_("The amount collected must be between 0 and what was asked.")]})
    if collected > 0:
        repayment = repayment_post(loan=debit.loan, amount=collected, kind=RepaymentKind.REGULAR, reference=reference,
                                   actor=None, source=RepaymentSource.COLLECTION)
        debit.repayment, debit.collected = repayment, collected
        to_state = _D.PAID if collected == debit.amount else _D.PARTIAL
    else:
        to_state = _D.FAILED
        debit.failure_code = (failure_code or "failed")[:40]
        debit.failure_message = failure_message[:255]
    change_state(debit, to_state=to_state, machine=COLLECTION_MACHINE, actor_label="system",
                 reason=stored_text(gettext_noop("Collected %(amount)s."), amount=f"{collected:.2f}"),
                 extra_update_fields=["repayment", "collected", "failure_code", "failure_message"])
    return debit


