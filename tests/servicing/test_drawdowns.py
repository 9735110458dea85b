"""Drawdowns in servicing: the line reservation (hold, release, draw), creating a drawdown against
the product's terms and the line's balance and state, and ending one (cancel, reject, fail) with
the reservation released exactly once."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from creditfactory.core.state import transitions_for
from servicing.locks import line_draw, line_hold, line_release
from servicing.models import CreditLine, Drawdown
from servicing.services.calendar import business_date
from servicing.services.drawdowns import (
    DrawdownRefused,
    drawdown_cancel,
    drawdown_create,
    drawdown_fail,
    drawdown_line_post,
    drawdown_reject,
)
from tests.factories import DRAWDOWN_DATA, make_credit_line, make_product

pytestmark = pytest.mark.django_db


def _balances(line):
    line.refresh_from_db()
    return line.used, line.held, line.available


def test_a_hold_within_the_limit_applies_and_one_beyond_changes_nothing():
    line = make_credit_line(limit=Decimal("50000.00"))
    assert line_hold(line_id=line.pk, amount=Decimal("30000.00")) is True
    assert line_hold(line_id=line.pk, amount=Decimal("20000.01")) is False
    assert _balances(line) == (Decimal("0.00"), Decimal("30000.00"), Decimal("20000.00"))
    assert line_hold(line_id=line.pk, amount=Decimal("20000.00")) is True
    assert _balances(line) == (Decimal("0.00"), Decimal("50000.00"), Decimal("0.00"))


def test_a_frozen_line_holds_nothing_but_releases_what_it_held():
    line = make_credit_line(limit=Decimal("50000.00"))
    assert line_hold(line_id=line.pk, amount=Decimal("10000.00"))
    CreditLine.objects.filter(pk=line.pk).update(status="frozen")
    assert line_hold(line_id=line.pk, amount=Decimal("1.00")) is False
    assert line_release(line_id=line.pk, amount=Decimal("10000.00")) is True
    assert line_release(line_id=line.pk, amount=Decimal("0.01")) is False
    assert _balances(line) == (Decimal("0.00"), Decimal("0.00"), Decimal("50000.00"))


def test_a_draw_moves_held_to_used_and_never_more_than_held():
    line = make_credit_line(limit=Decimal("50000.00"))
    line_hold(line_id=line.pk, amount=Decimal("20000.00"))
    assert line_draw(line_id=line.pk, amount=Decimal("20000.01")) is False
    assert line_draw(line_id=line.pk, amount=Decimal("20000.00")) is True
    assert _balances(line) == (Decimal("20000.00"), Decimal("0.00"), Decimal("30000.00"))


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_holds_never_pass_the_limit():
    line = make_credit_line(limit=Decimal("50000.00"))

    def hold(_n):
        try:
            return line_hold(line_id=line.pk, amount=Decimal("3000.00"))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(hold, range(50)))
    line.refresh_from_db()
    assert results.count(True) == 16  # 16 × 3,000 = 48,000 ≤ 50,000 < 17 × 3,000
    assert (line.used, line.held) == (Decimal("0.00"), Decimal("48000.00"))
    assert line.used + line.held <= line.limit


def test_a_drawdown_reserves_its_amount_and_is_numbered():
    line = make_credit_line(limit=Decimal("50000.00"))
    drawdown = drawdown_create(line=line, data=DRAWDOWN_DATA, actor_label="partner:acme")
    assert (drawdown.status, drawdown.amount, drawdown.term, drawdown.line_hold) == (
        "requested", Decimal("20000.00"), 12, "held")
    assert drawdown.number == f"DD{drawdown.created_at.astimezone().strftime('%Y%m%d')}{drawdown.pk:08d}" or \
        drawdown.number.startswith("DD") and drawdown.number.endswith(f"{drawdown.pk:08d}")
    assert (drawdown.requested_on, drawdown.bank_account_masked.endswith("0128")) == (business_date(), True)
    assert _balances(line) == (Decimal("0.00"), Decimal("20000.00"), Decimal("30000.00"))
    [move] = transitions_for(drawdown)
    assert (move.from_state, move.to_state, move.actor_label) == ("", "requested", "partner:acme")


def test_terms_outside_the_product_are_refused_naming_each_field_and_nothing_is_held():
    line = make_credit_line(limit=Decimal("200000.00"))
    data = {**DRAWDOWN_DATA, "amount": "150000.00", "term": 48, "term_unit": "days",
            "repayment_method": "bullet", "purpose": "travel", "bank_account": "12ab"}
    with pytest.raises(ValidationError) as caught:
        drawdown_create(line=line, data=data)
    assert set(caught.value.message_dict) == {"amount", "term", "term_unit", "repayment_method", "purpose",
                                              "bank_account"}
    assert caught.value.message_dict["amount"] == ["The amount must be between 10,000.00 and 100,000.00."]
    assert Drawdown.objects.count() == 0 and _balances(line)[1] == Decimal("0.00")


def test_more_than_available_is_422_naming_amount_with_the_available_figure():
    line = make_credit_line(limit=Decimal("50000.00"))
    drawdown_create(line=line, data={**DRAWDOWN_DATA, "amount": "45000.00"})
    with pytest.raises(DrawdownRefused) as caught:
        drawdown_create(line=line, data=DRAWDOWN_DATA)
    refusal = caught.value
    assert (refusal.status, refusal.code, refusal.figures) == (422, "amount_unavailable", {"available": "5000.00"})
    assert refusal.errors == {"amount": ["The amount is more than is available on the credit line (5,000.00)."]}
    assert Drawdown.objects.count() == 1 and _balances(line)[1] == Decimal("45000.00")


@pytest.mark.parametrize("status", ["frozen", "expired", "terminated"])
def test_a_line_that_is_not_active_is_409(status):
    line = make_credit_line(status=status)
    with pytest.raises(DrawdownRefused) as caught:
        drawdown_create(line=line, data=DRAWDOWN_DATA)
    assert (caught.value.status, caught.value.code, list(caught.value.errors)) == (409, f"line_{status}",
                                                                                   ["credit_line"])
    assert Drawdown.objects.count() == 0


def test_a_line_past_its_validity_is_409():
    import datetime

    today = business_date()
    line = make_credit_line(valid_from=today - datetime.timedelta(days=30),
                            valid_until=today - datetime.timedelta(days=1))
    with pytest.raises(DrawdownRefused) as caught:
        drawdown_create(line=line, data=DRAWDOWN_DATA)
    assert (caught.value.status, caught.value.code) == (409, "line_expired")


def test_review_is_needed_above_the_products_amount_or_for_its_purposes():
    product = make_product("EDUCATION", drawdown_review_above=Decimal("50000.00"),
                           purposes=["education", "renovation"], drawdown_review_purposes=["renovation"])
    line = make_credit_line(limit=Decimal("200000.00"), product=product)
    small = drawdown_create(line=line, data={**DRAWDOWN_DATA, "amount": "50000.00"})
    large = drawdown_create(line=line, data={**DRAWDOWN_DATA, "amount": "50000.01"})
    business = drawdown_create(line=line, data={**DRAWDOWN_DATA, "amount": "10000.00", "purpose": "renovation"})
    assert (small.review_required, large.review_required, business.review_required) == (False, True, True)


@pytest.mark.parametrize("end", ["cancel", "reject", "fail"])
def test_ending_a_drawdown_releases_the_reservation_exactly_once(end, admin_user):
    line = make_credit_line(limit=Decimal("50000.00"))
    drawdown = drawdown_create(line=line, data=DRAWDOWN_DATA)
    call = {"cancel": lambda: drawdown_cancel(drawdown=drawdown, reason="Changed my mind", actor=admin_user),
            "reject": lambda: drawdown_reject(drawdown=drawdown, reason="Risk list hit", actor=admin_user),
            "fail": lambda: drawdown_fail(drawdown=drawdown, reason="Bank refused", actor=admin_user)}[end]
    first = call()
    second = call()  # a replay
    expected = {"cancel": "cancelled", "reject": "rejected", "fail": "rejected"}[end]
    assert (first.status, second.status, first.line_hold) == (expected, expected, "released")
    assert _balances(line) == (Decimal("0.00"), Decimal("0.00"), Decimal("50000.00"))
    assert [t.to_state for t in transitions_for(drawdown)] == ["requested", expected] or \
        sorted(t.to_state for t in transitions_for(drawdown)) == sorted(["requested", expected])
    assert len(Drawdown.objects.get(pk=drawdown.pk).reasons) == 1


def test_a_disbursing_drawdown_cannot_be_cancelled_but_can_fail():
    line = make_credit_line(limit=Decimal("50000.00"))
    drawdown = drawdown_create(line=line, data=DRAWDOWN_DATA)
    Drawdown.objects.filter(pk=drawdown.pk).update(status="disbursing")
    with pytest.raises(DrawdownRefused) as caught:
        drawdown_cancel(drawdown=drawdown, reason="too late")
    assert caught.value.status == 409 and _balances(line)[1] == Decimal("20000.00")
    failed = drawdown_fail(drawdown=drawdown, reason="Bank refused")
    assert (failed.status, failed.line_hold) == ("failed", "released")
    assert _balances(line)[1] == Decimal("0.00")


def test_posting_the_reservation_moves_it_to_used_once():
    line = make_credit_line(limit=Decimal("50000.00"))
    drawdown = drawdown_create(line=line, data=DRAWDOWN_DATA)
    assert drawdown_line_post(drawdown=drawdown) is True
    assert drawdown_line_post(drawdown=drawdown) is False
    assert _balances(line) == (Decimal("20000.00"), Decimal("0.00"), Decimal("30000.00"))
    Drawdown.objects.filter(pk=drawdown.pk).update(status="disbursing")
    drawdown_fail(drawdown=drawdown, reason="late failure")  # a posted reservation is not released again
    assert _balances(line) == (Decimal("20000.00"), Decimal("0.00"), Decimal("30000.00"))
