"""Funder quotas under concurrency: threads on their own PostgreSQL connections routing drawdowns
to one funder at once never allocate past its daily or total quota."""

import datetime
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from servicing.locks import funder_quota_take
from servicing.models import DrawdownFunding, Funder, FunderQuotaDay
from servicing.services import business_date, funding_route

from .funding_factories import english, make_drawdown, make_funder, make_line, make_rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("english")]
THREADS = 8


def _run_all(work, items):
    barrier = threading.Barrier(len(items))

    def run(item):
        try:
            barrier.wait(timeout=30)
            return work(item)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(run, items))


def test_concurrent_quota_takes_never_over_allocate():
    funder = make_funder("own", daily_quota="50000.00", total_quota="70000.00")
    day = business_date()
    results = _run_all(lambda _i: funder_quota_take(funder_id=funder.pk, day=day, amount=Decimal("10000.00")),
                       range(THREADS))
    assert results.count(True) == 5
    funder.refresh_from_db()
    assert funder.total_used == Decimal("50000.00")
    assert FunderQuotaDay.objects.get(funder=funder, business_date=day).used == Decimal("50000.00")
    # The next day: the total quota (70,000) binds, not the daily one.
    tomorrow = day + datetime.timedelta(days=1)
    results = _run_all(lambda _i: funder_quota_take(funder_id=funder.pk, day=tomorrow, amount=Decimal("10000.00")),
                       range(THREADS))
    assert results.count(True) == 2
    funder.refresh_from_db()
    assert funder.total_used == Decimal("70000.00")


def test_concurrent_routing_fills_the_funder_exactly_and_sends_the_rest_on():
    own = make_funder("own", priority=1, daily_quota="60000.00")
    bank = make_funder("bank", kind="facilitation", priority=2)
    make_rule("Own", funder=own, priority=1)
    make_rule("Bank", funder=bank, fallback=True)
    line = make_line(limit=Decimal("500000.00"))
    drawdowns = [make_drawdown(line=line, amount="20000.00") for _ in range(THREADS)]
    outcomes = _run_all(lambda d: funding_route(drawdown=d).funder.code, drawdowns)
    assert sorted(outcomes) == ["bank"] * 5 + ["own"] * 3
    assert FunderQuotaDay.objects.get(funder=own).used == Decimal("60000.00")
    assert Funder.objects.get(pk=own.pk).total_used == Decimal("60000.00")
    assert DrawdownFunding.objects.filter(funder=own).count() == 3
    assert DrawdownFunding.objects.count() == THREADS
