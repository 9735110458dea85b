"""The general ledger (双分录): post balanced journal entries, reverse them, split amounts by
funder share, and reconcile the loans' sub-ledger with the control accounts.

Every funder keeps its own books (a chart of accounts created on first use), so an entry posts
to the accounts of one funder and balances within them; a co-lent loan's event is one entry per
funder, each its share (``split_by_share``). An entry is balanced by construction — refused here
before anything is written — and again by the database (a deferred trigger checks Σ debit =
Σ credit at commit); journal rows are append-only (triggers refuse UPDATE and DELETE), so a
correction is a reversing entry. ``reference`` is the event's key: posting it again returns the
entry already written and writes nothing. See docs/ledger.md."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _

from creditfactory.core.money import ZERO, money_context, quantize_fen, to_decimal
from servicing.fastpath import (
    FUNDER_ACCOUNTS, JOURNAL_LINES, fused, journal_entry_insert, journal_entry_with_lines_insert,
)
from servicing.models import (
    ACCOUNT_NUMBERS,
    Account,
    AccountKind,
    EntryKind,
    Funder,
    JournalEntry,
    JournalLine,
    Loan,
    LoanPart,
    NormalSide,
)

__all__ = [
    "ACCRUAL_ACCOUNTS", "Difference", "LedgerError", "Posting", "RECONCILED_KINDS", "account_balance",
    "funder_account", "funder_chart", "ledger_accrue_aggregate", "ledger_post", "ledger_reverse", "reconcile",
    "split_by_share",
]

HUNDRED = Decimal(100)


class LedgerError(ValueError):
    """An entry that cannot be posted (unbalanced, empty, accounts of several funders, …)."""


@dataclass(frozen=True)
class Posting:
    """One journal line to write: an account and an amount on one side."""

    account: Account
    debit: Decimal = ZERO
    credit: Decimal = ZERO


# --- the chart of accounts ------------------------------------------------------------------------


# A funder's complete chart, read once per process: an account is never changed nor deleted once
# created (no service writes one again, the admin is read-only, a funder with accounts cannot be
# deleted: PROTECT). Keyed by the database too (tests and tools switch databases) and by the
# funder's code (the accounts' numbers derive from it). A chart read complete is kept once the
# transaction that read it commits: what it saw is committed then (accounts created by a
# transaction that rolls back are never kept).
_CHARTS: dict[tuple, dict[str, Account]] = {}


def _chart_key(funder: Funder) -> tuple:
    from django.db import connection

    return connection.alias, connection.settings_dict["NAME"], funder.pk, funder.code


def funder_chart(*, funder: Funder) -> dict[str, Account]:
    """Every account of ``funder``'s chart by kind, created on first use (idempotent, safe when two
    transactions create it at once: the numbers are unique and conflicts are ignored). A complete
    chart is read once per process (``_CHARTS``); the accounts are shared: do not change them."""
    key = _chart_key(funder)
    cached = _CHARTS.get(key)
    if cached is not None:
        return dict(cached)
    accounts = {account.kind: account for account in FUNDER_ACCOUNTS.filter(funder.pk)}
    if len(accounts) < len(ACCOUNT_NUMBERS):
        Account.objects.bulk_create(
            [Account(funder=funder, kind=kind, number=f"{funder.code}-{suffix}", normal_side=side)
             for kind, (suffix, side) in ACCOUNT_NUMBERS.items() if kind not in accounts],
            ignore_conflicts=True,
        )
        accounts = {account.kind: account for account in Account.objects.filter(funder=funder)}
        return accounts
    transaction.on_commit(lambda: _CHARTS.__setitem__(key, accounts))
    return dict(accounts)


def funder_account(*, funder: Funder, kind: str) -> Account:
    """The account of ``kind`` (an ``AccountKind``) in ``funder``'s chart."""
    if kind not in AccountKind.values:
        raise LedgerError(_("There is no ledger account of kind %(kind)s.") % {"kind": kind})
    return funder_chart(funder=funder)[kind]


# --- shares ---------------------------------------------------------------------------------------


