"""The servicing app's prebuilt statements (``servicing.fastpath``) read what the ORM reads, and
routing's cached configuration follows every change of it."""

from datetime import timedelta
from decimal import Decimal

import pytest

from products.models import LoanProduct
from servicing.fastpath import routing_state
from servicing.locks import _funder_quota_take_orm, funder_quota_take
from servicing.models import CoLendingShare, Funder, FunderQuotaDay, RoutingRule
from servicing.services import business_date
from servicing.services.funding import funding_route
from tests.factories import make_product
from tests.servicing.funding_factories import english, make_drawdown, make_funder, make_pair, make_rule  # noqa: F401

pytestmark = pytest.mark.django_db


def _fingerprint():
    return routing_state(day=business_date())[0]


def test_routing_state_reads_each_funders_total_and_day_quota_used():
    day = business_date()
    own = make_funder("own", total_quota="100000.00", daily_quota="50000.00")
    bank = make_funder("bank")
    assert funder_quota_take(funder_id=own.pk, day=day, amount=Decimal("1234.56"))
    fingerprint, total_used, day_used = routing_state(day=day)
    assert len(fingerprint) == 32
    assert total_used == {own.pk: Decimal("1234.56"), bank.pk: Decimal("0.00")}
    assert day_used == {own.pk: Decimal("1234.56")}
    assert routing_state(day=day.replace(year=day.year + 1))[2] == {}


def test_no_funder_no_fingerprint():
    assert routing_state(day=business_date()) == (None, {}, {})


def test_the_fingerprint_changes_with_every_part_of_the_configuration_but_not_with_quota_used():
    product = LoanProduct.objects.filter(code="EDUCATION").first() or make_product("EDUCATION")
    own, bank = make_funder("own"), make_funder("bank")
    pair = make_pair("pair", [(own, "30"), (bank, "70")])
    rule = make_rule("Own", funder=own)
    seen = [_fingerprint()]

    def changed():
        seen.append(_fingerprint())
        return seen[-1] != seen[-2]

    assert funder_quota_take(funder_id=own.pk, day=business_date(), amount=Decimal("10.00"))
    assert not changed()
    RoutingRule.objects.filter(pk=rule.pk).update(amount_min=Decimal("5.00"))  # no save(): no updated_at
    assert changed()
    rule.products.add(product)
    assert changed()
    Funder.objects.filter(pk=bank.pk).update(active=False)
    assert changed()
    own.products.add(product)
    assert changed()
    CoLendingShare.objects.filter(pair=pair, funder=own).update(share_percent=Decimal("40"))
    assert changed()
    pair.active = False
    pair.save()
    assert changed()
    LoanProduct.objects.filter(pk=product.pk).update(code="EDUCATION2")
    assert changed()


def test_routing_follows_a_rule_changed_by_a_queryset_update(english):
    own, bank = make_funder("own", priority=10), make_funder("bank", priority=20)
    rule = make_rule("Own funds", funder=own, priority=1)
    make_rule("Bank", funder=bank, priority=2)
    first = funding_route(drawdown=make_drawdown())
    assert first.funder == own
    RoutingRule.objects.filter(pk=rule.pk).update(active=False)
    second = funding_route(drawdown=make_drawdown())
    assert second.funder == bank


def test_routing_reads_the_total_quota_used_afresh(english):
    own = make_funder("own", priority=10, total_quota="30000.00")
    bank = make_funder("bank", priority=20)
    make_rule("Own funds", funder=own, priority=1)
    make_rule("Bank", funder=bank, priority=2)
    assert funding_route(drawdown=make_drawdown(amount=Decimal("20000.00"))).funder == own
    outcome = funding_route(drawdown=make_drawdown(amount=Decimal("20000.00")))
    assert outcome.funder == bank
    # The own funds were skipped for their total quota (read afresh), not lost to a race.
    codes = [line["code"] for line in outcome.considered]
    assert "funder_total_quota" in codes and "funder_quota_taken" not in codes


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


