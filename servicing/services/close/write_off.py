"""Write-off (核销) of the loans the close proposes (``WriteOffRequest``, a loan past its version's
``write_off_dpd``): a person other than whoever proposed it approves it — the loan's receivables
leave the balance sheet — or rejects it with a reason. A rejected request stays with its reason and the loan is not proposed
again until its version's ``write_off_repropose_days`` business days after the rejection
(``decided_on``; empty: never), when the start of day proposes it again if it is still past
``write_off_dpd``.

Approval, under the loan's row lock, per funding part (docs/ledger.md): one entry
``<loan>/write-off/<funder>``, Dr write-off expense / Cr principal, interest, penalty and fee
receivable, each part's own balance taken whole; the loan's and parts' receivables go to 0 and the
loan to ``written_off`` (state log). The schedule stays as it was, so later recoveries can be
recorded against it; the ledger check leaves written-off loans out of the schedule identity."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import ZERO
from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from servicing.locks import loan_lock, write_off_request_lock
from servicing.models import AccountKind, EntryKind, LoanStatus, WriteOffRequest, WriteOffStatus
from servicing.services.calendar import business_date
from servicing.services.repayments.books import RECEIVABLES, Books
from servicing.services.repayments.quotes import RepaymentRefused

__all__ = ["APPROVE_PERMISSION", "PROPOSE_PERMISSION", "write_off_approve", "write_off_propose", "write_off_reject"]

APPROVE_PERMISSION = "servicing.approve_writeoffrequest"
PROPOSE_PERMISSION = "servicing.add_writeoffrequest"


@transaction.atomic
def write_off_propose(*, loan, actor, note: str) -> WriteOffRequest:
    """An officer proposes writing ``loan`` off before the close would (``servicing.add_writeoffrequest``);
    someone else approves it. One pending request per loan."""
    if not getattr(actor, "pk", None) or not actor.has_perm(PROPOSE_PERMISSION):
        raise PermissionDenied(_("You may not propose write-offs."))
    if not (note or "").strip():
        raise RepaymentRefused(_("Say why the loan should be written off."), field="note")
    locked = loan_lock(loan_id=loan.pk)
    if locked.status not in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
        raise RepaymentRefused(_("Loan %(number)s is %(status)s: it cannot be written off.")
                               % {"number": locked.number, "status": locked.get_status_display()}, status=409,
                               code="loan_closed")
    if locked.write_off_requests.filter(status=WriteOffStatus.PENDING).exists():
        raise RepaymentRefused(_("A write-off of this loan awaits approval already."), status=409, code="pending")
    request = WriteOffRequest.objects.create(
        loan=locked, proposed_on=business_date(), days_past_due=locked.days_past_due,
        principal=locked.principal_outstanding, interest=locked.interest_receivable,
        penalty=locked.penalty_receivable, proposed_by=actor, note=note[:500])
    record_transition(request, from_state="", to_state=WriteOffStatus.PENDING, actor=actor,
                      reason=stored_text(gettext_noop("Proposed: %(reason)s"), reason=note[:200]))
    return request


def _decider(request: WriteOffRequest, actor) -> None:
    if not getattr(actor, "pk", None) or not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(_("You may not decide write-offs."))
    if request.proposed_by_id is not None and request.proposed_by_id == actor.pk:
        raise PermissionDenied(_("A write-off is approved by someone other than who proposed it (four eyes)."))
    if request.status != WriteOffStatus.PENDING:
        raise RepaymentRefused(_("This write-off was decided already."), status=409, code="decided")


@transaction.atomic
def write_off_approve(*, request: WriteOffRequest, actor, note: str = "") -> WriteOffRequest:
    """Approve ``request`` (``servicing.approve_writeoffrequest``): write the loan off on the
    business date (see the module docstring). Refused when the loan is no longer open."""
    loan = loan_lock(loan_id=request.loan_id)
    request = write_off_request_lock(request_id=request.pk)
    _decider(request, actor)
    if loan.status not in (LoanStatus.ACTIVE, LoanStatus.OVERDUE):
        raise RepaymentRefused(_("Loan %(number)s is %(status)s: it cannot be written off.")
                               % {"number": loan.number, "status": loan.get_status_display()}, status=409,
                               code="loan_closed")
    on = business_date()
    books = Books(loan)
    credit, written = {}, {}
    for balance, account in RECEIVABLES.items():
        shares = {part.pk: books.balance[part.pk][balance] for part in books.parts}
        if any(shares.values()):
            credit[account] = shares
            books.change(balance, {key: -value for key, value in shares.items()})
        written[balance] = sum(shares.values(), ZERO)
    expense = {part.pk: sum((credit[a].get(part.pk, ZERO) for a in credit), ZERO) for part in books.parts}
    if any(expense.values()):
        books.post(kind=EntryKind.WRITE_OFF, reference=f"{loan.number}/write-off", on=on,
                   memo=_("Write-off of loan %(loan)s") % {"loan": loan.number}, actor=actor,
                   debit={AccountKind.WRITE_OFF: expense}, credit=credit)
    books.save()
    before = loan.status
    loan.status = LoanStatus.WRITTEN_OFF
    loan.save(update_fields=["status", "updated_at"])
    record_transition(loan, from_state=before, to_state=LoanStatus.WRITTEN_OFF, actor=actor,
                      reason=stored_text(gettext_noop("Written off on %(date)s."), date=on.isoformat()))
    request.status, request.decided_by, request.decided_at = WriteOffStatus.APPROVED, actor, timezone.now()
    request.decided_on = on
    request.principal, request.interest = written["principal_outstanding"], written["interest_receivable"]
    request.penalty, request.note = written["penalty_receivable"], note[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decided_on", "principal", "interest",
                                "penalty", "note", "updated_at"])
    record_transition(request, from_state=WriteOffStatus.PENDING, to_state=WriteOffStatus.APPROVED, actor=actor,
                      reason=stored_text(gettext_noop("Approved on %(date)s."), date=on.isoformat()))
    return request


@transaction.atomic
def write_off_reject(*, request: WriteOffRequest, actor, reason: str) -> WriteOffRequest:
    """Reject ``request`` with a reason (same rights as approving); nothing moves, and the close
    proposes the loan again only ``write_off_repropose_days`` business days after today's
    (see ``day_start``)."""
    if not (reason or "").strip():
        raise RepaymentRefused(_("Say why the write-off is rejected."), field="note")
    loan_lock(loan_id=request.loan_id)
    request = write_off_request_lock(request_id=request.pk)
    _decider(request, actor)
    request.status, request.decided_by, request.decided_at = WriteOffStatus.REJECTED, actor, timezone.now()
    request.decided_on, request.note = business_date(), reason[:500]
    request.save(update_fields=["status", "decided_by", "decided_at", "decided_on", "note", "updated_at"])
    record_transition(request, from_state=WriteOffStatus.PENDING, to_state=WriteOffStatus.REJECTED, actor=actor,
                      reason=stored_text(gettext_noop("Rejected: %(reason)s"), reason=reason[:200]))
    return request
