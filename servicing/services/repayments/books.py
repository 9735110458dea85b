"""The money side of a repayment: split each component over the loan's funding parts, write the
parts' and the loan's balances (relative UPDATEs) and post one journal entry per funder.

Split rule (docs/servicing.md): ``split_by_share`` — the lead funder takes the rounding rest —
except when a component is paid off whole (the loan's balance of it goes to 0): then each part's
own balance is taken, so no fen is left on a part."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import F

from creditfactory.core.money import ZERO
from servicing.fastpath import LOAN_PARTS
from servicing.models import AccountKind, EntryKind, Loan, LoanPart
from servicing.services.ledger import Posting, funder_chart, ledger_post, split_by_share

__all__ = ["Books", "take_from_parts"]

# Loan/part balance field → the receivable account it mirrors.
RECEIVABLES = {
    "penalty_receivable": AccountKind.PENALTY_RECEIVABLE,
    "fee_receivable": AccountKind.FEE_RECEIVABLE,
    "interest_receivable": AccountKind.INTEREST_RECEIVABLE,
    "principal_outstanding": AccountKind.PRINCIPAL_RECEIVABLE,
}
BALANCES = (*RECEIVABLES, "credit_balance")


def take_from_parts(*, amount: Decimal, parts: list[LoanPart], holdings: dict) -> dict:
    """Split ``amount`` to take out of a balance the parts hold (``holdings`` by part id): all of
    each part's holding when ``amount`` is the whole; else by share, any part short of its share
    giving the excess to the others (lead first), so no part goes below zero."""
    total = sum(holdings.values(), ZERO)
    if amount == total:
        return dict(holdings)
    split = split_by_share(amount=amount, shares=[(part.pk, part.share_percent) for part in parts])
    excess = ZERO
    for key, value in split.items():
        if value > holdings[key]:
            excess += value - holdings[key]
            split[key] = holdings[key]
    for part in parts:  # lead first (parts are ordered -lead, id)
        if excess <= 0:
            break
        room = holdings[part.pk] - split[part.pk]
        give = min(room, excess)
        split[part.pk] += give
        excess -= give
    return split


class Books:
    """The loan's parts in memory while a repayment is worked out: every change is recorded per
    part and balance, then written once (``save``) and posted (``post``)."""

    def __init__(self, loan: Loan):
        self.loan = loan
        # the lead first, then by id (one prebuilt statement, servicing.fastpath)
        self.parts = sorted(LOAN_PARTS.filter(loan.pk), key=lambda part: (not part.lead, part.pk))
        self.balance = {part.pk: {name: getattr(part, name) for name in BALANCES} for part in self.parts}
        self.delta = defaultdict(lambda: defaultdict(lambda: ZERO))  # part → balance → change

    def _loan_total(self, name: str) -> Decimal:
        return sum((self.balance[part.pk][name] for part in self.parts), ZERO)

    def split(self, amount: Decimal, *, balance: str | None = None, taking: bool = False) -> dict:
        """Per part: ``amount`` split by share; taken whole from ``balance`` when it is all of it."""
        if amount == 0:
            return {part.pk: ZERO for part in self.parts}
        if taking and balance is not None:
            holdings = {part.pk: self.balance[part.pk][balance] for part in self.parts}
            if balance == "credit_balance" or amount == sum(holdings.values(), ZERO):
                return take_from_parts(amount=amount, parts=self.parts, holdings=holdings)
        return split_by_share(amount=amount, shares=[(part.pk, part.share_percent) for part in self.parts])

    def change(self, name: str, shares: dict) -> None:
        for key, value in shares.items():
            self.balance[key][name] += value
            self.delta[key][name] += value

    def save(self) -> None:
        """One relative UPDATE per part and one for the loan (the close may add accruals to the
        same rows in between; relative arithmetic loses nothing)."""
        totals = defaultdict(lambda: ZERO)
        for key, changes in self.delta.items():
            values = {name: F(name) + value for name, value in changes.items() if value}
            for name, value in changes.items():
                totals[name] += value
            if values:
                LoanPart.objects.filter(pk=key).update(**values)
        values = {name: F(name) + value for name, value in totals.items() if value}
        if values:
            Loan.objects.filter(pk=self.loan.pk).update(**values)
            # The loan's row is locked (loan_lock) while a repayment is worked out: what was read
            # under the lock plus the change is what the row now holds.
            for name, value in totals.items():
                setattr(self.loan, name, getattr(self.loan, name) + value)
        self.delta.clear()

    def post(self, *, kind: str, reference: str, on: datetime.date, memo: str, actor, debit: dict,
             credit: dict) -> None:
        """One balanced entry per funder: ``debit`` / ``credit`` are ``{account kind: {part id:
        amount}}``. Parts with nothing to post are skipped."""
        for part in self.parts:
            postings = []
            chart = None
            for side, lines in (("debit", debit), ("credit", credit)):
                for account_kind, shares in lines.items():
                    value = shares.get(part.pk, ZERO)
                    if value == 0:
                        continue
                    chart = chart or funder_chart(funder=part.funder)
                    # A negative figure (a true-up downwards) posts on the other side.
                    if value < 0:
                        postings.append(Posting(chart[account_kind], **{_other(side): -value}))
                    else:
                        postings.append(Posting(chart[account_kind], **{side: value}))
            if postings:
                ledger_post(kind=kind, reference=f"{reference}/{part.funder.code}", business_date=on, loan=self.loan,
                            memo=memo, actor=actor, postings=postings)


def _other(side: str) -> str:
    return "credit" if side == "debit" else "debit"


def entry_kind(name: str) -> str:
    return {"repayment": EntryKind.REPAYMENT, "accrual": EntryKind.ACCRUAL, "refund": EntryKind.REFUND}[name]
