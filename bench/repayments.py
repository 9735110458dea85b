"""Benchmark: repayments through the partner API over real HTTP with a real Celery worker —
repayments posted per second and the API's answer time (issue 16 §7: ≥ 50 posted/s, p95 ≤ 500 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_repay \\
        .venv/bin/python bench/repayments.py --n 1000 --rate 60 --redis redis://127.0.0.1:6379/9

What it does:

1. Creates a fresh database ``bench_<name>``, loads the demo data and the funders, channel,
   partner and ``--loans`` active lines of ``bench/drawdown.py``; books one loan of 10,000–40,000
   (12 equal monthly installments, 7 % a year; above 20,000 co-lent 30/70) on each line, then runs
   the real daily close (``close_day``) up to the first due date, so every loan has an installment
   due today (正常还款 on the due date). The payment channel is inactive during that close, so
   it does not also ask the scheduled debit (代扣) of the due date: the borrowers pay through the
   partner's app.
2. Starts gunicorn and a Celery worker (as ``bench/origination.py``), then ``--clients`` threads
   POST ``/api/v1/loans/{id}/repayments`` (``Idempotency-Key`` each) at ``--rate`` per second:
   each a regular repayment of the installment due, so every request locks the loan, allocates
   penalty → fee → interest → principal, writes the repayment, its allocation, the installment,
   the loan's and its funding parts' balances, the line's used amount and the journal entry split
   by funder, records the state change and emits ``repayment.received`` (the worker delivers the
   webhook).
3. Reports posted per second, the API's answer time (median, p95, max), the CPU per repayment by
   process, and checks the books: every loan's installment paid, Σ repayments = Σ of what was
   due, and ``ledger_check`` passing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import drawdown as dd  # noqa: E402  (bench/drawdown.py: its seed; bench/origination.py: django.setup())
import origination as base  # noqa: E402

from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402

from servicing.models import CreditLine, Funder, Installment, Loan, PaymentChannel, Repayment  # noqa: E402
from servicing.services.calendar import business_date  # noqa: E402
from servicing.services.close import close_day  # noqa: E402
from servicing.services.ledger_checks import ledger_check  # noqa: E402
from servicing.services.loans import loan_book  # noqa: E402
from support import fresh_database, percentile  # noqa: E402
from tests.servicing.factories import make_drawdown  # noqa: E402

D = Decimal


def book_loans(lines: list[int]) -> list[int]:
    """One loan per line (as the drawdown flow books it), then the close up to the first due date."""
    own, bank, coop = (Funder.objects.get(code=code) for code in ("own", "bank", "coop"))
    today = business_date()
    ids = []
    for index, line in enumerate(CreditLine.objects.filter(pk__in=lines).select_related(
            "applicant", "product_version", "branch", "partner").order_by("pk")):
        amount = D(10000 + (index % 4) * 10000)
        funders = [(own, D(100))] if amount <= 20000 else [(bank, D(70)), (coop, D(30))]
        loan = loan_book(drawdown=make_drawdown(line=line, amount=amount, term=12, funders=funders,
                                                value_date=today))
        CreditLine.objects.filter(pk=line.pk).update(used=amount)
        ids.append(loan.pk)
    first_due = Installment.objects.filter(loan_id__in=ids, number=1).values_list("due_date", flat=True).first()
    # The borrowers pay through the partner's app here, so the close must not also ask the
    # scheduled debit of the due date (it asks it only while a payment channel is active).
    channels = list(PaymentChannel.objects.filter(active=True).values_list("pk", flat=True))
    PaymentChannel.objects.filter(pk__in=channels).update(active=False)
    close_day(until=first_due - base.timedelta(days=1))
    PaymentChannel.objects.filter(pk__in=channels).update(active=True)
    return ids


def submit_all(port: int, key: str, loans: dict[int, str], *, clients: int, rate: float) -> tuple[list, list]:
    """POST one regular repayment of the installment due per loan; (loan, sent, answer s) and failures."""
    results, failures, lock = [], [], threading.Lock()
    start = time.time() + 0.2
    cursor = iter(enumerate(sorted(loans.items())))
    run = uuid.uuid4().hex[:6]

    def run_client():
        client = base.Client(port, key)
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            position, (loan_id, amount) = item
            if rate > 0:  # open loop: the n-th repayment is due at start + n / rate
                delay = start + position / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            sent = time.time()
            status, answer = client.request("POST", f"/api/v1/loans/{loan_id}/repayments",
                                            {"amount": amount, "kind": "regular", "reference": f"{run}-{loan_id}"})
            with lock:
                if status == 201:
                    results.append((loan_id, sent, time.time() - sent))
                else:
                    failures.append(f"{status} {answer}")

    threads = [threading.Thread(target=run_client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="repayments counted (one loan each)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rate", type=float, default=60.0, help="offered repayments per second (0: flat out)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--pool", choices=("prefork", "solo"), default="prefork")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.redis.rstrip("/").endswith("/0") or args.redis.count("/") < 3:
        raise SystemExit("give --redis a database number of its own, e.g. redis://127.0.0.1:6379/14")

    original = connection.settings_dict["NAME"]
    name = fresh_database()
    processes = []
    try:
        began = time.perf_counter()
        key, lines = dd.seed(args.warmup + args.n)
        loan_ids = book_loans(lines)
        due = dict(Installment.objects.filter(loan_id__in=loan_ids, number=1).values_list("loan_id", "payment"))
        amounts = {loan_id: f"{due[loan_id]:.2f}" for loan_id in loan_ids}
        print(f"Set up {name}: {len(loan_ids)} loans, closed up to {business_date()} (first due date) "
              f"in {time.perf_counter() - began:.1f} s")
        connection.close()
        port = base.free_port()
        processes = [base.start_web(args, port), *base.start_worker(args)]
        base.wait_until_up(port, key, processes)
        warm = dict(list(amounts.items())[:args.warmup])
        submit_all(port, key, warm, clients=args.clients, rate=0)
        measured = dict(list(amounts.items())[args.warmup:])

        cpu_before, load_before = base.cpu_by_role(processes, name), os.getloadavg()
        results, failures = submit_all(port, key, measured, clients=args.clients, rate=args.rate)
        cpu_after, load_after = base.cpu_by_role(processes, name), os.getloadavg()
        answers = sorted(answer for _loan, _sent, answer in results)
        span = max(sent + answer for _loan, sent, answer in results) - min(sent for _loan, sent, _a in results)
        per = {role: (cpu_after[role] - cpu_before[role]) * 1000 / max(len(results), 1) for role in cpu_after}
        print(f"{os.cpu_count()} CPUs, load average before {load_before[0]:.2f} / after {load_after[0]:.2f}")
        print(f"repayments: {len(results)} posted of {len(measured)} ({args.rate:.0f}/s offered, "
              f"{args.clients} clients); refused {len(failures)}{': ' + failures[0] if failures else ''}")
        print(f"posted per second: {len(results) / span:.1f}")
        print(f"API answer: median {statistics.median(answers) * 1000:.0f} ms   "
              f"p95 {percentile(answers, 0.95) * 1000:.0f} ms   max {answers[-1] * 1000:.0f} ms")
        print(f"CPU per repayment: gunicorn {per['web']:.0f} ms, worker {per['worker']:.0f} ms, PostgreSQL "
              f"{per['postgres']:.0f} ms, Redis {per['redis']:.1f} ms; load generator {per['load generator']:.0f} ms")
        paid = Installment.objects.filter(loan_id__in=measured, number=1, status="paid").count()
        posted = Repayment.objects.filter(loan_id__in=measured).aggregate(total=Sum("amount"))["total"]
        expected = sum((D(amount) for amount in measured.values()), D(0))
        problems = ledger_check()
        print(f"books: {paid} of {len(measured)} first installments paid; Σ posted {posted} = Σ due {expected}: "
              f"{posted == expected}; ledger_check: {'passes' if not problems else problems[:1]}; "
              f"loans overdue {Loan.objects.filter(status='overdue').count()}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except Exception:  # noqa: BLE001
                process.kill()
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