@pytest.mark.django_db(transaction=True)
def test_the_prebuilt_reads_give_what_the_orm_gives():
    from django.db import transaction

    from servicing.fastpath import (
        CHANNEL_BY_CODE, DISBURSEMENT_OF_DRAWDOWN, DRAWDOWN_TO_CHECK, DRAWDOWN_TO_PAY, LOCKED_DISBURSEMENT,
        LOCKED_DRAWDOWN, SANDBOX_TRANSFER,
    )
    from servicing.models import Disbursement, Drawdown, PaymentChannel, SandboxBankTransfer
    from tests.servicing.funding_factories import make_channel

    drawdown = make_drawdown(reasons=[{"code": "x", "text": "为什么"}], routing={"funded": True})
    channel = make_channel()
    disbursement = Disbursement.objects.create(drawdown=drawdown, channel=channel, reference="PAY-1",
                                               amount=Decimal("20000.00"))
    transfer = SandboxBankTransfer.objects.create(channel=channel, reference="PAY-1", bank_reference="SBX-PAY-1",
                                                  amount=Decimal("20000.00"), account_suffix="0128", outcome="paid",
                                                  calls_back=True)
    with transaction.atomic():
        locked = LOCKED_DRAWDOWN.get(drawdown.pk)
        orm = Drawdown.objects.select_related("credit_line", "product_version__product", "partner").get(
            pk=drawdown.pk)
        assert _values(locked) == _values(orm)
        assert _values(locked.credit_line) == _values(orm.credit_line)
        assert _values(locked.product_version.product) == _values(orm.product_version.product)
        assert locked.partner is None and locked.bank_account == "6222021234567890128"
        checked = DRAWDOWN_TO_CHECK.get(drawdown.pk)
        orm_checked = Drawdown.objects.select_related("product_version").get(pk=drawdown.pk)
        assert _values(checked) == _values(orm_checked)
        assert _values(checked.product_version) == _values(orm_checked.product_version)
        assert DRAWDOWN_TO_CHECK.get(drawdown.pk + 1000) is None
        paid = DRAWDOWN_TO_PAY.get(drawdown.pk)
        assert _values(paid.applicant) == _values(Drawdown.objects.select_related("applicant").get(
            pk=drawdown.pk).applicant)
        assert paid.applicant.name == drawdown.applicant.name
        assert _values(DISBURSEMENT_OF_DRAWDOWN.get(drawdown.pk)) == _values(disbursement)
        assert DISBURSEMENT_OF_DRAWDOWN.get(drawdown.pk).channel.callback_secret == "test-secret-123"
        found = LOCKED_DISBURSEMENT.get("PAY-1")
        assert (found.pk, found.drawdown.pk, found.channel.code) == (disbursement.pk, drawdown.pk, "sandbox")
        assert LOCKED_DISBURSEMENT.get("PAY-unknown") is None
        assert _values(SANDBOX_TRANSFER.get("PAY-1")) == _values(SandboxBankTransfer.objects.get(pk=transfer.pk))
        assert _values(CHANNEL_BY_CODE.get("sandbox")) == _values(PaymentChannel.objects.get(code="sandbox"))
        assert LOCKED_DRAWDOWN.get(drawdown.pk + 1000) is None



def _quota_state(funder_id, day):
    return (Funder.objects.get(pk=funder_id).total_used,
            FunderQuotaDay.objects.filter(funder_id=funder_id, business_date=day).values_list("used", flat=True).first())


