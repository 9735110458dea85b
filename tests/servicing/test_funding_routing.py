"""Funding routing: rules by product, amount, term, grade and region with a fallback; funders
skipped for quota, hours, product or inactivity; co-lending splits; the explanation; release,
post and idempotency; "test this routing" takes nothing."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditfactory.core.state import transitions_for
from servicing.locks import funder_quota_release, funder_quota_take
from servicing.models import DrawdownFunding, Funder, FunderQuotaDay
from servicing.routing import RouteSample, explanation_lines
from servicing.services import business_date, funding_post, funding_preview, funding_release, funding_route
from servicing.services.funding import split_by_share
from tests.factories import make_product

from .funding_factories import english, make_drawdown, make_funder, make_line, make_pair, make_rule

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOON = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=SHANGHAI)


def _used(funder):
    funder.refresh_from_db()
    day = FunderQuotaDay.objects.filter(funder=funder, business_date=business_date()).first()
    return funder.total_used, day.used if day else None


@pytest.fixture
def setup():
    own = make_funder("own", name="Own funds", priority=10, daily_quota="50000.00", total_quota="1000000.00")
    bank = make_funder("bank", kind="facilitation", name="Bank A", priority=20)
    lead = make_funder("colead", kind="co_lender", name="Co-lender 70", priority=30)
    minor = make_funder("comin", kind="co_lender", name="Co-lender 30", priority=30)
    pair = make_pair("pair", [(minor, "30"), (lead, "70")], name="Pair 30/70")
    return {"own": own, "bank": bank, "lead": lead, "minor": minor, "pair": pair}


def test_the_first_matching_rule_funds_and_takes_the_quota(setup):
    make_rule("Small loans to own funds", funder=setup["own"], priority=10, amount_max=Decimal("30000.00"))
    make_rule("Fallback to the bank", funder=setup["bank"], fallback=True)
    drawdown = make_drawdown(amount="20000.00")
    outcome = funding_route(drawdown=drawdown, now=NOON)
    assert (outcome.funded, outcome.funder, outcome.pair) == (True, setup["own"], None)
    [row] = DrawdownFunding.objects.filter(drawdown=drawdown)
    assert (row.funder, row.share_percent, row.principal, row.lead, row.hold_status, row.business_date) == (
        setup["own"], Decimal("100.000000"), Decimal("20000.00"), True, "held", business_date())
    assert row.rate_percent == Decimal("4.500000")
    assert _used(setup["own"]) == (Decimal("20000.00"), Decimal("20000.00"))
    drawdown.refresh_from_db()
    assert drawdown.routing["funded"] is True and drawdown.routing["funder"] == "own"
    assert explanation_lines(drawdown.routing) == [
        "Rule “Small loans to own funds” matches.", "Funded by Own funds: 20,000.00."]
    assert [t.to_state for t in transitions_for(row)] == ["held"]


def test_rules_that_do_not_match_are_explained_and_the_fallback_comes_last(setup):
    business = make_product("BUSINESS")
    make_rule("Fallback to the bank", funder=setup["bank"], fallback=True, priority=1)
    make_rule("Business only", funder=setup["own"], priority=5, products=[business])
    make_rule("Big and long", funder=setup["own"], priority=6, amount_min=Decimal("50000.00"), term_min=24)
    make_rule("Grade A in Shanghai", funder=setup["own"], priority=7, grades=["A"], regions=["31"])
    drawdown = make_drawdown(line=make_line(grade="B"), amount="20000.00", term=12)
    outcome = funding_route(drawdown=drawdown, now=NOON)
    assert outcome.funder == setup["bank"]
    drawdown.refresh_from_db()
    assert explanation_lines(drawdown.routing) == [
        "Rule “Business only” does not match. product EDUCATION is not among BUSINESS.",
        "Rule “Big and long” does not match. amount 20,000.00 is below 50,000.00; term 12 is shorter than 24.",
        "Rule “Grade A in Shanghai” does not match. grade B is not among A; region 11 is not among 31.",
        "Rule “Fallback to the bank” matches.",
        "Funded by Bank A: 20,000.00.",
    ]


def test_a_funder_out_of_daily_quota_outside_its_hours_or_without_the_product_gives_way(setup):
    other = make_product("RENOVATION")
    make_rule("Own", funder=setup["own"], priority=1)
    night = make_funder("night", name="Night bank", priority=2, active_from=datetime.time(20), active_until=datetime.time(6))
    make_rule("Night", funder=night, priority=2)
    picky = make_funder("picky", name="Picky bank", priority=3, products=[other])
    make_rule("Picky", funder=picky, priority=3)
    make_rule("Bank", funder=setup["bank"], priority=4)
    FunderQuotaDay.objects.create(funder=setup["own"], business_date=business_date(), used=Decimal("40000.00"))
    drawdown = make_drawdown(amount="20000.00")
    assert funding_route(drawdown=drawdown, now=NOON).funder == setup["bank"]
    drawdown.refresh_from_db()
    lines = explanation_lines(drawdown.routing)
    assert lines[1] == "Own funds has 10,000.00 of its daily quota left, 20,000.00 needed."
    assert lines[3] == "Night bank lends only between 20:00 and 06:00 (now 12:00)."
    assert lines[5] == "Picky bank does not lend for product EDUCATION."
    assert lines[-1] == "Funded by Bank A: 20,000.00."
    assert _used(setup["own"]) == (Decimal("0.00"), Decimal("40000.00"))
    # At night the night bank lends.
    assert funding_route(drawdown=make_drawdown(amount="20000.00"),
                         now=datetime.datetime(2026, 12, 4, 23, 0, tzinfo=SHANGHAI)).funder == night


def test_no_funder_with_quota_leaves_the_drawdown_unfunded_and_takes_nothing(setup):
    Funder.objects.filter(pk=setup["own"].pk).update(total_quota=Decimal("10000.00"))
    make_rule("Own", funder=setup["own"], priority=1)
    Funder.objects.filter(pk=setup["bank"].pk).update(active=False)
    make_rule("Bank", funder=setup["bank"], fallback=True)
    drawdown = make_drawdown(amount="20000.00")
    outcome = funding_route(drawdown=drawdown, now=NOON)
    assert (outcome.funded, outcome.funder) == (False, None)
    assert DrawdownFunding.objects.count() == 0
    assert _used(setup["own"]) == (Decimal("0.00"), None)
    drawdown.refresh_from_db()
    assert drawdown.routing["funded"] is False
    assert explanation_lines(drawdown.routing)[1:] == [
        "Own funds has 10,000.00 of its total quota left, 20,000.00 needed.",
        "Rule “Bank” matches.", "Bank A is not active.",
        "No rule found a funder with quota: the drawdown awaits funding."]


def test_a_co_lent_drawdown_splits_by_share_and_the_lead_takes_the_rest(setup):
    make_rule("Co-lending", pair=setup["pair"], priority=1)
    drawdown = make_drawdown(amount="10000.01")
    outcome = funding_route(drawdown=drawdown, now=NOON)
    assert (outcome.funded, outcome.pair, outcome.funder) == (True, setup["pair"], setup["lead"])
    rows = {r.funder.code: (r.share_percent, r.principal, r.lead) for r in DrawdownFunding.objects.filter(drawdown=drawdown)}
    assert rows == {"colead": (Decimal("70.000000"), Decimal("7000.01"), True),
                    "comin": (Decimal("30.000000"), Decimal("3000.00"), False)}
    assert _used(setup["lead"]) == (Decimal("7000.01"), Decimal("7000.01"))
    assert _used(setup["minor"]) == (Decimal("3000.00"), Decimal("3000.00"))
    drawdown.refresh_from_db()
    assert explanation_lines(drawdown.routing)[1:] == [
        "Co-lent by Pair 30/70.", "Co-lender 70 lends 70% = 7,000.01.", "Co-lender 30 lends 30% = 3,000.00."]


def test_a_pair_whose_second_funder_is_refused_takes_nothing_from_the_first(setup, monkeypatch):
    from servicing.services import funding as funding_module

    make_rule("Co-lending", pair=setup["pair"], priority=1)
    make_rule("Bank", funder=setup["bank"], priority=2)
    real_take = funding_module.funder_quota_take
    # The quota of the 30 % funder goes to a concurrent drawdown between the explanation and the take.
    monkeypatch.setattr(funding_module, "funder_quota_take", lambda *, funder_id, day, amount: (
        False if funder_id == setup["minor"].pk else real_take(funder_id=funder_id, day=day, amount=amount)))
    drawdown = make_drawdown(amount="10000.00")
    assert funding_route(drawdown=drawdown, now=NOON).funder == setup["bank"]
    assert _used(setup["lead"]) in {(Decimal("0.00"), None), (Decimal("0.00"), Decimal("0.00"))}
    drawdown.refresh_from_db()
    assert "Co-lender 30's quota was taken by another drawdown meanwhile." in explanation_lines(drawdown.routing)


def test_routing_twice_takes_the_quota_once(setup):
    make_rule("Own", funder=setup["own"])
    drawdown = make_drawdown(amount="20000.00")
    funding_route(drawdown=drawdown, now=NOON)
    again = funding_route(drawdown=drawdown, now=NOON)
    assert (again.funded, again.funder) == (True, setup["own"])
    assert DrawdownFunding.objects.count() == 1
    assert _used(setup["own"]) == (Decimal("20000.00"), Decimal("20000.00"))


def test_release_gives_the_quota_back_once_and_post_keeps_it(setup):
    make_rule("Co-lending", pair=setup["pair"])
    failed, booked = make_drawdown(amount="10000.00"), make_drawdown(amount="5000.00")
    funding_route(drawdown=failed, now=NOON)
    funding_route(drawdown=booked, now=NOON)
    assert len(funding_release(drawdown=failed, reason="failed")) == 2
    assert funding_release(drawdown=failed) == []
    assert len(funding_post(drawdown=booked)) == 2
    assert funding_release(drawdown=booked) == [] and funding_post(drawdown=booked) == []
    assert set(DrawdownFunding.objects.filter(drawdown=failed).values_list("hold_status", flat=True)) == {"released"}
    assert set(DrawdownFunding.objects.filter(drawdown=booked).values_list("hold_status", flat=True)) == {"posted"}
    assert _used(setup["lead"]) == (Decimal("3500.00"), Decimal("3500.00"))
    assert _used(setup["minor"]) == (Decimal("1500.00"), Decimal("1500.00"))
    # A released drawdown routed again (back from review) takes its quota afresh.
    funding_route(drawdown=failed, now=NOON)
    assert _used(setup["lead"]) == (Decimal("10500.00"), Decimal("10500.00"))


def test_testing_a_routing_takes_no_quota_and_writes_nothing(setup):
    make_rule("Own", funder=setup["own"], amount_max=Decimal("30000.00"))
    make_rule("Bank", funder=setup["bank"], fallback=True)
    sample = RouteSample(product_id=None, product_code="EDUCATION", amount=Decimal("40000.00"), term=12, grade="A",
                         region="31")
    outcome = funding_preview(sample=sample, now=NOON)
    assert (outcome.funded, outcome.funder) == (True, setup["bank"])
    assert explanation_lines({"considered": outcome.considered}) == [
        "Rule “Own” does not match. amount 40,000.00 is above 30,000.00.", "Rule “Bank” matches.",
        "Funded by Bank A: 40,000.00.", "A test: no quota was taken."]
    assert FunderQuotaDay.objects.count() == 0 and DrawdownFunding.objects.count() == 0
    assert Funder.objects.get(pk=setup["bank"].pk).total_used == Decimal("0.00")


def test_quota_take_refuses_past_either_quota_and_changes_nothing(setup):
    own, day = setup["own"], business_date()
    assert funder_quota_take(funder_id=own.pk, day=day, amount=Decimal("50000.00"))
    assert not funder_quota_take(funder_id=own.pk, day=day, amount=Decimal("0.01"))
    assert _used(own) == (Decimal("50000.00"), Decimal("50000.00"))
    assert funder_quota_take(funder_id=own.pk, day=day + datetime.timedelta(days=1), amount=Decimal("50000.00"))
    Funder.objects.filter(pk=own.pk).update(total_quota=Decimal("100000.00"))
    assert not funder_quota_take(funder_id=own.pk, day=day + datetime.timedelta(days=2), amount=Decimal("0.01"))
    assert not FunderQuotaDay.objects.filter(funder=own, business_date=day + datetime.timedelta(days=2), used__gt=0).exists()
    assert funder_quota_release(funder_id=own.pk, day=day, amount=Decimal("50000.00"))
    assert not funder_quota_release(funder_id=own.pk, day=day, amount=Decimal("0.01"))
    assert _used(own) == (Decimal("50000.00"), Decimal("0.00"))


def test_split_by_share_exact_figures():
    assert split_by_share(amount=Decimal("100.00"), shares=[("a", Decimal("33.33")), ("b", Decimal("33.33")),
                                                            ("c", Decimal("33.34"))]) == {
        "a": Decimal("33.33"), "b": Decimal("33.33"), "c": Decimal("33.34")}
    assert split_by_share(amount=Decimal("0.05"), shares=[("minor", 30), ("lead", 70)]) == {
        "minor": Decimal("0.02"), "lead": Decimal("0.03")}


@given(amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2),
       minor=st.integers(min_value=1, max_value=49))
def test_split_parts_always_sum_to_the_amount(amount, minor):
    parts = split_by_share(amount=amount, shares=[("minor", minor), ("lead", 100 - minor)])
    assert parts["minor"] + parts["lead"] == amount
    assert all(p == p.quantize(Decimal("0.01")) for p in parts.values())