def split_by_share(*, amount: Decimal, shares: list[tuple[object, Decimal]]) -> dict:
    """Split ``amount`` by percentage ``shares`` (``[(key, percent), …]``, summing to 100).

    Each part is its share rounded to the fen (half up); the lead — the largest share, the first
    of equal largest ones — takes the rest, so the parts always sum exactly to ``amount``.
    Returns ``{key: part}`` in the order of ``shares``."""
    if not shares:
        raise LedgerError(_("There is nothing to split the amount between."))
    amount = quantize_fen(to_decimal(amount))
    percents = [to_decimal(percent) for _key, percent in shares]
    if any(percent <= 0 for percent in percents) or sum(percents) != HUNDRED:
        raise LedgerError(_("The shares must be positive and add up to 100 %%; they add up to %(total)s %%.")
                          % {"total": sum(percents)})
    keys = [key for key, _percent in shares]
    if len(set(keys)) != len(keys):
        raise LedgerError(_("Each party may have one share only."))
    lead = max(range(len(shares)), key=lambda i: (percents[i], -i))
    with money_context():
        parts = {key: quantize_fen(amount * percent / HUNDRED) for key, percent in zip(keys, percents, strict=True)}
        parts[keys[lead]] = amount - sum(part for key, part in parts.items() if key != keys[lead])
    return parts


# --- posting --------------------------------------------------------------------------------------


def _checked_lines(postings) -> list[tuple[Account, Decimal, Decimal]]:
    if not postings:
        raise LedgerError(_("A journal entry needs at least two lines."))
    lines = []
    for posting in postings:
        debit, credit = quantize_fen(to_decimal(posting.debit)), quantize_fen(to_decimal(posting.credit))
        if debit < 0 or credit < 0 or (debit > 0) == (credit > 0):
            raise LedgerError(_("Each journal line has one positive amount, a debit or a credit "
                                "(account %(account)s: debit %(debit)s, credit %(credit)s).")
                              % {"account": posting.account.number, "debit": debit, "credit": credit})
        lines.append((posting.account, debit, credit))
    if len(lines) < 2:
        raise LedgerError(_("A journal entry needs at least two lines."))
    debits, credits = sum(line[1] for line in lines), sum(line[2] for line in lines)
    if debits != credits:
        raise LedgerError(_("The entry does not balance: debits %(debits)s, credits %(credits)s.")
                          % {"debits": debits, "credits": credits})
    funders = {account.funder_id for account, _debit, _credit in lines}
    if len(funders) != 1:
        raise LedgerError(_("An entry posts to the accounts of one funder; split it by funder."))
    return lines


def ledger_post(*, kind: str, reference: str, business_date: datetime.date, postings: list[Posting], loan=None,
                memo: str = "", product=None, actor=None, reverses: JournalEntry | None = None,
                new_reference: bool = False) -> JournalEntry:
    """Post one balanced entry (idempotent by ``reference``: posting it again returns the entry
    already written and writes nothing). Call it in the transaction of the event it records.

    ``product`` defaults to the loan's product (an aggregated entry without a loan names it).

    Checked first, then written in the caller's transaction (one if there is none): the entry's
    insert skips a reference already taken (``servicing.fastpath.journal_entry_insert``, ON
    CONFLICT DO NOTHING, no savepoint) — the unique reference decides between a first posting and
    a replay (then the entry already written is returned), with no read before it. A replay whose
    postings no longer check (a re-run computing nothing left to post) returns the entry too.

    ``new_reference=True``: the caller knows no entry can have this reference yet (it names a
    loan booked in this very transaction); should one exist, that is an error, never a replay."""
    if not reference:
        raise LedgerError(_("A journal entry needs a reference."))
    try:
        if kind not in EntryKind.values:
            raise LedgerError(_("There is no journal entry kind %(kind)s.") % {"kind": kind})
        lines = _checked_lines(postings)
    except LedgerError:
        existing = JournalEntry.objects.filter(reference=reference).first()
        if existing is None:
            raise
        return existing
    if product is None and loan is not None:
        product = loan.product_version.product
    entry = JournalEntry(
        reference=reference, kind=kind, business_date=business_date, funder_id=lines[0][0].funder_id,
        product=product, loan=loan, memo=memo[:255], reverses=reverses,
        actor=actor if getattr(actor, "pk", None) else None,
    )
    journal_lines = [JournalLine(entry=entry, account=account, debit=debit, credit=credit)
                     for account, debit, credit in lines]
    with transaction.atomic(savepoint=False):
        # the unique reference decides: a replay, or a concurrent posting of it, inserts nothing
        # (PostgreSQL: the entry and its lines in one statement, the lines only with the entry)
        if not (journal_entry_with_lines_insert(entry, journal_lines) if fused() else journal_entry_insert(entry)):
            existing = None if new_reference else JournalEntry.objects.filter(reference=reference).first()
            if existing is None:
                raise LedgerError(_("Entry %(reference)s could not be written.") % {"reference": reference})
            return existing
        if not fused():
            JOURNAL_LINES.insert_many(journal_lines)
    return entry