def test_the_one_statement_quota_take_does_what_the_orm_take_does():
    """``servicing.fastpath.funder_quotas_take`` (through ``funder_quota_take``) against the ORM
    version it replaces, on twin funders: every case takes or refuses alike and leaves the same
    counters — a first take inserting the day's row, a second updating it, the daily quota short
    (the total given back), the total quota short, an inactive funder; unlimited quotas."""
    day = business_date()
    fast = make_funder("fast", total_quota="60000.00", daily_quota="40000.00")
    orm = make_funder("orm", total_quota="60000.00", daily_quota="40000.00")
    outcomes = []
    for amount in ("30000.00", "5000.00", "10000.00", "5000.00", "0.01"):
        outcomes.append((funder_quota_take(funder_id=fast.pk, day=day, amount=Decimal(amount)),
                         _funder_quota_take_orm(funder_id=orm.pk, day=day, amount=Decimal(amount))))
        assert _quota_state(fast.pk, day) == _quota_state(orm.pk, day)
    assert outcomes == [(True, True), (True, True), (False, False), (True, True), (False, False)]
    assert _quota_state(fast.pk, day) == (Decimal("40000.00"), Decimal("40000.00"))
    tomorrow = day + timedelta(days=1)
    assert (funder_quota_take(funder_id=fast.pk, day=tomorrow, amount=Decimal("20000.01")),
            _funder_quota_take_orm(funder_id=orm.pk, day=tomorrow, amount=Decimal("20000.01"))) == (False, False)
    assert _quota_state(fast.pk, tomorrow) == _quota_state(orm.pk, tomorrow) == (Decimal("40000.00"), None)
    Funder.objects.filter(pk__in=[fast.pk, orm.pk]).update(active=False)
    assert (funder_quota_take(funder_id=fast.pk, day=tomorrow, amount=Decimal("1.00")),
            _funder_quota_take_orm(funder_id=orm.pk, day=tomorrow, amount=Decimal("1.00"))) == (False, False)
    free = make_funder("free")
    assert funder_quota_take(funder_id=free.pk, day=day, amount=Decimal("999999.99"))
    assert _quota_state(free.pk, day) == (Decimal("999999.99"), Decimal("999999.99"))


def test_the_repayment_paths_prebuilt_reads_give_what_the_orm_gives(django_assert_num_queries):
    """The loan locked with its product version, product, line and partner; its schedule locked;
    its parts with their funders; a funder's chart (``servicing.fastpath``, the repayment path)."""
    from servicing.fastpath import FUNDER_ACCOUNTS, LOAN_PARTS, LOCKED_INSTALLMENTS, LOCKED_LOAN
    from servicing.locks import loan_installments_lock, loan_lock
    from servicing.models import Account, Installment, Loan, LoanPart
    from servicing.services.ledger import funder_chart
    from tests.partners.factories import make_partner
    from tests.servicing.repayment_factories import make_funders, make_loan

    bank_a, bank_b = make_funders()
    loan = make_loan(funders=[(bank_a, Decimal("30")), (bank_b, Decimal("70"))], partner=make_partner("ACME"))
    orm = Loan.objects.select_related("product_version__product", "credit_line", "partner").get(pk=loan.pk)
    with django_assert_num_queries(1):
        locked = LOCKED_LOAN.get(loan.pk)
        assert (_values(locked.product_version), _values(locked.product_version.product),
                _values(locked.credit_line), _values(locked.partner)) == (
            _values(orm.product_version), _values(orm.product_version.product), _values(orm.credit_line),
            _values(orm.partner))
    assert _values(locked) == _values(orm) and _values(loan_lock(loan_id=loan.pk)) == _values(orm)
    assert LOCKED_LOAN.get(loan.pk + 1000) is None
    with pytest.raises(Loan.DoesNotExist):
        loan_lock(loan_id=loan.pk + 1000)

    schedule = loan_installments_lock(loan_id=loan.pk)
    assert [_values(i) for i in schedule] == [_values(i) for i in Installment.objects.filter(loan=loan)
                                              .order_by("number")]
    assert [i.number for i in schedule] == list(range(1, 13))
    assert sorted(i.pk for i in LOCKED_INSTALLMENTS.filter(loan.pk)) == [i.pk for i in schedule]

    parts = LOAN_PARTS.filter(loan.pk)
    orm_parts = {part.pk: part for part in LoanPart.objects.filter(loan=loan).select_related("funder")}
    assert {part.pk: (_values(part), _values(part.funder)) for part in parts} == {
        pk: (_values(part), _values(part.funder)) for pk, part in orm_parts.items()}
    chart = funder_chart(funder=bank_a)
    assert sorted((_values(a) for a in FUNDER_ACCOUNTS.filter(bank_a.pk)), key=lambda v: v["id"]) == [
        _values(a) for a in Account.objects.filter(funder=bank_a).order_by("id")]
    assert {kind: account.pk for kind, account in chart.items()} == dict(
        Account.objects.filter(funder=bank_a).values_list("kind", "pk"))


