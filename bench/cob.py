"""Benchmark: the daily close (日终 / COB) of a large book on a real Celery worker pool, against a
bare set-based SQL floor doing the same accrual and overdue marking.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_close \\
        .venv/bin/python bench/cob.py --loans 100000 --workers 2 --redis redis://127.0.0.1:6379/4

What it does:

1. Creates a fresh database ``bench_<name>`` (schema from the models, as the other benches) with
   the demo data (products, the demo risk policies with their post-loan monitoring rule set
   ``POST_LOAN_STD``), three funders (own funds; a 30/70 co-lending pair) and books template
   loans through ``loan_book``: EDUCATION loans of 6,000–48,000, 12 and 24 months, equal
   installments and equal principal, value dates every 6 days over the year before the closed
   date, one in ten co-lent. ``--loans`` loans are then written with COPY (loans, installments,
   funder parts; applicants, lines and drawdowns cloned set-based, five loans per line) in the
   state the close of the day before left them: installments due before it paid — except for
   one loan in ten, whose last one to three due installments are unpaid (overdue, DPD > 0) —
   the current period's interest accrued to the day, watermarks at the day before.
2. Starts ``--workers`` Celery worker processes (``--pool solo`` each; ``--pool prefork`` one
   worker with ``--workers`` children) on the given Redis database, whose ``celery`` queue it
   empties first: give it a Redis database of its own (never 0).
3. The floor: in one transaction rolled back, two set-based statements over the whole book (no
   chunks, locks, ledger, logging or webhooks) doing the close's interest and penalty accrual,
   overdue marking, DPD and statuses. Then VACUUM ANALYZE.
4. The close of the date: the nightly task (``servicing.close_day``) fanned out over the workers
   in ``CLOSE_CHUNK_SIZE`` chunks (``--chunk``): wall seconds of the close stage and of the
   start of the next day, loans per second, and per phase the seconds summed over the chunks.
   Then the same date again (``close_day_task(on_date=…)``): its rows written (must be 0).
5. ``--scale-out``: the next date is closed too, with the worker processes doubled (one → two
   processes): the two walls side by side.

Targets (issue 16 §7) on the 2-CPU machine: the whole close ≤ 120 s for 1,000,000 loans and
≤ 3 × the floor.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import subprocess
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes (solo) or children (prefork)")
    parser.add_argument("--pool", choices=("solo", "prefork"), default="solo")
    parser.add_argument("--chunk", type=int, default=5000, help="CLOSE_CHUNK_SIZE")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/4", help="a Redis database of its own")
    parser.add_argument("--scale-out", action="store_true",
                        help="also close the next date with one worker process, then the one after with two")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the one-statement floor")
    parser.add_argument("--no-rerun", action="store_true",
                        help="stop after the first close (no draining of its queue, no re-run of the date)")
    return parser.parse_args()


ARGS = _arguments() if __name__ == "__main__" else None
if ARGS is not None:  # this process sends the tasks to the workers' broker (not eagerly)
    os.environ["CELERY_BROKER_URL"] = ARGS.redis
    os.environ["CELERY_RESULT_BACKEND"] = ""

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from servicing.models import CloseRun, Installment, Loan  # noqa: E402
from servicing.services.calendar import business_date, business_date_set  # noqa: E402
from servicing.services.close import close_run_summary  # noqa: E402
from servicing.services.loans import loan_book  # noqa: E402
from support import fresh_database, seed_demo  # noqa: E402  (bench/support.py)

DAY = datetime.date(2027, 6, 15)  # the date closed
EVE = DAY - datetime.timedelta(days=1)  # closed before the benchmark starts
PER_LINE = 5
FEN = Decimal("0.01")


def _fen(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


# --- the book ------------------------------------------------------------------------------------


def _templates() -> list[Loan]:
    """Template loans booked through ``loan_book``: the schedules the clones copy."""
    from tests.servicing.factories import make_drawdown, make_funder, make_line

    own = make_funder("own")
    bank_a, bank_b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    business_date_set(date=DAY, reason="bench")
    line = make_line(sequence="900", limit=Decimal("100000000.00"))
    loans, index = [], 0
    for k in range(1, 61):
        value_date = DAY - datetime.timedelta(days=6 * k)
        for amount, term, method in ((Decimal("6000.00"), 12, "equal_installment"),
                                     (Decimal("24000.00"), 24, "equal_installment"),
                                     (Decimal("48000.00"), 12, "equal_principal")):
            index += 1
            funders = [(bank_a, Decimal(30)), (bank_b, Decimal(70))] if index % 10 == 0 else [(own, Decimal(100))]
            loans.append(loan_book(drawdown=make_drawdown(line=line, amount=amount + index, term=term,
                                                          repayment_method=method, value_date=value_date,
                                                          funders=funders)))
    return loans


def _rows(table: str, where: str, params) -> tuple[list[str], list[dict]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {where}", params)
        names = [column.name for column in cursor.description]
        return names, [dict(zip(names, row)) for row in cursor.fetchall()]


def _text(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _state(installments: list[dict], unpaid: int) -> tuple[list[dict], dict]:
    """The installments and the loan's balances as the close of EVE leaves them, with the last
    ``unpaid`` installments due by then unpaid."""
    due = [i for i in installments if i["due_date"] <= EVE]
    late = {i["number"] for i in due[len(due) - unpaid:]} if unpaid else set()
    rows = []
    for i in installments:
        i = dict(i, principal_paid=Decimal("0.00"), interest_paid=Decimal("0.00"), fee_paid=Decimal("0.00"),
                 penalty_accrued=Decimal("0.00"), penalty_paid=Decimal("0.00"), settled_on=None)
        if i["due_date"] <= EVE:
            i["interest_accrued"] = i["interest"]
            if i["number"] in late:
                i["status"] = "overdue"
            else:
                i.update(status="paid", principal_paid=i["principal"], interest_paid=i["interest"],
                         fee_paid=i["fee"], settled_on=i["due_date"])
        elif i["period_start"] <= EVE:
            days = (i["due_date"] - i["period_start"]).days
            i["interest_accrued"] = _fen(i["interest"] * ((EVE - i["period_start"]).days + 1) / days)
            i["status"] = "due" if i["due_date"] == DAY else "pending"
        else:
            i["interest_accrued"], i["status"] = Decimal("0.00"), "due" if i["due_date"] == DAY else "pending"
        rows.append(i)
    earliest = min((i["due_date"] for i in rows if i["status"] == "overdue"), default=None)
    loan = {
        "principal_outstanding": sum(i["principal"] - i["principal_paid"] for i in rows),
        "interest_receivable": sum(i["interest_accrued"] - i["interest_paid"] for i in rows),
        "fee_receivable": sum(i["fee"] - i["fee_paid"] for i in rows if i["due_date"] <= EVE),
        "penalty_receivable": Decimal("0.00"), "credit_balance": Decimal("0.00"),
        "status": "overdue" if earliest else "active", "days_past_due": (DAY - earliest).days if earliest else 0,
        "next_due_date": min(i["due_date"] for i in rows if i["due_date"] > EVE),
        "accrued_through": EVE, "penalty_through": EVE, "closed_through": EVE,
    }
    return rows, loan


def _split(amount: Decimal, parts: list[dict]) -> list[Decimal]:
    others = [_fen(amount * p["share_percent"] / 100) if not p["lead"] else None for p in parts]
    rest = amount - sum(x for x in others if x is not None)
    return [rest if x is None else x for x in others]


class _Variant:
    """A template in one state: the COPY text of its loan row (with placeholders for the clone's
    own columns), of its installments and of its parts (each line without the loan id)."""

    def __init__(self, names, loan, installment_names, installments, part_names, parts, unpaid):
        rows, state = _state(installments, unpaid)
        self.overdue = state["status"] == "overdue"
        row = dict(loan, **state)
        own = {"id": "{id}", "number": "{number}", "drawdown_id": "{drawdown}", "credit_line_id": "{line}",
               "applicant_id": "{applicant}"}
        self.loan = "\t".join(own.get(n) or _text(row[n]).replace("{", "{{").replace("}", "}}") for n in names) + "\n"
        columns = [n for n in installment_names if n not in ("id", "loan_id")]
        self.installments = ["\t" + "\t".join(_text(r[n]) for n in columns) + "\n" for r in rows]
        principal = _split(state["principal_outstanding"], parts)
        interest = _split(state["interest_receivable"], parts)
        part_columns = [n for n in part_names if n not in ("id", "loan_id")]
        self.parts = []
        for part, p, i in zip(parts, principal, interest):
            values = dict(part, principal_outstanding=p, interest_receivable=i, penalty_receivable=Decimal("0.00"),
                          fee_receivable=Decimal("0.00"), credit_balance=Decimal("0.00"))
            self.parts.append("\t" + "\t".join(_text(values[n]) for n in part_columns) + "\n")
        self.installment_columns, self.part_columns = columns, part_columns


def _clone(table: str, *, template_id: int, count: int, overrides: dict[str, str]) -> int:
    """``count`` copies of one row, set-based; returns the id before the first copy."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                       "AND column_name <> 'id' ORDER BY ordinal_position", [table])
        columns = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(max(id), 0) FROM {table}")
        before = cursor.fetchone()[0]
        select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
        names = ", ".join(f'"{column}"' for column in columns)
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t, generate_series(1, %s) g "
                       f"WHERE t.id = %s", [count, template_id])
        # one statement takes its ids from the sequence in order: the copies are first + 1 … first + count
        cursor.execute(f"SELECT min(id) - 1, max(id) - min(id) + 1 FROM {table} WHERE id > %s", [before])
        first, copied = cursor.fetchone()
    assert copied == count, (table, copied, count)
    return first