@transaction.atomic
def ledger_reverse(*, entry: JournalEntry, reference: str, business_date: datetime.date, memo: str = "",
                   actor=None) -> JournalEntry:
    """Reverse ``entry`` with a new entry swapping every debit and credit (the journal is
    append-only: this is the only correction). Idempotent by ``reference``; an entry is reversed
    once. The caller adjusts the loan's sub-ledger in the same transaction."""
    existing = JournalEntry.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise LedgerError(_("Entry %(reference)s has been reversed already.") % {"reference": entry.reference})
    if business_date < entry.business_date:
        raise LedgerError(_("A reversal cannot be dated before the entry it reverses (%(date)s).")
                          % {"date": entry.business_date.isoformat()})
    postings = [Posting(account=line.account, debit=line.credit, credit=line.debit)
                for line in entry.lines.select_related("account")]
    return ledger_post(kind=EntryKind.REVERSAL, reference=reference, business_date=business_date, postings=postings,
                       loan=entry.loan, memo=memo or _("Reversal of %(reference)s") % {"reference": entry.reference},
                       product=entry.product, actor=actor, reverses=entry)


# --- aggregated accruals -------------------------------------------------------------------------

# What an aggregated accrual debits and credits, by entry kind.
ACCRUAL_ACCOUNTS = {
    EntryKind.ACCRUAL: (AccountKind.INTEREST_RECEIVABLE, AccountKind.INTEREST_INCOME),
    EntryKind.PENALTY: (AccountKind.PENALTY_RECEIVABLE, AccountKind.PENALTY_INCOME),
}


@transaction.atomic
def ledger_accrue_aggregate(*, business_date: datetime.date, kind: str, totals: dict, chunk: str = "",
                            actor=None) -> list[JournalEntry]:
    """Post the day's accruals as one entry per funder × product (``loan`` empty), not one per
    loan: ``totals`` is ``{(funder, product): amount}`` — what the close just added, set-based, to
    the loan parts' ``interest_receivable`` (``kind="accrual"``) or ``penalty_receivable``
    (``kind="penalty"``) in this same transaction. ``chunk`` names the slice of loans of a close
    fanned out over workers (its own entries, so each chunk commits its sub-ledger and its general
    ledger together). Idempotent: the reference is ``<kind>/<date>/<funder>/<product>[/<chunk>]``,
    so a re-run of a chunk posts nothing twice. Zero totals post nothing."""
    if kind not in ACCRUAL_ACCOUNTS:
        raise LedgerError(_("There is no journal entry kind %(kind)s.") % {"kind": kind})
    debit_kind, credit_kind = ACCRUAL_ACCOUNTS[kind]
    entries = []
    for (funder, product), amount in sorted(totals.items(), key=lambda item: (item[0][0].pk, item[0][1].pk)):
        amount = quantize_fen(to_decimal(amount))
        if amount == ZERO:
            continue
        chart = funder_chart(funder=funder)
        debit, credit = (chart[debit_kind], chart[credit_kind]) if amount > 0 else (chart[credit_kind],
                                                                                    chart[debit_kind])
        reference = "/".join(filter(None, [kind, business_date.isoformat(), funder.code, product.code, chunk]))
        entries.append(ledger_post(
            kind=kind, reference=reference, business_date=business_date, product=product, actor=actor,
            memo=_("Accruals of %(date)s") % {"date": business_date.isoformat()},
            postings=[Posting(debit, debit=abs(amount)), Posting(credit, credit=abs(amount))]))
    return entries


# --- balances and reconciliation ------------------------------------------------------------------