def test_the_repayment_paths_prebuilt_writes_write_what_save_writes():
    """A repayment posted through the writers leaves the rows ``save`` would: the repayment, its
    journal entry and lines, the installment and the loan (compared field by field with a
    repayment posted on a twin loan through the ORM path)."""
    from servicing.fastpath import INSTALLMENTS, JOURNAL_LINES, LOANS, REPAYMENTS, journal_entry_insert
    from servicing.models import Installment, JournalEntry, JournalLine, Loan, Repayment
    from servicing.services.ledger import funder_chart
    from tests.servicing.repayment_factories import make_loan

    loan = make_loan()
    fast = REPAYMENTS.insert(Repayment(loan=loan, number="F", kind="regular", source="api", amount=Decimal("10.00"),
                                       reference="fast", status=""))
    orm = Repayment.objects.create(loan=loan, number="O", kind="regular", source="api", amount=Decimal("10.00"),
                                   reference="orm", status="")
    skip = {"id", "reference", "number", "created_at", "updated_at"}

    def same(a, b):
        return {k: v for k, v in _values(a).items() if k not in skip} == {
            k: v for k, v in _values(b).items() if k not in skip}

    assert same(Repayment.objects.get(pk=fast.pk), Repayment.objects.get(pk=orm.pk))
    assert fast.created_at is not None and fast.pk is not None
    for repayment in (fast, orm):
        repayment.status, repayment.principal, repayment.number = "posted", Decimal("10.00"), f"RP{repayment.pk}"
    REPAYMENTS.update(fast, fields=["status", "principal", "number", "updated_at"])
    orm.save(update_fields=["status", "principal", "number", "updated_at"])
    assert same(Repayment.objects.get(pk=fast.pk), Repayment.objects.get(pk=orm.pk))
    assert Repayment.objects.get(pk=fast.pk).number == f"RP{fast.pk}"

    chart = funder_chart(funder=loan.parts.get().funder)
    accounts = list(chart.values())[:2]
    entries = []
    for reference, insert in (("fast", journal_entry_insert), ("orm", lambda e: e.save())):
        entry = JournalEntry(reference=reference, kind="repayment", business_date=loan.value_date,
                             funder_id=accounts[0].funder_id, loan=loan, memo="m")
        insert(entry)
        lines = [JournalLine(entry=entry, account=accounts[0], debit=Decimal("1.00"), credit=Decimal("0.00")),
                 JournalLine(entry=entry, account=accounts[1], debit=Decimal("0.00"), credit=Decimal("1.00"))]
        (JOURNAL_LINES.insert_many if reference == "fast" else JournalLine.objects.bulk_create)(lines)
        entries.append(entry)
    # a reference taken: nothing inserted, no error, the transaction usable
    again = JournalEntry(reference="fast", kind="repayment", business_date=loan.value_date,
                         funder_id=accounts[0].funder_id, loan=loan, memo="again")
    assert journal_entry_insert(again) is False and again.pk is None
    assert JournalEntry.objects.filter(reference="fast").get().memo == "m"
    skip = {"id", "reference", "recorded_at", "entry_id"}
    assert same(JournalEntry.objects.get(pk=entries[0].pk), JournalEntry.objects.get(pk=entries[1].pk))
    assert [[(_values(line)["account_id"], line.debit, line.credit) for line in entry.lines.order_by("id")]
            for entry in entries][0] == [
        [(_values(line)["account_id"], line.debit, line.credit) for line in entry.lines.order_by("id")]
        for entry in entries][1]

    first = Installment.objects.get(loan=loan, number=1)
    first.principal_paid, first.status = Decimal("5.00"), "due"
    INSTALLMENTS.update(first, fields=["principal_paid", "status"])
    assert (Installment.objects.get(pk=first.pk).principal_paid, Installment.objects.get(pk=first.pk).status) == (
        Decimal("5.00"), "due")
    loan.next_due_date = first.due_date
    LOANS.update(loan, fields=["next_due_date", "updated_at"])
    stored = Loan.objects.get(pk=loan.pk)
    assert stored.next_due_date == first.due_date and stored.updated_at == loan.updated_at