def build(*, loans: int) -> dict:
    started = time.perf_counter()
    seed_demo()
    # the sandbox bank at zero latency: the scheduled debits the start of day asks drain in
    # seconds, not 200 ms each, before the re-run is measured
    from servicing.models import PaymentChannel

    PaymentChannel.objects.update(latency_ms=0)
    templates = _templates()
    loan_names, _rows_ = _rows("servicing_loan", "id = ANY(%s)", [[t.pk for t in templates]])
    by_id = {row["id"]: row for row in _rows_}
    installment_names, installment_rows = _rows("servicing_installment", "loan_id = ANY(%s) ORDER BY number",
                                                [[t.pk for t in templates]])
    part_names, part_rows = _rows("servicing_loanpart", "loan_id = ANY(%s) ORDER BY id", [[t.pk for t in templates]])
    variants = []  # per template: [current, 1, 2, 3 installments unpaid]
    for template in templates:
        installments = [row for row in installment_rows if row["loan_id"] == template.pk]
        parts = [row for row in part_rows if row["loan_id"] == template.pk]
        due = sum(1 for row in installments if row["due_date"] <= EVE)
        variants.append([_Variant(loan_names, by_id[template.pk], installment_names, installments, part_names, parts,
                                  min(unpaid, due)) for unpaid in range(4)])
    line = templates[0].credit_line
    drawdown = templates[0].drawdown
    # every clone's account ends 0004 (the sandbox bank's insufficient funds): the start of day's
    # scheduled debits are asked and answered, but none pays, so the re-run of the date sees the
    # book the first run left (a debit that pays would rightly move loans between the two runs)
    drawdown.bank_account = "6222021234567890004"
    drawdown.save(update_fields=["bank_account"])
    lines = -(-loans // PER_LINE)
    with transaction.atomic():
        applicant0 = _clone("risk_applicant", template_id=line.applicant_id, count=lines, overrides={
            "id_number_index": "'bench' || g", "mobile_index": "'bench' || g"})
        application0 = _clone("workflows_creditapplication", template_id=line.application_id, count=lines, overrides={
            "number": "'BA' || lpad(g::text, 10, '0')", "process_id": "NULL", "applicant_id": f"{applicant0} + g"})
        line0 = _clone("servicing_creditline", template_id=line.pk, count=lines, overrides={
            "application_id": f"{application0} + g", "applicant_id": f"{applicant0} + g",
            "valid_until": "'2099-12-31'"})
        drawdown0 = _clone("servicing_drawdown", template_id=drawdown.pk, count=loans, overrides={
            "number": "'BD' || lpad(g::text, 10, '0')", "credit_line_id": f"{line0} + 1 + (g - 1) / {PER_LINE}",
            "applicant_id": f"{applicant0} + 1 + (g - 1) / {PER_LINE}"})
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(max(id), 0) FROM servicing_loan")
            loan0 = cursor.fetchone()[0]
    cloned = time.perf_counter()
    overdue = co_lent = 0
    block = 20_000
    sample = variants[0][0]
    copy_loans = f"COPY servicing_loan ({', '.join(loan_names)}) FROM STDIN"
    copy_installments = f"COPY servicing_installment (loan_id, {', '.join(sample.installment_columns)}) FROM STDIN"
    copy_parts = f"COPY servicing_loanpart (loan_id, {', '.join(sample.part_columns)}) FROM STDIN"
    with transaction.atomic():
        raw = connection.cursor().cursor
        for start in range(0, loans, block):
            loan_text, installment_text, part_text = [], [], []
            for g in range(start + 1, min(start + block, loans) + 1):
                template = variants[g % len(variants)]
                variant = template[1 + (g // 10) % 3] if g % 10 == 3 else template[0]
                loan_id = loan0 + g
                loan_text.append(variant.loan.format(id=loan_id, number=f"BL{g:010d}", drawdown=drawdown0 + g,
                                                     line=line0 + 1 + (g - 1) // PER_LINE,
                                                     applicant=applicant0 + 1 + (g - 1) // PER_LINE))
                prefix = str(loan_id)
                installment_text.extend(prefix + row for row in variant.installments)
                part_text.extend(prefix + row for row in variant.parts)
                overdue += variant.overdue
                co_lent += len(variant.parts) > 1
            raw.copy_expert(copy_loans, io.StringIO("".join(loan_text)))
            raw.copy_expert(copy_installments, io.StringIO("".join(installment_text)))
            raw.copy_expert(copy_parts, io.StringIO("".join(part_text)))
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('servicing_loan', 'id'), max(id)) FROM servicing_loan")
            # the templates are closed through EVE too (their state as a clone's): simplest, they leave the book
            Loan.objects.filter(pk__in=[t.pk for t in templates]).update(status="closed", closed_on=EVE)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    figures = {"loans": loans, "overdue": overdue, "co_lent": co_lent, "lines": lines,
               "installments": Installment.objects.filter(loan_id__gt=loan0).count(),
               "setup_s": round(cloned - started, 1), "copy_s": round(time.perf_counter() - cloned, 1)}
    print(f"built {loans} loans ({overdue} overdue, {co_lent} co-lent) with {figures['installments']} installments "
          f"on {lines} lines: templates and clones {figures['setup_s']} s, COPY {figures['copy_s']} s", flush=True)
    return figures


# --- the floor -----------------------------------------------------------------------------------

FLOOR = """
WITH c AS (
    SELECT i.id, i.loan_id, i.due_date,
           CASE WHEN i.period_start <= %(d)s AND i.due_date > %(d)s
                THEN ROUND(i.interest * (%(d)s - i.period_start + 1) / (i.due_date - i.period_start), 2)
                     - i.interest_accrued
                ELSE 0 END AS d_int,
           i.due_date <= %(d)s AS late,
           CASE WHEN i.due_date <= %(d)s AND %(d)s - i.due_date >= v.grace_days
                THEN ROUND((i.principal - i.principal_paid) * l.penalty_rate_percent / 36000, 2) ELSE 0 END AS d_pen
    FROM servicing_installment i JOIN servicing_loan l ON l.id = i.loan_id
         JOIN products_productversion v ON v.id = l.product_version_id
    WHERE i.status <> 'paid' AND i.period_start <= %(d)s AND l.status IN ('active', 'overdue')
),
ins AS (
    UPDATE servicing_installment i
    SET interest_accrued = i.interest_accrued + c.d_int, penalty_accrued = i.penalty_accrued + c.d_pen,
        status = CASE WHEN c.late THEN 'overdue' ELSE i.status END
    FROM c WHERE i.id = c.id AND (c.d_int <> 0 OR c.d_pen <> 0 OR (c.late AND i.status <> 'overdue'))
    RETURNING i.id
),
per_loan AS (
    SELECT loan_id, SUM(d_int) AS d_int, SUM(d_pen) AS d_pen, MIN(due_date) FILTER (WHERE late) AS earliest
    FROM c GROUP BY loan_id
)
UPDATE servicing_loan l
SET interest_receivable = l.interest_receivable + f.d_int, penalty_receivable = l.penalty_receivable + f.d_pen,
    accrued_through = %(d)s, penalty_through = %(d)s, closed_through = %(d)s,
    days_past_due = COALESCE(%(d)s + 1 - f.earliest, 0),
    status = CASE WHEN f.earliest IS NULL THEN 'active' ELSE 'overdue' END
FROM per_loan f WHERE l.id = f.loan_id AND (SELECT COUNT(*) FROM ins) >= 0
"""


def floor(day: datetime.date) -> dict:
    """The same accrual and overdue marking: one statement over the whole book, rolled back."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        started = time.perf_counter()
        cursor.execute(FLOOR, {"d": day})
        loans = cursor.rowcount
        seconds = time.perf_counter() - started
        cursor.execute("ROLLBACK")
        cursor.execute("VACUUM ANALYZE servicing_installment")
        cursor.execute("VACUUM ANALYZE servicing_loan")
    return {"total": seconds, "loans_updated": loans}


# --- the close on workers ------------------------------------------------------------------------


def child_env(redis_url: str, chunk: int) -> dict:
    db = connection.settings_dict
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": "", "DEBUG": "false", "LOG_LEVEL": "WARNING",
            "CLOSE_CHUNK_SIZE": str(chunk)}


def start_workers(*, count: int, pool: str, redis_url: str, chunk: int) -> list[subprocess.Popen]:
    common = [sys.executable, "-m", "celery", "-A", "creditfactory", "worker", "--loglevel", "WARNING",
              "--without-gossip", "--without-mingle", "--without-heartbeat", "--prefetch-multiplier", "1"]
    env = child_env(redis_url, chunk)
    if pool == "solo":
        return [subprocess.Popen([*common, "--pool", "solo", "-n", f"cob{i}-{os.getpid()}@%h"], cwd=ROOT, env=env)
                for i in range(count)]
    return [subprocess.Popen([*common, "--pool", "prefork", "--concurrency", str(count), "-n", f"cob-{os.getpid()}@%h"],
                             cwd=ROOT, env=env)]


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def close_on_workers(*, day: datetime.date, rerun: bool = False, timeout: float = 3600) -> dict:
    """Send the nightly task (or the re-run of ``day``) and wait for the run: its figures with the
    wall seconds of the close stage and of the start of the next day."""
    from servicing.tasks import close_day_task

    known = set(CloseRun.objects.filter(business_date=day).values_list("pk", flat=True))
    started = time.perf_counter()
    if rerun:
        close_day_task.delay(on_date=day.isoformat())
    else:
        close_day_task.delay(until=day.isoformat())
    close_wall = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = CloseRun.objects.filter(business_date=day).exclude(pk__in=known).order_by("-pk").first()
        if run is not None:
            if close_wall is None and run.stage != "close":
                close_wall = time.perf_counter() - started
            if run.status != "running":
                break
        time.sleep(0.05)
    else:
        raise SystemExit(f"the close of {day} did not finish in {timeout} s")
    wall = time.perf_counter() - started
    summary = close_run_summary(run)
    summary.update(wall=wall, close_wall=close_wall or wall, start_of_day_wall=wall - (close_wall or wall))
    return summary


def drain(redis_url: str, timeout: float = 3600) -> float:
    """Wait until the workers have emptied the queue (the reminders' deliveries the close queued):
    the next close is then measured alone. Returns the seconds waited."""
    import redis

    queue, started = redis.Redis.from_url(redis_url), time.perf_counter()
    deadline = time.monotonic() + timeout
    while queue.llen("celery") and time.monotonic() < deadline:
        time.sleep(0.1)
    return time.perf_counter() - started


def report(label: str, summary: dict, *, loans: int) -> None:
    print(f"\n{label}: {summary['status']}, {summary['chunks']} chunks, wall {summary['wall']:.1f} s "
          f"(close {summary['close_wall']:.1f} s + start of day {summary['start_of_day_wall']:.1f} s), "
          f"{loans / summary['wall']:,.0f} loans/s, rows written {summary['rows_written']}")
    counts = {name: value for name, value in summary.items()
              if isinstance(value, int) and name not in ("run", "chunks", "chunks_failed", "rows_written")}
    print("  counts:  " + ", ".join(f"{name}={value}" for name, value in counts.items()))
    print("  seconds (summed over chunks): " + ", ".join(f"{name}={value:.2f}"
                                                         for name, value in summary["seconds"].items()))
    if summary["failures"]:
        print(f"  failures: {summary['failures'][:3]}")


def main(args: argparse.Namespace) -> None:
    import redis

    from creditfactory.celery import app as celery_app

    assert celery_app.conf.broker_url == args.redis and not celery_app.conf.task_always_eager
    name = fresh_database()
    # the schema comes from the models, not the migrations: apply the close's storage settings
    # (fillfactor) the migration sets, before the COPY writes the pages
    with connection.cursor() as cursor:
        for statement in import_module("servicing.migrations.0020_close_storage").storage_sql():
            cursor.execute(statement)
    print(f"{platform.node()} {os.cpu_count()} CPUs, PostgreSQL database {name}, {datetime.datetime.now():%Y-%m-%d %H:%M}, "
          f"load {open('/proc/loadavg').read().split()[:3]}", flush=True)
    book = build(loans=args.loans)
    redis.Redis.from_url(args.redis).delete("celery")
    assert business_date() == DAY

    bare = {"total": float("nan"), "loans_updated": 0} if args.skip_floor else floor(DAY)
    print(f"\nfloor (set-based SQL, one statement, rolled back): {bare['total']:.1f} s, "
          f"{bare['loans_updated']} loans", flush=True)
    if args.skip_floor:  # the floor's VACUUM ANALYZE, without the floor
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")

    workers = start_workers(count=args.workers, pool=args.pool, redis_url=args.redis, chunk=args.chunk)
    try:
        time.sleep(3)
        first = close_on_workers(day=DAY)
        report(f"close of {DAY} on {args.workers} {args.pool} worker(s)", first, loans=args.loans)
        if not args.no_rerun:
            print(f"  then the workers delivered the reminders it queued ({first['reminders']}) in "
                  f"{drain(args.redis):.1f} s", flush=True)
            again = close_on_workers(day=DAY, rerun=True)
            report(f"close of {DAY} again", again, loans=args.loans)
            print(f"\nclose / floor = {first['close_wall']:.1f} / {bare['total']:.1f} = "
                  f"{first['close_wall'] / bare['total']:.2f} (close stage); whole run / floor = "
                  f"{first['wall'] / bare['total']:.2f}; rows written by the second run: {again['rows_written']}")
    finally:
        stop_workers(workers)
    if args.no_rerun:
        redis.Redis.from_url(args.redis).delete("celery")  # what the close queued, undelivered
    if args.scale_out and not args.no_rerun:
        results = {}
        for count, day in ((1, DAY + datetime.timedelta(days=1)), (2, DAY + datetime.timedelta(days=2))):
            workers = start_workers(count=count, pool="solo", redis_url=args.redis, chunk=args.chunk)
            try:
                time.sleep(3)
                results[count] = close_on_workers(day=day)
                report(f"scale-out: close of {day} on {count} worker process(es)", results[count], loans=args.loans)
                drain(args.redis)
            finally:
                stop_workers(workers)
        print(f"\nscale-out: 1 process {results[1]['wall']:.1f} s, 2 processes {results[2]['wall']:.1f} s "
              f"(× {results[1]['wall'] / results[2]['wall']:.2f})")
    print(f"\nbook: {book}")
    if not args.keep:
        connection.close()
        connection.creation.destroy_test_db(name, verbosity=0, keepdb=False)


if __name__ == "__main__":
    main(ARGS)
