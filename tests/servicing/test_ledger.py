"""The general ledger: charts per funder, balanced and idempotent postings, reversal, the
database's own guards (append-only, balance at commit) and split_by_share."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from servicing.models import Account, JournalEntry, JournalLine
from servicing.services.ledger import (
    LedgerError,
    Posting,
    account_balance,
    funder_account,
    funder_chart,
    ledger_post,
    ledger_reverse,
    reconcile,
    split_by_share,
)
from tests.servicing.factories import make_funder
from creditfactory.core.rows import prepared_text

DAY = datetime.date(2026, 12, 4)


def _accounts(funder):
    return funder_account(funder=funder, kind="principal_receivable"), funder_account(funder=funder, kind="settlement")


@pytest.mark.django_db
def test_a_funders_chart_is_created_once_with_numbers_and_normal_sides():
    funder = make_funder("bank-a", kind="facilitation")
    chart = funder_chart(funder=funder)
    assert funder_chart(funder=funder) == chart
    assert Account.objects.filter(funder=funder).count() == 10
    assert {(a.kind, a.number, a.normal_side) for a in chart.values()} >= {
        ("principal_receivable", "bank-a-1301", "debit"), ("settlement", "bank-a-1002", "debit"),
        ("interest_income", "bank-a-6011", "credit"), ("suspense", "bank-a-2241", "credit"),
        ("write_off", "bank-a-6701", "debit")}
    with pytest.raises(LedgerError):
        funder_account(funder=funder, kind="nonsense")


@pytest.mark.django_db
def test_posting_writes_a_balanced_entry_once_per_reference():
    funder = make_funder()
    receivable, settlement = _accounts(funder)
    postings = [Posting(receivable, debit=Decimal("20000")), Posting(settlement, credit=Decimal("20000.00"))]
    entry = ledger_post(kind="disbursement", reference="LN1/disbursement/own", business_date=DAY, postings=postings,
                        memo="test")
    again = ledger_post(kind="disbursement", reference="LN1/disbursement/own", business_date=DAY, postings=postings)
    assert again == entry
    assert JournalEntry.objects.count() == 1 and JournalLine.objects.count() == 2
    assert (entry.funder, entry.business_date, entry.kind) == (funder, DAY, "disbursement")
    assert [(line.account.number, line.debit, line.credit) for line in entry.lines.all()] == [
        ("own-1301", Decimal("20000.00"), Decimal("0.00")), ("own-1002", Decimal("0.00"), Decimal("20000.00"))]
    assert account_balance(account=receivable) == Decimal("20000.00")
    assert account_balance(account=settlement) == Decimal("-20000.00")


@pytest.mark.django_db
def test_a_replay_returns_the_entry_and_leaves_the_transaction_usable_and_a_first_posting_reads_nothing_first():
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    funder = make_funder()
    receivable, settlement = _accounts(funder)
    postings = [Posting(receivable, debit=Decimal("10.00")), Posting(settlement, credit=Decimal("10.00"))]
    with CaptureQueriesContext(connection) as queries:
        entry = ledger_post(kind="disbursement", reference="LN2/disbursement/own", business_date=DAY,
                            postings=postings)
    statements = [prepared_text(q["sql"]).split()[0].upper() for q in queries.captured_queries]
    assert "SELECT" not in statements, statements  # the unique reference decides, no read first
    with transaction.atomic():
        assert ledger_post(kind="disbursement", reference="LN2/disbursement/own", business_date=DAY,
                           postings=postings) == entry
        # A re-run that computes nothing left to post gets the entry too, not an error.
        assert ledger_post(kind="disbursement", reference="LN2/disbursement/own", business_date=DAY,
                           postings=[]) == entry
        assert JournalEntry.objects.count() == 1  # the transaction is still usable after the replay
    assert JournalLine.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("postings, message", [
    (lambda r, s: [Posting(r, debit=Decimal("100.00")), Posting(s, credit=Decimal("99.99"))], "does not balance"),
    (lambda r, s: [Posting(r, debit=Decimal("100.00"))], "at least two lines"),
    (lambda r, s: [], "at least two lines"),
    (lambda r, s: [Posting(r, debit=Decimal("1"), credit=Decimal("1")), Posting(s, credit=Decimal("0"))],
     "one positive amount"),
    (lambda r, s: [Posting(r, debit=Decimal("-5")), Posting(s, credit=Decimal("-5"))], "one positive amount"),
])
def test_an_unbalanced_or_malformed_entry_is_refused_before_anything_is_written(postings, message):
    receivable, settlement = _accounts(make_funder())
    with pytest.raises(LedgerError, match=message):
        ledger_post(kind="disbursement", reference="bad", business_date=DAY, postings=postings(receivable, settlement))
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


@pytest.mark.django_db
def test_an_entry_posts_to_one_funders_books():
    receivable, _settlement = _accounts(make_funder("a"))
    _receivable, other_settlement = _accounts(make_funder("b"))
    with pytest.raises(LedgerError, match="one funder"):
        ledger_post(kind="disbursement", reference="x", business_date=DAY,
                    postings=[Posting(receivable, debit=Decimal(5)), Posting(other_settlement, credit=Decimal(5))])
    assert not JournalEntry.objects.exists()


@pytest.mark.django_db
def test_a_reversal_swaps_every_line_once():
    funder = make_funder()
    receivable, settlement = _accounts(funder)
    entry = ledger_post(kind="disbursement", reference="LN1/d", business_date=DAY,
                        postings=[Posting(receivable, debit=Decimal("300.10")), Posting(settlement, credit=Decimal("300.10"))])
    reversal = ledger_reverse(entry=entry, reference="LN1/d/reversal", business_date=DAY + datetime.timedelta(days=1))
    assert ledger_reverse(entry=entry, reference="LN1/d/reversal", business_date=DAY) == reversal
    with pytest.raises(LedgerError, match="reversed already"):
        ledger_reverse(entry=entry, reference="LN1/d/reversal-2", business_date=DAY)
    assert (reversal.kind, reversal.reverses) == ("reversal", entry)
    assert [(line.account.kind, line.debit, line.credit) for line in reversal.lines.all()] == [
        ("principal_receivable", Decimal("0.00"), Decimal("300.10")), ("settlement", Decimal("300.10"), Decimal("0.00"))]
    assert account_balance(account=receivable) == account_balance(account=settlement) == Decimal("0.00")
    assert JournalEntry.objects.count() == 2


@pytest.mark.django_db
def test_a_reversal_cannot_be_dated_before_its_entry():
    receivable, settlement = _accounts(make_funder())
    entry = ledger_post(kind="disbursement", reference="e", business_date=DAY,
                        postings=[Posting(receivable, debit=Decimal(1)), Posting(settlement, credit=Decimal(1))])
    with pytest.raises(LedgerError):
        ledger_reverse(entry=entry, reference="r", business_date=DAY - datetime.timedelta(days=1))
    assert JournalEntry.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("statement", [
    "UPDATE servicing_journalline SET debit = debit + 1",
    "DELETE FROM servicing_journalline",
    "UPDATE servicing_journalentry SET memo = 'changed'",
    "DELETE FROM servicing_journalentry",
])
def test_the_database_refuses_to_change_or_delete_journal_rows(statement):
    receivable, settlement = _accounts(make_funder())
    ledger_post(kind="disbursement", reference="e", business_date=DAY,
                postings=[Posting(receivable, debit=Decimal(7)), Posting(settlement, credit=Decimal(7))])
    with pytest.raises(InternalError, match="Cannot"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert [(line.debit, line.credit) for line in JournalLine.objects.order_by("id")] == [
        (Decimal("7.00"), Decimal("0.00")), (Decimal("0.00"), Decimal("7.00"))]
    assert JournalEntry.objects.get().memo == ""


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_unbalanced_entry_at_commit():
    receivable, settlement = _accounts(make_funder())
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        entry = JournalEntry.objects.create(reference="raw", kind="disbursement", business_date=DAY,
                                            funder=receivable.funder)
        JournalLine.objects.create(entry=entry, account=receivable, debit=Decimal("10.00"))
        JournalLine.objects.create(entry=entry, account=settlement, credit=Decimal("9.99"))
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


@pytest.mark.django_db
def test_reconcile_finds_nothing_in_balanced_books_and_names_a_stray_control_posting():
    funder = make_funder()
    receivable, settlement = _accounts(funder)
    assert reconcile() == []
    ledger_post(kind="disbursement", reference="stray", business_date=DAY,
                postings=[Posting(receivable, debit=Decimal("12.34")), Posting(settlement, credit=Decimal("12.34"))])
    [difference] = reconcile()
    assert (difference.check, difference.subject, difference.expected, difference.actual) == (
        "control_account", "own-1301", Decimal("0"), Decimal("12.34"))


# --- split_by_share -------------------------------------------------------------------------------


def test_a_30_70_split_gives_the_rounding_rest_to_the_lead():
    assert split_by_share(amount=Decimal("20000.00"), shares=[("a", Decimal(30)), ("b", Decimal(70))]) == {
        "a": Decimal("6000.00"), "b": Decimal("14000.00")}
    # 0.05 × 30 % = 0.015 → 0.02 (half up); the lead (70 %) takes 0.03, not its rounded 0.04.
    assert split_by_share(amount=Decimal("0.05"), shares=[("a", Decimal(30)), ("b", Decimal(70))]) == {
        "a": Decimal("0.02"), "b": Decimal("0.03")}
    # Equal thirds: the first of the largest shares is the lead.
    assert split_by_share(amount=Decimal("100.00"), shares=[("x", Decimal("33.333334")), ("y", Decimal("33.333333")),
                                                            ("z", Decimal("33.333333"))]) == {
        "x": Decimal("33.34"), "y": Decimal("33.33"), "z": Decimal("33.33")}


@pytest.mark.parametrize("shares", [[], [("a", Decimal(30)), ("b", Decimal(60))], [("a", Decimal(0)), ("b", Decimal(100))],
                                    [("a", Decimal(50)), ("a", Decimal(50))]])
def test_split_by_share_refuses_shares_that_do_not_make_a_whole(shares):
    with pytest.raises(LedgerError):
        split_by_share(amount=Decimal("10.00"), shares=shares)


@st.composite
def _shares(draw):
    count = draw(st.integers(min_value=1, max_value=5))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=9999), min_size=count - 1, max_size=count - 1,
                                unique=True)))
    bounds = [0, *cuts, 10000]
    return [(f"f{i}", Decimal(bounds[i + 1] - bounds[i]) / 100) for i in range(count)]


@settings(max_examples=300, deadline=None)
@given(amount=st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("100000000"), places=2),
       shares=_shares())
def test_split_by_share_parts_always_sum_exactly_and_only_the_lead_differs_from_its_rounded_share(amount, shares):
    parts = split_by_share(amount=amount, shares=shares)
    assert list(parts) == [key for key, _percent in shares]
    assert sum(parts.values()) == amount
    assert all(part == part.quantize(Decimal("0.01")) for part in parts.values())
    lead = max(range(len(shares)), key=lambda i: (shares[i][1], -i))
    for i, (key, percent) in enumerate(shares):
        rounded = (amount * percent / 100).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        if i != lead:
            assert parts[key] == rounded
        else:
            assert abs(parts[key] - rounded) <= Decimal("0.01") * len(shares)