def _row(instance, *, without=()) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
            if field.attname not in without}


def test_the_line_to_draw_is_select_related_get_with_the_product():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from servicing.fastpath import LINE_TO_DRAW
    from servicing.models import CreditLine
    from tests.factories import make_credit_line

    line = make_credit_line()
    expected = CreditLine.objects.select_related("product_version__product").get(pk=line.pk)
    with CaptureQueriesContext(connection) as queries:
        found = LINE_TO_DRAW.get(line.pk)
        version, product = found.product_version, found.product_version.product
    assert len(queries) == 1
    assert _row(found) == _row(expected)
    assert _row(version) == _row(expected.product_version) and _row(product) == _row(expected.product_version.product)
    assert LINE_TO_DRAW.get(line.pk + 1000) is None


def test_the_drawdown_insert_writes_what_create_number_and_log_write():
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from creditfactory.core.models import StateTransition
    from creditfactory.core.state import transition_entry
    from servicing.fastpath import drawdown_insert
    from servicing.models import Drawdown
    from servicing.services.drawdowns import _number, _number_prefix

    template = make_drawdown()
    values = _row(template, without=("id", "number", "created_at", "updated_at"))

    def logged(drawdown):
        return transition_entry(drawdown, from_state="", to_state="requested", actor_label="partner:ACME",
                                reason="Requested on credit line CL00000001.")

    with transaction.atomic():
        orm = Drawdown(**{**values, "external_reference": "ORM-1"})
        orm.save(force_insert=True)
        orm.number = _number(orm)
        orm.save(update_fields=["number"])
        orm_log = logged(orm)
        orm_log.save()
        fast = Drawdown(**{**values, "external_reference": "FAST-1"})
        log = logged(fast)
        with CaptureQueriesContext(connection) as queries:
            assert drawdown_insert(fast, prefix=_number_prefix, log=log)
        assert len(queries) == 1
    stored_orm, stored_fast = Drawdown.objects.get(pk=orm.pk), Drawdown.objects.get(pk=fast.pk)
    assert fast.number == _number(stored_fast) == stored_fast.number and fast.number.endswith(f"{fast.pk:08d}")
    differ = ("id", "number", "external_reference", "created_at", "updated_at")
    assert _row(stored_fast, without=differ) == _row(stored_orm, without=differ)
    entries = StateTransition.objects.filter(content_type=ContentType.objects.get_for_model(Drawdown))
    fast_entry, orm_entry = entries.get(object_id=str(fast.pk)), entries.get(object_id=str(orm.pk))
    assert _row(fast_entry, without=("id", "object_id", "at")) == _row(orm_entry, without=("id", "object_id", "at"))
    assert log.object_id == str(fast.pk)
    # an id of more than eight digits is written whole, as f"{id:08d}" does
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('servicing_drawdown', 'id'), 123456788)")
    big = Drawdown(**{**values, "external_reference": "FAST-2"})
    assert drawdown_insert(big, prefix=_number_prefix, log=logged(big))
    assert big.pk == 123456789 and Drawdown.objects.get(pk=big.pk).number == _number(big) == big.number
    assert big.number.endswith("123456789")


