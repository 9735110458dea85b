"""The drawdown's worker rounds written with fused statements (``servicing.fastpath``: a row and
its state log, an event, a move and its log, a loan with its parts, schedule and log, a journal
entry with its lines) leave exactly the rows the ORM path leaves — each service run both ways on
twin drawdowns and the rows compared — and the per-process caches follow what they cache."""

import datetime
import json
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from creditfactory.core.rows import prepared_text
from creditfactory.core.state import transitions_for
from servicing import fastpath
from servicing.models import (
    BusinessDate, Disbursement, DisbursementEvent, DrawdownFunding, Installment, JournalEntry, JournalLine, Loan,
    LoanPart, PaymentChannel, SandboxBankTransfer,
)
from servicing.services import ledger
from servicing.services.calendar import business_date, business_date_set
from tests.servicing.funding_factories import english  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

D = Decimal
DAY = datetime.date(2026, 12, 4)


@pytest.fixture
def orm_path(monkeypatch):
    """Run the services on their ORM path (as on a database without data-modifying CTEs)."""
    def use_orm():
        for target in ("servicing.fastpath.fused", "servicing.fastpath.rounds.fused", "servicing.services.funding.fused",
                       "servicing.services.ledger.fused"):
            monkeypatch.setattr(target, lambda: False)
    return use_orm


def _values(instance, *skip) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields
            if f.attname not in {"id", *skip}}


def _log(obj, *numbers) -> list:
    """``obj``'s state log, oldest first (``numbers``: replaced by N in the reasons)."""
    return [(t.content_type_id, t.field, t.from_state, t.to_state, t.actor_id, t.actor_label,
             _same_text(str(t.reason), *numbers)) for t in reversed(list(transitions_for(obj)))]


def _same_text(value, *numbers) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    for number in numbers:
        text = text.replace(number, "N")
    return text


# --- the loan -------------------------------------------------------------------------------------


def _book(drawdown, *, locked: bool):
    from servicing.services.loans import loan_book

    funding = list(drawdown.funding.select_related("funder"))
    return loan_book(drawdown=drawdown, drawdown_locked=locked, funding=funding)


def _loan_rows(loan):
    loan = Loan.objects.select_related("drawdown").get(pk=loan.pk)
    skip = ("number", "drawdown_id", "credit_line_id", "applicant_id", "created_at", "updated_at")
    return {
        "loan": _values(loan, *skip),
        "parts": [_values(p, "loan_id") for p in LoanPart.objects.filter(loan=loan).order_by("id")],
        "schedule": [_values(i, "loan_id") for i in Installment.objects.filter(loan=loan).order_by("number")],
        "log": _log(loan, loan.drawdown.number),
        "entries": [(_values(e, "reference", "memo", "loan_id", "recorded_at"),
                     (e.reference.replace(loan.number, "N"), e.memo.replace(loan.number, "N")),
                     [(li.account_id, li.debit, li.credit) for li in JournalLine.objects.filter(entry=e).order_by("id")])
                    for e in JournalEntry.objects.filter(loan=loan).order_by("id")],
    }


def test_a_loan_booked_in_one_statement_is_the_loan_the_orm_books(orm_path):
    from tests.factories import make_product
    from tests.servicing.factories import make_drawdown, make_funder, make_line

    business_date_set(date=DAY, reason="test")
    product = make_product("COLEND", upfront_fee_percent=D("1.5"))
    bank, other = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    twins = [make_drawdown(line=make_line(product=product, sequence=sequence), funders=[(bank, D(30)), (other, D(70))],
                           value_date=DAY) for sequence in ("123", "124")]
    with CaptureQueriesContext(connection) as fused_statements:
        fused = _book(twins[0], locked=True)
    assert fused.number == f"LN20261204{fused.pk:08d}" == Loan.objects.get(pk=fused.pk).number
    orm_path()
    orm = _book(twins[1], locked=True)
    assert _loan_rows(fused) == _loan_rows(orm)
    assert len(_loan_rows(fused)["entries"]) == 4 and len(_loan_rows(fused)["schedule"]) == 12
    # the loan, its two parts, twelve installments and its log entry: one statement; four journal
    # entries with their lines: one each (plus the two charts' reads and creation)
    inserts = [sql for sql in (prepared_text(q["sql"]) for q in fused_statements.captured_queries)
               if "servicing_loan\"" in sql]
    assert len(inserts) == 1 and "nextval" in inserts[0]


