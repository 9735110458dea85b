"""Benchmark: applications submitted through the partner API over real HTTP, decided by a real
Celery worker; submit → decision latency and applications decided per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_api \\
        .venv/bin/python bench/origination.py --n 600 --rate 30 --redis redis://127.0.0.1:6379/8

What it does:

1. Creates a fresh database ``bench_<name>`` of DATABASE_URL (schema from the models, dropped at
   the end unless ``--keep``), loads the demo data (products, work groups, the demo risk
   policies, the credit-flow configuration), sets every sandbox provider to zero latency and
   creates a partner selling the four demo products, with an API key.
2. Starts gunicorn (``--web-workers`` processes × ``--threads`` threads) on 127.0.0.1 and a Celery
   worker (prefork, ``--concurrency`` processes) on the given Redis database, whose ``celery``
   queue it empties first: give it a Redis database of its own (never 0).
3. Warms both up (``--warmup`` applications, not counted), then ``--clients`` threads POST
   ``/api/v1/applications`` (keep-alive HTTP/1.1, an Idempotency-Key each): at ``--rate``
   applications per second in total (open loop: a slow answer does not lower the offered
   rate), or as fast as they can with ``--rate 0``. Each application has its own applicant
   (every decision pulls all five sources), over the four products, 1 in 10 a sandbox profile
   (docs/sandbox.md; not 91x, the bureau that never answers).
4. Waits until every application has its automated decision and reports, from the client's send
   time to the server's ``decided_at``: median, p95 and max latency; decided per second (counted
   applications ÷ first send → last decision); the API's own answer time; outcomes; the CPU time
   gunicorn, the worker and the PostgreSQL server spent per application (from /proc), which
   bounds the throughput whatever the load; the load average, and the CPU the rest of the
   machine took meanwhile (other processes, and time stolen by the hypervisor, from /proc/stat):
   the machine is shared, and other work shows up in the figures. ``--split`` measures the API and
   the worker apart instead.

Target (issue 4): p95 ≤ 1 s and ≥ 30 applications decided per second on the 2-CPU machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from creditfactory.organisations.models import Branch  # noqa: E402
from creditfactory.partners.services.partners import partner_api_key_issue, partner_create  # noqa: E402
from products.models import LoanProduct  # noqa: E402
from risk.models import Decision  # noqa: E402
from risk.validators import build_credit_code, build_resident_id  # noqa: E402
from workflows.models import CreditApplication  # noqa: E402

from support import fresh_database, percentile, seed_demo  # noqa: E402  (bench/support.py)

# product → (amount, term in months, method, purpose); business loans also send an enterprise.
REQUESTS = {
    "EMERGENCY": ("3000.00", 3, "bullet", "emergency"),
    "EDUCATION": ("30000.00", 24, "equal_installment", "education"),
    "RENOVATION": ("80000.00", 36, "equal_principal", "renovation"),
    "BUSINESS": ("200000.00", 24, "interest_first", "working_capital"),
}
EMPLOYMENT = ("employed", "employed", "employed", "self_employed", "business_owner")
PRODUCTS = sorted(REQUESTS)
PROFILES = ("90", "92", "93", "94", "95", "96", "97", "98", "99")


# --- setup ----------------------------------------------------------------------------------------


def seed() -> str:
    """Demo data at zero latency and a partner selling every demo product; returns its API key."""
    seed_demo()
    branch = Branch.objects.exclude(code="hq").order_by("code").first() or Branch.objects.first()
    partner = partner_create(actor=None, code="BENCH", name="Benchmark channel", branch=branch,
                             products=list(LoanProduct.objects.filter(code__in=REQUESTS)), throttle_rate="1000000/min")
    _key, plaintext = partner_api_key_issue(partner=partner, name="bench", actor=None)
    return plaintext


def payload(index: int, run: str) -> dict:
    product = PRODUCTS[index % len(PRODUCTS)]
    amount, term, method, purpose = REQUESTS[product]
    # Sequences 000-899 are ordinary sandbox applicants; every 10th uses a profile (90x-99x) other
    # than 91x, whose bureau never answers (that measures the retry back-off, not the pipeline).
    profile = PROFILES[index // 10 % len(PROFILES)]
    sequence = f"{profile}{index % 10}" if index % 10 == 0 else f"{index % 9}{index % 100:02d}"
    body = {
        "product": product, "amount": amount, "term": term, "term_unit": "months", "repayment_method": method,
        "purpose": purpose, "external_reference": f"{run}-{index}",
        "applicant": {
            "name": f"申请人{index}",
            "id_number": build_resident_id(region="310101", birth_date=date(1975, 1, 1) + timedelta(days=index % 9000),
                                           sequence=sequence),
            "mobile": f"139{index % 10 ** 8:08d}", "monthly_income": f"{6000 + 500 * (index % 40)}.00",
            "employment": EMPLOYMENT[index % len(EMPLOYMENT)], "address": "上海市黄浦区中山东一路 1 号",
            "years_at_employer": index % 8,
        },
        "consents": {"credit_report": True, "personal_information": True},
    }
    if product == "BUSINESS":
        # Each business applicant its own enterprise (one shared row would serialise the requests
        # on its row lock, which measures the lock queue, not the pipeline).
        body["enterprise"] = {"name": f"示例贸易有限公司{index}", "credit_code": build_credit_code(f"913502007{index:08d}"),
                              "years_in_business": 6, "annual_revenue": "3200000.00"}
    return body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(redis_url: str) -> dict:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": "",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }


def start_web(args, port: int) -> subprocess.Popen:
    import redis

    redis.Redis.from_url(args.redis).delete("celery")  # leftovers of an interrupted run
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "creditfactory.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--worker-class", "gthread", "--threads", str(args.threads),
         "--log-level", "warning", "--keep-alive", "30"],
        cwd=ROOT, env=child_env(args.redis))


def start_worker(args) -> list[subprocess.Popen]:
    """``--pool prefork``: one worker with ``--concurrency`` child processes; ``--pool solo``:
    ``--concurrency`` workers of one process each (no parent/child hand-over per task)."""
    common = [sys.executable, "-m", "celery", "-A", "creditfactory", "worker", "--loglevel", "WARNING",
              "--without-gossip", "--without-mingle", "--without-heartbeat"]
    if args.pool == "solo":
        return [subprocess.Popen([*common, "--pool", "solo", "-n", f"bench{i}@%h"], cwd=ROOT, env=child_env(args.redis))
                for i in range(args.concurrency)]
    return [subprocess.Popen([*common, "--pool", "prefork", "--concurrency", str(args.concurrency)],
                             cwd=ROOT, env=child_env(args.redis))]


# --- load -----------------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection to the API."""

    def __init__(self, port: int, key: str):
        self.port, self.key = port, key
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (ConnectionError, http.client.HTTPException, OSError):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def wait_until_up(port: int, key: str, processes, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise SystemExit("gunicorn or the worker exited at start")
        try:
            status, _body = Client(port, key).request("GET", "/api/v1/partner")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the API did not come up")


def submit_all(port: int, key: str, indexes: list[int], run: str, *, clients: int, rate: float) -> list[tuple]:
    """POST one application per index; returns (application id, sent at (epoch s), answer s)."""
    results: list[tuple] = []
    lock = threading.Lock()
    failures: list[str] = []
    start = time.time() + 0.2
    cursor = iter(enumerate(indexes))

    def run_client():
        client = Client(port, key)
        while True:
            with lock:
                item = next(cursor, None)
            if item is None:
                return
            position, index = item
            if rate > 0:  # open loop: the n-th application is due at start + n / rate
                delay = start + position / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
            sent = time.time()
            status, body = client.request("POST", "/api/v1/applications", payload(index, run))
            answered = time.time() - sent
            with lock:
                if status == 201:
                    results.append((body["id"], sent, answered))
                else:
                    failures.append(f"{status} {body}")

    threads = [threading.Thread(target=run_client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} submissions failed, e.g. {failures[:3]}")
    return results


def wait_decided(ids: list[int], timeout: float) -> dict[int, float]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = dict(CreditApplication.objects.filter(pk__in=ids, decided_at__isnull=False)
                    .values_list("pk", "decided_at"))
        if len(rows) == len(ids):
            return {pk: moment.timestamp() for pk, moment in rows.items()}
        time.sleep(0.25)
    raise SystemExit(f"only {len(rows)} of {len(ids)} applications were decided within {timeout:.0f} s")


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, CPU seconds used, CPU seconds of its exited and reaped children) of a process,
    from /proc (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def cpu_by_role(processes: list[subprocess.Popen], database: str | None = None) -> dict[str, float]:
    """CPU seconds used so far by the web server, the worker (each with its children) and
    PostgreSQL: every server process (backends, WAL writer, checkpointer) and, through the
    postmaster's children times, the backends that exited during the run: nothing else uses the
    database server while the benchmark runs. With ``database``, also ``"postgres (database)"``:
    the backends connected to that database alone (live ones: a backend that exited during the
    run is not counted) — the figure that holds when other databases of the server are busy."""
    # The web server first, then the worker processes.
    roots = {process.pid: "web" if index == 0 else "worker" for index, process in enumerate(processes)}
    totals = {"web": 0.0, "worker": 0.0, "postgres": 0.0, "redis": 0.0, "postgres (database)": 0.0}
    pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    for pid in pids:
        stat = _stat(pid)
        if stat is None:
            continue
        parent, seconds, reaped = stat
        role = roots.get(pid) or roots.get(parent)
        if role is None:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    command = fh.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if command.startswith("postgres: "):
                role = "postgres"  # a backend or one of the server's own processes
                words = command.split()  # postgres: [<cluster>:] <user> <database> <client> <state>
                if words[1].endswith(":"):
                    words = words[1:]
                if database is not None and len(words) > 2 and words[2] == database:
                    totals["postgres (database)"] += seconds
            elif command.split(" ", 1)[0].endswith("/postgres"):
                role = "postgres"
                seconds += reaped  # the postmaster: backends that have exited since it started
            elif command.startswith("redis-server"):
                role = "redis"
        if role is not None:
            totals[role] += seconds
    totals["load generator"] = sum(os.times()[:2])  # this process: the client threads and the polling
    return totals


def machine_cpu() -> dict[str, float]:
    """CPU seconds the whole machine has spent busy and had stolen by the hypervisor since boot,
    from /proc/stat (Linux): what the run's own processes do not account for is someone else's."""
    with open("/proc/stat") as fh:
        values = [int(value) for value in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    tick = os.sysconf("SC_CLK_TCK")
    return {"busy": (user + nice + system + irq + softirq) / tick, "steal": steal / tick}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600, help="applications counted")
    parser.add_argument("--rate", type=float, default=30.0, help="offered applications per second (0: flat out)")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--warmup", type=int, default=40, help="applications sent first, not counted")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--pool", choices=("prefork", "solo"), default="prefork",
                        help="prefork: one worker, --concurrency children; solo: --concurrency workers")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
                        help="Redis database of its own for the broker (never 0)")
    parser.add_argument("--split", action="store_true",
                        help="measure the API alone (worker stopped), then the worker alone draining the queue")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if args.redis.rstrip("/").endswith("/0") or args.redis.count("/") < 3:
        raise SystemExit("give --redis a database number of its own, e.g. redis://127.0.0.1:6379/15")

    original = connection.settings_dict["NAME"]
    name = fresh_database()
    processes: list[subprocess.Popen] = []
    try:
        began = time.perf_counter()
        key = seed()
        connection.close()  # the children open their own; this process polls with a fresh one
        port = free_port()
        processes = [start_web(args, port), *start_worker(args)]
        wait_until_up(port, key, processes)
        print(f"Set up {name}, gunicorn {args.web_workers}×{args.threads} threads and {args.concurrency} "
              f"worker processes ({args.pool}) in {time.perf_counter() - began:.1f} s")

        run = uuid.uuid4().hex[:6]
        warm = submit_all(port, key, list(range(args.warmup)), run, clients=args.clients, rate=0)
        wait_decided([row[0] for row in warm], timeout=120)

        load_before = os.getloadavg()
        cpu_before = cpu_by_role(processes)
        machine_before = machine_cpu()
        indexes = list(range(args.warmup, args.warmup + args.n))
        if args.split:
            # The two halves apart: the API alone with the worker stopped, then the worker alone
            # draining the queue.
            workers, processes[1:] = processes[1:], []
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=30)
            began = time.time()
            submitted = submit_all(port, key, indexes, run, clients=args.clients, rate=0)
            accepted = time.time() - began
            processes[0].terminate()
            processes[0].wait(timeout=30)
            began = time.time()
            processes[:] = start_worker(args)
            decided = wait_decided([row[0] for row in submitted], timeout=max(120, args.n))
            print(f"API alone: {len(submitted) / accepted:.1f} applications accepted per second; worker alone: "
                  f"{len(submitted) / (max(decided.values()) - began):.1f} decided per second (including its start)")
        else:
            submitted = submit_all(port, key, indexes, run, clients=args.clients, rate=args.rate)
            decided = wait_decided([row[0] for row in submitted], timeout=max(120, args.n))
            cpu_after = cpu_by_role(processes)
            machine_after = machine_cpu()
            per_application = {role: (cpu_after[role] - cpu_before[role]) * 1000 / args.n for role in cpu_after}
            per_application.update({f"machine {key}": (machine_after[key] - machine_before[key]) * 1000 / args.n
                                    for key in machine_after})
        load_after = os.getloadavg()

        latencies = sorted(decided[pk] - sent for pk, sent, _answer in submitted)
        answers = sorted(answer for _pk, _sent, answer in submitted)
        first_sent = min(sent for _pk, sent, _answer in submitted)
        span = max(decided.values()) - first_sent
        outcomes = Counter(Decision.objects.filter(application_id__in=decided, status="current")
                           .values_list("outcome", flat=True))
        statuses = Counter(CreditApplication.objects.filter(pk__in=decided).values_list("status", flat=True))
        print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average before "
              f"{load_before[0]:.2f} / after {load_after[0]:.2f} (1 min); PostgreSQL {connection.pg_version // 10000}")
        offered = "API and worker apart" if args.split else f"{args.rate:.0f}/s offered" if args.rate else "flat out"
        print(f"applications: {len(latencies)} ({offered}, {args.clients} clients)")
        if not args.split:  # apart, the latency is mostly the wait for the worker to start
            print(f"submit → decision: median {statistics.median(latencies) * 1000:.0f} ms   "
                  f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms   max {latencies[-1] * 1000:.0f} ms")
            print(f"decided per second: {len(latencies) / span:.1f}")
        print(f"API answer: median {statistics.median(answers) * 1000:.0f} ms, "
              f"p95 {percentile(answers, 0.95) * 1000:.0f} ms")
        print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) + "; statuses: "
              + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
        if not args.split:
            platform_total = sum(per_application[role] for role in ("web", "worker", "postgres", "redis"))
            print(f"CPU per application: gunicorn {per_application['web']:.0f} ms, worker "
                  f"{per_application['worker']:.0f} ms, PostgreSQL {per_application['postgres']:.0f} ms, Redis "
                  f"{per_application['redis']:.1f} ms — {platform_total:.0f} ms in all, so at most "
                  f"{os.cpu_count() * 1000 / platform_total:.1f} applications/s on {os.cpu_count()} CPUs with "
                  f"nothing else running; the load generator (this process) took "
                  f"{per_application['load generator']:.0f} ms more of the same CPUs")
            others = per_application["machine busy"] - platform_total - per_application["load generator"]
            print(f"the rest of the machine: other processes {max(others, 0):.1f} ms per application, "
                  f"stolen by the hypervisor {per_application['machine steal']:.1f} ms")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        connection.close()
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