def test_the_line_claims_built_once_do_what_the_orm_updates_do():
    """``servicing.locks``' conditional UPDATEs on the credit line and the drawdown's reservation,
    prebuilt on PostgreSQL, against the ORM updates they replace on twin rows: every case holds,
    posts or refuses alike and leaves the same figures."""
    from servicing.locks import (
        _drawdown_line_hold_settle_orm, _line_draw_orm, _line_hold_orm, drawdown_line_hold_settle, line_draw,
        line_hold,
    )
    from servicing.models import CreditLine, Drawdown
    from tests.partners.factories import make_partner
    from tests.servicing.factories import make_drawdown as make_booked_drawdown
    from tests.servicing.factories import make_line as make_limited_line

    partner = make_partner("ACME")
    fast, orm = (make_limited_line(limit=Decimal("50000.00"), sequence=sequence, partner=partner)
                 for sequence in ("301", "302"))

    def figures(line):
        return CreditLine.objects.values_list("limit", "used", "held", "status").get(pk=line.pk)

    def both(fast_call, orm_call, **kwargs):
        outcome = (fast_call(line_id=fast.pk, **kwargs), orm_call(line_id=orm.pk, **kwargs))
        assert figures(fast)[1:] == figures(orm)[1:]
        return outcome

    assert both(line_hold, _line_hold_orm, amount=Decimal("30000.00")) == (True, True)
    assert both(line_hold, _line_hold_orm, amount=Decimal("20000.00")) == (True, True)  # to the limit exactly
    assert both(line_hold, _line_hold_orm, amount=Decimal("0.01")) == (False, False)
    assert both(line_draw, _line_draw_orm, amount=Decimal("30000.00")) == (True, True)
    assert both(line_draw, _line_draw_orm, amount=Decimal("30000.00")) == (False, False)  # only 20,000 held
    assert figures(fast) == (Decimal("50000.00"), Decimal("30000.00"), Decimal("20000.00"), "active")
    assert both(line_draw, _line_draw_orm, amount=Decimal("20000.00")) == (True, True)
    CreditLine.objects.filter(pk__in=[fast.pk, orm.pk]).update(limit=Decimal("60000.00"))
    taken = make_booked_drawdown(line=fast, external_reference="ORDER-1")
    assert both(line_hold, _line_hold_orm, amount=Decimal("1.00"),
                unless_reference=(partner.pk, "ORDER-1")) == (False, False)  # the reference is taken
    assert both(line_hold, _line_hold_orm, amount=Decimal("1.00"),
                unless_reference=(partner.pk, "ORDER-2")) == (True, True)
    CreditLine.objects.filter(pk__in=[fast.pk, orm.pk]).update(status="frozen")
    assert both(line_hold, _line_hold_orm, amount=Decimal("1.00")) == (False, False)
    assert figures(fast) == (Decimal("60000.00"), Decimal("50000.00"), Decimal("1.00"), "frozen")

    Drawdown.objects.filter(pk=taken.pk).update(line_hold="held")
    twin = make_booked_drawdown(line=orm, line_hold="held")
    assert (drawdown_line_hold_settle(drawdown_id=taken.pk, to_status="posted"),
            _drawdown_line_hold_settle_orm(drawdown_id=twin.pk, to_status="posted")) == (True, True)
    assert (drawdown_line_hold_settle(drawdown_id=taken.pk, to_status="released"),
            _drawdown_line_hold_settle_orm(drawdown_id=twin.pk, to_status="released")) == (False, False)
    assert list(Drawdown.objects.filter(pk__in=[taken.pk, twin.pk]).values_list("line_hold", flat=True)) \
        == ["posted", "posted"]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from creditfactory.core.rows import prepared_text

    with CaptureQueriesContext(connection) as queries:
        assert line_draw(line_id=fast.pk, amount=Decimal("1.00"))
    assert len(queries) == 1 and queries[0]["sql"].startswith("EXECUTE cf_")  # built once, prepared
    assert prepared_text(queries[0]["sql"]).startswith('UPDATE "servicing_creditline" SET "held"')