def test_a_loan_number_past_eight_digits_is_the_id_as_it_is(orm_path):
    from servicing.services.loans import loan_number
    from tests.servicing.factories import make_drawdown, make_line

    business_date_set(date=DAY, reason="test")
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('servicing_loan', 'id'), "
                       "greatest(123456788, (SELECT coalesce(max(id), 1) FROM servicing_loan)))")
    loan = _book(make_drawdown(line=make_line(), value_date=DAY), locked=True)
    assert loan.pk >= 123456789 and loan.number == loan_number(loan) == Loan.objects.get(pk=loan.pk).number


# --- the disbursement -----------------------------------------------------------------------------


def _disbursement_rows(drawdown):
    disbursement = Disbursement.objects.get(drawdown=drawdown)
    skip = ("drawdown_id", "reference", "channel_reference", "created_at", "updated_at", "sent_at", "confirmed_at")
    return {
        "disbursement": _values(disbursement, *skip),
        "times": (disbursement.sent_at is None, disbursement.confirmed_at is None),
        "events": [(e.kind, e.result, _same_text(e.payload, drawdown.number), e.duplicate)
                   for e in DisbursementEvent.objects.filter(disbursement=disbursement).order_by("id")],
        "log": _log(disbursement),
    }


@pytest.mark.parametrize("account", ["6222021234567890128", "6222021234560001"])  # paid; refused by the bank
def test_a_disbursement_sent_and_confirmed_in_fused_statements_is_what_the_orm_writes(
        account, orm_path, settings, django_capture_on_commit_callbacks):
    from servicing.services.payments import disbursement_send
    from tests.servicing.funding_factories import make_channel, make_drawdown

    settings.SERVICING_DISBURSEMENT_SETTLED_TASK = "tests.nothing"  # not registered: only logged
    make_channel(cost_per_transaction=D("1.50"))
    twins = [make_drawdown(status="disbursing", bank_account=account) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        disbursement_send(drawdown=twins[0])
    orm_path()
    with django_capture_on_commit_callbacks(execute=True):
        disbursement_send(drawdown=twins[1])
    fused, orm = _disbursement_rows(twins[0]), _disbursement_rows(twins[1])
    assert fused == orm
    assert fused["disbursement"]["status"] == ("paid" if account.endswith("0128") else "failed")
    assert [entry[3] for entry in fused["log"]] == ["prepared", "sent", fused["disbursement"]["status"]]
    assert [e[0] for e in fused["events"]] == ["sent", "callback"]


def test_a_second_send_finds_the_disbursement_and_writes_nothing(django_capture_on_commit_callbacks):
    from servicing.services.payments import disbursement_send
    from tests.servicing.funding_factories import make_channel, make_drawdown

    make_channel()
    drawdown = make_drawdown(status="disbursing", bank_account="6222021234560002")  # never calls back
    first = disbursement_send(drawdown=drawdown)
    again = disbursement_send(drawdown=drawdown)
    assert (again.pk, again.status) == (first.pk, "sent")
    assert [t.to_state for t in transitions_for(first)][::-1] == ["prepared", "sent"]
    assert DisbursementEvent.objects.filter(disbursement=first).count() == 1
    assert SandboxBankTransfer.objects.get().received == 1


def test_the_sandbox_banks_one_statement_insert_dedupes_by_reference():
    from tests.servicing.funding_factories import make_channel

    channel = make_channel()

    def transfer(outcome="paid"):
        return SandboxBankTransfer(channel=channel, reference="PAY-1", bank_reference="SBX-PAY-1", amount=D("10.00"),
                                   account_suffix="0128", outcome=outcome, calls_back=True)

    fast = transfer()
    assert fastpath.sandbox_transfer_insert(fast) is True and fast.pk is not None
    orm = SandboxBankTransfer.objects.create(channel=channel, reference="PAY-2", bank_reference="SBX-PAY-2",
                                             amount=D("10.00"), account_suffix="0128", outcome="paid", calls_back=True)
    assert _values(SandboxBankTransfer.objects.get(pk=fast.pk), "reference", "bank_reference", "created_at") == _values(
        orm, "reference", "bank_reference", "created_at")
    again = transfer(outcome="failed")
    assert fastpath.sandbox_transfer_insert(again) is False and again.pk is None
    assert SandboxBankTransfer.objects.get(reference="PAY-1").outcome == "paid"
    assert fastpath.sandbox_callback_sent(transfer_id=fast.pk, at=orm.created_at) is True
    assert fastpath.sandbox_callback_sent(transfer_id=fast.pk, at=None) is False  # set once
    assert SandboxBankTransfer.objects.get(pk=fast.pk).callback_sent_at == orm.created_at


@pytest.mark.parametrize("setting, active, expected", [
    ("beta", {"alpha", "beta"}, "beta"),
    ("beta", {"alpha"}, "alpha"),     # the named one inactive: the first active by code
    ("", {"beta", "alpha"}, "alpha"),
    ("gamma", {"beta"}, "beta"),
    ("beta", set(), None),
])
def test_the_channel_read_in_one_statement_is_the_one_the_orm_reads(setting, active, expected):
    from tests.servicing.funding_factories import make_channel

    for code in ("alpha", "beta"):
        make_channel(code, active=code in active, cost_per_transaction=D("0.50"))
    channel = fastpath.payment_channel_active(setting)
    channels = PaymentChannel.objects.filter(active=True)
    orm = (channels.filter(code=setting).first() if setting else None) or channels.order_by("code").first()
    assert (channel.code if channel else None) == expected == (orm.code if orm else None)
    if channel is not None:
        assert (channel.pk, _values(channel)) == (orm.pk, _values(orm))


# --- routing --------------------------------------------------------------------------------------


def _route(drawdown):
    from servicing.services.funding import funding_route

    return funding_route(drawdown=drawdown)


def test_routing_in_fewer_statements_writes_what_the_orm_writes(orm_path, english):
    from tests.servicing.funding_factories import make_drawdown, make_funder, make_pair, make_rule

    own = make_funder("own", daily_quota="100000.00")
    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    make_rule("pair first", pair=make_pair("ab", [(a, D(40)), (b, D(60))]), priority=1)
    make_rule("own", funder=own, priority=2)
    twins = [make_drawdown() for _ in range(2)]
    _route(twins[0])
    orm_path()
    _route(twins[1])

    def rows(drawdown):
        drawdown.refresh_from_db()
        parts = DrawdownFunding.objects.filter(drawdown=drawdown).order_by("funder__code")
        routing = {k: v for k, v in drawdown.routing.items() if k != "at"}
        return ([_values(p, "drawdown_id") for p in parts], [_log(p) for p in parts], routing)

    assert rows(twins[0]) == rows(twins[1])
    assert len(rows(twins[0])[0]) == 2 and rows(twins[0])[2]["pair"] == "ab"


def test_the_routing_read_names_the_business_date_and_the_borrowers_province():
    from tests.servicing.funding_factories import make_drawdown, make_funder

    drawdown = make_drawdown()

    def read():
        return fastpath.routing_state_of_business_date(applicant_id=drawdown.applicant_id, drawdown_id=drawdown.pk)

    BusinessDate.objects.all().delete()
    assert read() is None  # no funder, no date
    own = make_funder("own")
    assert read() is None  # no date yet
    day = business_date()  # sets it
    assert read() == (day, drawdown.applicant.province, fastpath.routing_state(day=day), False)
    DrawdownFunding.objects.create(drawdown=drawdown, funder=own, share_percent=D(100), principal=drawdown.amount,
                                   rate_percent=D("4.5"), lead=True, business_date=day, hold_status="released")
    assert read()[3] is True
    business_date_set(date=day + datetime.timedelta(days=1), reason="test")
    assert read()[0] == day + datetime.timedelta(days=1) == fastpath.business_date_value()
    BusinessDate.objects.all().delete()
    assert fastpath.business_date_value() is None


def test_a_drawdowns_funding_read_in_one_statement_is_what_the_orm_reads():
    from tests.servicing.factories import make_drawdown, make_funder, make_line

    business_date_set(date=DAY, reason="test")
    funders = [(make_funder("zeta", kind="co_lender"), D(30)), (make_funder("alpha", kind="co_lender"), D(30)),
               (make_funder("mid", kind="co_lender"), D(40))]
    drawdown = make_drawdown(line=make_line(), funders=funders)
    orm = list(drawdown.funding.select_related("funder"))
    read = fastpath.drawdown_funding(drawdown.pk)
    assert [(_values(r), _values(r.funder)) for r in read] == [(_values(r), _values(r.funder)) for r in orm]
    assert [r.funder.code for r in read] == ["mid", "alpha", "zeta"]
    assert fastpath.drawdown_funding(drawdown.pk + 1000) == []


# --- the ledger -------------------------------------------------------------------------------------


def test_an_entry_and_its_lines_in_one_statement_are_what_the_two_write():
    from tests.servicing.factories import make_funder

    chart = ledger.funder_chart(funder=make_funder())
    accounts = list(chart.values())[:2]

    def entry(reference, memo="m"):
        return JournalEntry(reference=reference, kind="disbursement", business_date=DAY,
                            funder_id=accounts[0].funder_id, memo=memo)

    def lines(of):
        return [JournalLine(entry=of, account=accounts[0], debit=D("1.00"), credit=D("0.00")),
                JournalLine(entry=of, account=accounts[1], debit=D("0.00"), credit=D("1.00"))]

    fast = entry("fast")
    assert fastpath.journal_entry_with_lines_insert(fast, lines(fast)) is True and fast.pk is not None
    orm = entry("orm")
    assert fastpath.journal_entry_insert(orm)
    fastpath.JOURNAL_LINES.insert_many(lines(orm))
    assert _values(JournalEntry.objects.get(pk=fast.pk), "reference", "recorded_at") == _values(
        JournalEntry.objects.get(pk=orm.pk), "reference", "recorded_at")
    assert [_values(li, "entry_id") for li in JournalLine.objects.filter(entry=fast).order_by("id")] == [
        _values(li, "entry_id") for li in JournalLine.objects.filter(entry=orm).order_by("id")]
    again = entry("fast", memo="again")
    assert fastpath.journal_entry_with_lines_insert(again, lines(again)) is False and again.pk is None
    assert JournalLine.objects.filter(entry__reference="fast").count() == 2
    assert JournalEntry.objects.get(reference="fast").memo == "m"


@pytest.mark.django_db(transaction=True)
def test_a_funders_chart_is_read_once_per_process_after_its_transaction_commits():
    from tests.servicing.factories import make_funder

    ledger._CHARTS.clear()
    funder = make_funder("chart-cache")
    with transaction.atomic():
        created = ledger.funder_chart(funder=funder)  # created by this transaction: not kept
        again = ledger.funder_chart(funder=funder)  # seen whole: kept once this commits
        assert ledger._CHARTS == {}
    assert {k: a.pk for k, a in created.items()} == {k: a.pk for k, a in again.items()}
    with CaptureQueriesContext(connection) as queries:
        cached = ledger.funder_chart(funder=funder)
    assert len(queries) == 0 and {k: a.pk for k, a in cached.items()} == {k: a.pk for k, a in created.items()}

    other = make_funder("chart-rolled-back")
    with pytest.raises(RuntimeError), transaction.atomic():
        ledger.funder_chart(funder=other)
        ledger.funder_chart(funder=other)
        raise RuntimeError("rolled back")
    assert all(key[2] != other.pk for key in ledger._CHARTS)
    with CaptureQueriesContext(connection) as queries:
        fresh = ledger.funder_chart(funder=other)  # created again, for real
    assert len(queries) > 0 and len(fresh) == len(created)
    assert all(a.pk is not None for a in fresh.values())
