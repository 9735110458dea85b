"""Benchmark: ``GET /api/v1/loans/{id}`` for a loan with 360 installments and three years of
history (issue 16 §7: ≤ 50 ms median, its cost must not grow with the days elapsed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_loanget .venv/bin/python bench/loan_get.py

What it does:

1. Creates a fresh database ``bench_<name>`` (as the other benches), a partner, and two loans of
   1,000,000.00 over 360 months (equal installments, 7 % a year), co-lent 30/70 — one booked
   today, one booked three years before the business date.
2. Gives the old loan its three years: the real daily close of every one of the 1,096 dates
   (``servicing.services.close.close_date``, in process: accrual, due installments, the start of
   each day) and, on each due date, the installment repaid through ``repayment_post`` — 36
   installments paid, 36 repayments with their journal entries, a year with one paid late
   (penalty), so the loan's history is that of a real loan.
3. Reads each loan ``--n`` times through the partner API in process (Django's test client with a
   real API key: middleware, authentication, scoping, serialisation; no socket) and reports the
   median, p95 and the queries per request — for the new loan and the three-year-old one, so the
   growth with days elapsed shows (none expected: the page reads the loan, its parts and its
   installments, never its history).
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.test")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("PARTNER_DEFAULT_THROTTLE_RATE", "1000000/min")  # the bench reads, it is not throttled

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from servicing.models import JournalEntry, Loan, Repayment  # noqa: E402
from servicing.services.calendar import business_date, business_date_set  # noqa: E402
from servicing.services.close import close_date  # noqa: E402
from servicing.services.loans import loan_book  # noqa: E402
from servicing.services.repayments.posting import repayment_post  # noqa: E402
from servicing.services.repayments.quotes import loan_quote  # noqa: E402
from support import fresh_database, percentile  # noqa: E402
from tests.factories import make_product  # noqa: E402
from tests.partners.factories import issue_key, make_partner, partner_client  # noqa: E402
from tests.servicing.factories import make_drawdown, make_funder, make_line  # noqa: E402

D = Decimal
START = datetime.date(2023, 12, 4)


def _loan(*, product, partner, funders, sequence: str) -> Loan:
    line = make_line(product=product, partner=partner, rate_percent=D("7"), limit=D("1000000.00"), sequence=sequence)
    drawdown = make_drawdown(line=line, amount=D("1000000.00"), term=360, funders=funders)
    return loan_book(drawdown=drawdown)


def history(loan: Loan, *, until: datetime.date) -> None:
    """Close every date up to ``until``; on each due date, what is payable repaid through the
    service (one installment a year repaid 10 days late, with its penalty)."""
    late = set()
    while business_date() <= until:
        today = business_date()
        loan = Loan.objects.get(pk=loan.pk)
        due = loan.installments.filter(due_date=today).first()
        if due is not None and due.number % 12 == 6:
            late.add(today + datetime.timedelta(days=10))
        elif due is not None or today in late:
            payable = loan_quote(loan=loan, kind="regular").payable
            if payable > 0:
                repayment_post(loan=loan, amount=payable, reference=f"BENCH-{today.isoformat()}")
        close_date(business_date=today)


def measure(client, loan_id: int, n: int) -> dict:
    client.get(f"/api/v1/loans/{loan_id}")  # warm
    queries = []  # counted by a wrapper: the request's start resets Django's own query log
    with connection.execute_wrapper(lambda execute, sql, params, many, context: (queries.append(sql),
                                                                                execute(sql, params, many, context))[1]):
        response = client.get(f"/api/v1/loans/{loan_id}")
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    timings = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(f"/api/v1/loans/{loan_id}")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    timings.sort()
    return {"median_ms": round(statistics.median(timings), 1), "p95_ms": round(percentile(timings, 0.95), 1),
            "queries": len(queries), "installments": len(body["installments"]), "bytes": len(response.content),
            "status": body["status"], "dpd": body["dpd"],
            "paid": sum(1 for i in body["installments"] if i["status"] == "paid")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="reads per loan")
    parser.add_argument("--years", type=int, default=3, help="history of the old loan, years")
    args = parser.parse_args()

    fresh_database()
    business_date_set(date=START, reason="bench")
    product = make_product("EDUCATION")
    partner = make_partner("BENCH", products=[product])
    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    old = _loan(product=product, partner=partner, funders=[(a, D(30)), (b, D(70))], sequence="301")
    until = datetime.date(START.year + args.years, START.month, START.day)
    started = time.perf_counter()
    history(old, until=until)
    built = time.perf_counter() - started
    new = _loan(product=product, partner=partner, funders=[(a, D(30)), (b, D(70))], sequence="302")
    client = partner_client(issue_key(partner))
    print(f"history: {(until - START).days + 1} closes in {built:.0f} s; "
          f"{Repayment.objects.filter(loan=old).count()} repayments, "
          f"{JournalEntry.objects.filter(loan=old).count()} journal entries of the loan, "
          f"{JournalEntry.objects.count()} in all; business date {business_date()}")
    for label, loan in (("new (0 days)", new), (f"old ({args.years} years)", old)):
        print(label, measure(client, loan.pk, args.n))


if __name__ == "__main__":
    main()
