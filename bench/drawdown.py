"""Benchmark: drawdowns through the partner API over real HTTP, carried by a real Celery worker
from the request to a booked loan; request → booked latency and loans booked per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_drawdown \\
        .venv/bin/python bench/drawdown.py --n 600 --rate 30 --redis redis://127.0.0.1:6379/8

What it does:

1. Creates a fresh database ``bench_<name>`` (as ``bench/origination.py``), loads the demo data
   (products, the demo risk policies with their in-loan rule sets, every sandbox source at zero
   latency), three funders — own funds for drawdowns up to 20,000.00 and a 30/70 co-lending pair
   above — a sandbox payment channel at zero latency, a partner and ``--lines`` active credit
   lines of 200,000.00 (one borrower each).
2. Starts gunicorn and a Celery worker (as ``bench/origination.py``), warms up, then
   ``--clients`` threads POST ``/api/v1/credit-lines/{id}/drawdowns`` (Idempotency-Key each) at
   ``--rate`` per second over the lines in turn: EDUCATION drawdowns of 10,000-40,000 that need no
   disbursement review. Each goes request → in-loan check (job) → routing → disbursement (task)
   → the sandbox bank's signed callback → settlement task → booked loan.
3. Reports request → booked (the loan's ``created_at``): median, p95, max; booked per second;
   the CPU per drawdown by process (gunicorn, worker, PostgreSQL, Redis, from /proc); the host's
   speed idle and during the run (``bench/hostprobe.py``: a fixed workload's CPU time, ~1 % of a
   CPU, counted in "the rest of the machine"), so runs on a slower minute of this shared host show
   as such.
4. ``--contended``: 50 concurrent drawdowns of 10,000.00 on one line of 100,000.00 (a borrower
   whose in-loan check passes) — used ≤ limit and used = Σ booked, afterwards.

Target (issue 15 §9): ≥ 30 booked per second with p95 ≤ 1 s on the 2-CPU machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import origination as base  # noqa: E402  (bench/origination.py: django.setup() and the process helpers)

from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402

from creditfactory.organisations.models import Branch  # noqa: E402
from creditfactory.partners.services.partners import partner_api_key_issue, partner_create  # noqa: E402
from products.models import LoanProduct  # noqa: E402
from risk.services.applicants import applicant_get_or_create  # noqa: E402
from risk.validators import build_resident_id  # noqa: E402
from servicing.models import (  # noqa: E402
    CoLendingPair,
    CoLendingShare,
    CreditLine,
    Drawdown,
    Funder,
    Loan,
    PaymentChannel,
    RoutingRule,
)
from servicing.services.calendar import business_date  # noqa: E402
from support import HostProbe, fresh_database, percentile, seed_demo  # noqa: E402
from workflows.models import CreditApplication  # noqa: E402


def seed(lines: int) -> tuple[str, list[int]]:
    """Demo data, funders, channel, a partner and ``lines`` active lines; returns (key, line ids)."""
    seed_demo()
    # the benchmark's own funders, rules and channel replace the demo's (servicing.demo_funding)
    RoutingRule.objects.all().delete()
    CoLendingShare.objects.all().delete()
    CoLendingPair.objects.all().delete()
    Funder.objects.all().delete()
    PaymentChannel.objects.all().delete()
    product = LoanProduct.objects.get(code="EDUCATION")
    product.current_version.__class__.objects.filter(pk=product.current_version_id).update(
        drawdown_review_above=None, drawdown_review_purposes=[])
    own = Funder.objects.create(code="own", name="Own funds", kind="own", cost_of_funds_percent=Decimal("3.5"),
                                priority=10)
    bank = Funder.objects.create(code="bank", name="Partner bank", kind="co_lender",
                                 cost_of_funds_percent=Decimal("4.0"), priority=20)
    coop = Funder.objects.create(code="coop", name="Co-lender", kind="co_lender",
                                 cost_of_funds_percent=Decimal("4.5"), priority=30)
    pair = CoLendingPair.objects.create(code="pair3070", name="Bank 70 / co-lender 30")
    CoLendingShare.objects.create(pair=pair, funder=coop, share_percent=Decimal("30"))
    CoLendingShare.objects.create(pair=pair, funder=bank, share_percent=Decimal("70"))
    RoutingRule.objects.create(name="Above 20,000 co-lent", pair=pair, priority=1, amount_min=Decimal("20000.01"))
    RoutingRule.objects.create(name="Own funds", funder=own, priority=100, fallback=True)
    PaymentChannel.objects.create(code="sandbox", name="Sandbox bank", callback_secret="bench-secret-123",
                                  latency_ms=0)
    branch = Branch.objects.exclude(code="hq").order_by("code").first() or Branch.objects.first()
    partner = partner_create(actor=None, code="BENCH", name="Benchmark channel", branch=branch, products=[product],
                             throttle_rate="1000000/min")
    _key, plaintext = partner_api_key_issue(partner=partner, name="bench", actor=None)
    today = business_date()
    ids = []
    for index in range(lines):
        applicant, _created = applicant_get_or_create(
            actor=None, name=f"借款人{index}", mobile=f"137{index:08d}", monthly_income="20000.00",
            employment="employed", address="上海市黄浦区中山东一路 1 号",
            id_number=build_resident_id(region="310101", birth_date=base.date(1980, 1, 1) + base.timedelta(days=index),
                                        sequence=f"{index % 9}{index % 100:02d}"))
        application = CreditApplication.objects.create(
            number=f"CABENCH{index:08d}", product_version=product.current_version, branch=branch, partner=partner,
            applicant=applicant, amount=Decimal("200000.00"), term=12, repayment_method="equal_installment",
            purpose="education", status="approved")
        ids.append(CreditLine.objects.create(
            application=application, applicant=applicant, product_version=product.current_version, branch=branch,
            partner=partner, limit=Decimal("200000.00"), rate_percent=Decimal("7"), rate_basis="annual", grade="B",
            valid_from=today, valid_until=today + base.timedelta(days=365), revolving=True).pk)
    return plaintext, ids


def body(index: int, run: str, amount: int | None = None) -> dict:
    amount = amount or 10000 + (index % 4) * 10000  # 10,000 (own funds) … 40,000 (co-lent)
    return {"amount": f"{amount}.00", "term": 12, "term_unit": "months", "repayment_method": "equal_installment",
            "purpose": "education", "bank_account": "6222021234567890128", "external_reference": f"{run}-{index}"}


def submit_all(port, key, lines, indexes, run, *, clients, rate, amount=None) -> list[tuple]:
    """POST one drawdown per index (line ``lines[index % len]``); (id, sent at, answer s)."""
    results, failures, lock = [], [], threading.Lock()
    start = time.time() + 0.2
    cursor = iter(enumerate(indexes))

    def run_client():
        client = base.Client(port, key)
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            position, index = item
            if rate > 0:
                delay = start + position / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            sent = time.time()
            status, answer = client.request("POST", f"/api/v1/credit-lines/{lines[index % len(lines)]}/drawdowns",
                                            body(index, run, amount))
            with lock:
                if status == 201:
                    results.append((answer["id"], sent, time.time() - sent))
                else:
                    failures.append(f"{status} {answer}")

    threads = [threading.Thread(target=run_client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures and not rate < 0:
        print(f"{len(failures)} requests refused, e.g. {failures[:2]}")
    return results


def wait_booked(ids: list[int], timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    rows: dict = {}
    while time.monotonic() < deadline:
        rows = dict(Loan.objects.filter(drawdown_id__in=ids).values_list("drawdown_id", "created_at"))
        ended = Drawdown.objects.filter(pk__in=ids, status__in=["rejected", "failed", "cancelled"]).count()
        if len(rows) + ended >= len(ids):
            return {pk: moment.timestamp() for pk, moment in rows.items()}
        time.sleep(0.25)
    raise SystemExit(f"only {len(rows)} of {len(ids)} drawdowns were booked within {timeout:.0f} s")


def contended(port: int, key: str) -> None:
    """50 concurrent drawdowns of 10,000.00 on one line of 100,000.00 (its borrower passes the
    in-loan check: a line with a disbursed drawdown, which is cancelled out of the way first)."""
    line = CreditLine.objects.filter(drawdowns__status="disbursed").order_by("pk").first()
    fresh = Decimal("100000.00") + line.used  # 100,000.00 available whatever it drew before
    CreditLine.objects.filter(pk=line.pk).update(limit=fresh)
    before = line.used
    submitted = submit_all(port, key, [line.pk], list(range(900000, 900050)), uuid.uuid4().hex[:6], clients=50,
                           rate=0, amount=10000)
    submitted_ids = [row[0] for row in submitted]
    wait_booked(submitted_ids, timeout=300)
    line.refresh_from_db()
    booked = Loan.objects.filter(drawdown_id__in=submitted_ids).aggregate(total=Sum("principal"))["total"] or 0
    used = line.used - before
    print(f"contended line: {len(submitted)} of 50 accepted, used {used} ≤ 100,000.00: {used <= 100000}; "
          f"used = Σ booked ({booked}): {used == booked}; held {line.held}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="drawdowns counted")
    parser.add_argument("--lines", type=int, default=1000, help="active credit lines drawn on in turn")
    parser.add_argument("--rate", type=float, default=30.0, help="offered drawdowns per second (0: flat out)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=20)
    # 2 gunicorn processes × 4 threads and 3 worker processes: the best of the shapes measured on
    # 2 CPUs (docs/benchmarks.md, 2026-12-06 afternoon) — a third worker process uses the CPU the
    # other two leave while they wait for PostgreSQL
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--pool", choices=("prefork", "solo"), default="prefork")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--contended", action="store_true", help="also the 50-on-one-line run")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.redis.rstrip("/").endswith("/0") or args.redis.count("/") < 3:
        raise SystemExit("give --redis a database number of its own, e.g. redis://127.0.0.1:6379/15")

    original = connection.settings_dict["NAME"]
    name = fresh_database()
    processes = []
    probe = None
    try:
        began = time.perf_counter()
        key, lines = seed(args.lines)
        connection.close()
        port = base.free_port()
        processes = [base.start_web(args, port), *base.start_worker(args)]
        base.wait_until_up(port, key, processes)
        print(f"Set up {name} with {len(lines)} lines in {time.perf_counter() - began:.1f} s")
        probe = HostProbe()
        idle_from = time.monotonic()
        time.sleep(5)  # the host's speed with the servers idle
        idle_until = time.monotonic()
        run = uuid.uuid4().hex[:6]
        warm = submit_all(port, key, lines, list(range(args.warmup)), run, clients=args.clients, rate=0)
        wait_booked([row[0] for row in warm], timeout=180)

        cpu_before, machine_before = base.cpu_by_role(processes, name), base.machine_cpu()
        load_before = os.getloadavg()
        run_from = time.monotonic()
        indexes = list(range(args.warmup, args.warmup + args.n))
        submitted = submit_all(port, key, lines, indexes, run, clients=args.clients, rate=args.rate)
        booked = wait_booked([row[0] for row in submitted], timeout=max(180, args.n))
        cpu_after, machine_after = base.cpu_by_role(processes, name), base.machine_cpu()
        load_after = os.getloadavg()
        run_until = time.monotonic()
        probe.stop()
        per = {role: (cpu_after[role] - cpu_before[role]) * 1000 / args.n for role in cpu_after}
        busy = (machine_after["busy"] - machine_before["busy"]) * 1000 / args.n
        latencies = sorted(booked[pk] - sent for pk, sent, _answer in submitted if pk in booked)
        answers = sorted(answer for _pk, _sent, answer in submitted)
        span = max(booked.values()) - min(sent for _pk, sent, _answer in submitted)
        statuses = Counter(Drawdown.objects.filter(pk__in=[row[0] for row in submitted])
                           .values_list("status", flat=True))
        print(f"{os.cpu_count()} CPUs, load average before {load_before[0]:.2f} / after {load_after[0]:.2f}")
        print(f"drawdowns: {len(submitted)} ({args.rate:.0f}/s offered, {args.clients} clients); "
              + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        print(f"request → booked: median {statistics.median(latencies) * 1000:.0f} ms   "
              f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms   max {latencies[-1] * 1000:.0f} ms")
        print(f"booked per second: {len(latencies) / span:.1f}")
        print(f"API answer: median {statistics.median(answers) * 1000:.0f} ms, "
              f"p95 {percentile(answers, 0.95) * 1000:.0f} ms")
        total = sum(per[role] for role in ("web", "worker", "postgres", "redis"))
        print(f"CPU per drawdown: gunicorn {per['web']:.0f} ms, worker {per['worker']:.0f} ms, PostgreSQL "
              f"{per['postgres']:.0f} ms, Redis {per['redis']:.1f} ms — {total:.0f} ms in all; load generator "
              f"{per['load generator']:.0f} ms; the rest of the machine "
              f"{max(busy - total - per['load generator'], 0):.0f} ms")
        own = sum(per[role] for role in ("web", "worker", "postgres (database)", "redis"))
        print(f"  PostgreSQL backends of {name} alone: {per['postgres (database)']:.0f} ms — gunicorn + worker + "
              f"these + Redis {own:.0f} ms per drawdown (≤ {2000 / own:.1f} booked/s on 2 CPUs)")
        idle, during = probe.median(idle_from, idle_until), probe.median(run_from, run_until)
        if idle and during:
            print(f"host speed (bench/hostprobe.py, a fixed Python workload's CPU time; higher is slower): "
                  f"idle {idle:.1f} ms, during the run {during:.1f} ms")
        if args.contended:
            contended(port, key)
    finally:
        if probe is not None:
            probe.stop()
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