def account_balance(*, account: Account) -> Decimal:
    """The balance on the account's normal side (a receivable's debit balance is positive)."""
    totals = JournalLine.objects.filter(account=account).aggregate(debit=Sum("debit"), credit=Sum("credit"))
    debit, credit = totals["debit"] or ZERO, totals["credit"] or ZERO
    return debit - credit if account.normal_side == NormalSide.DEBIT else credit - debit


# Control account kind → the LoanPart balance it must equal, summed over the funder's parts.
RECONCILED_KINDS = {
    AccountKind.PRINCIPAL_RECEIVABLE: "principal_outstanding",
    AccountKind.INTEREST_RECEIVABLE: "interest_receivable",
    AccountKind.PENALTY_RECEIVABLE: "penalty_receivable",
    AccountKind.FEE_RECEIVABLE: "fee_receivable",
}
_LOAN_BALANCES = ("principal_outstanding", "interest_receivable", "penalty_receivable", "fee_receivable")


@dataclass(frozen=True)
class Difference:
    """One thing the check found out of line: what, where, and the two figures compared."""

    check: str  # "entry_balance" | "control_account" | "loan_parts"
    subject: str  # the entry reference, account number or loan number
    expected: Decimal
    actual: Decimal
    detail: dict = field(default_factory=dict)

    def __str__(self):
        return f"{self.check} {self.subject}: expected {self.expected}, found {self.actual}"


def _unbalanced_entries() -> list[Difference]:
    rows = (JournalEntry.objects.annotate(debits=Sum("lines__debit"), credits=Sum("lines__credit"))
            .filter(Q(debits__isnull=True) | ~Q(debits=F("credits")))
            .values_list("reference", "debits", "credits").order_by("id"))
    return [Difference("entry_balance", reference, debits or ZERO, credits or ZERO)
            for reference, debits, credits in rows]


def _control_accounts() -> list[Difference]:
    sums = {AccountKind(kind): f"Sum_{name}" for kind, name in RECONCILED_KINDS.items()}
    subledger = {row["funder_id"]: row for row in LoanPart.objects.values("funder_id").annotate(
        **{sums[kind]: Sum(name) for kind, name in RECONCILED_KINDS.items()})}
    control = {}
    for row in (JournalLine.objects.filter(account__kind__in=list(RECONCILED_KINDS))
                .values("account__funder_id", "account__kind", "account__number")
                .annotate(debit=Sum("debit"), credit=Sum("credit"))):
        control[(row["account__funder_id"], row["account__kind"])] = (row["account__number"],
                                                                      row["debit"] - row["credit"])
    differences = []
    funder_codes = dict(Funder.objects.values_list("id", "code"))
    for funder_id in sorted(set(subledger) | {funder for funder, _kind in control}):
        for kind in RECONCILED_KINDS:
            expected = (subledger.get(funder_id) or {}).get(sums[kind]) or ZERO
            number, actual = control.get((funder_id, kind), (None, ZERO))
            if expected != actual:
                subject = number or f"{funder_codes.get(funder_id, funder_id)}-{ACCOUNT_NUMBERS[kind][0]}"
                differences.append(Difference("control_account", subject, expected, actual,
                                              {"funder": funder_codes.get(funder_id), "kind": str(kind)}))
    return differences


def _loans_against_parts() -> list[Difference]:
    sums = {f"parts_{name}": Sum(f"parts__{name}") for name in _LOAN_BALANCES}
    mismatch = Q()
    for name in _LOAN_BALANCES:
        mismatch |= Q(**{f"parts_{name}__isnull": True}) | ~Q(**{name: F(f"parts_{name}")})
    rows = (Loan.objects.annotate(**sums).filter(mismatch)
            .values("number", *_LOAN_BALANCES, *sums).order_by("id"))
    differences = []
    for row in rows:
        for name in _LOAN_BALANCES:
            if row[name] != (row[f"parts_{name}"] or ZERO):
                differences.append(Difference("loan_parts", row["number"], row[name], row[f"parts_{name}"] or ZERO,
                                              {"balance": name}))
    return differences


def reconcile() -> list[Difference]:
    """Prove the books: every entry balances; each loan's balances equal the sum of its funding
    parts'; per funder, each control account (principal / interest / penalty / fee receivable)
    equals Σ of its loan parts' balances. Returns the differences (empty when all agree)."""
    return [*_unbalanced_entries(), *_loans_against_parts(), *_control_accounts()]
