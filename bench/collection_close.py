"""Benchmark: the collections phase of the daily close (``collection_close_phase``, the
``CLOSE_HANDOVER_HOOKS`` entry) over a large book with 10 % of it overdue.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_bench_coll \\
        /work/main/.venv/bin/python bench/collection_close.py --loans 1000000

Builds the book as ``bench/ledger_check.py`` does (one template loan cloned set-based), in a fresh
``bench_<name>`` database; marks every tenth loan overdue with DPD 1…120 (closed through the day
before), seeds the default buckets, thresholds and a published strategy; then runs the phase
chunk by chunk (``CLOSE_CHUNK_SIZE`` open loans each, one transaction per chunk, as the close
does) three times: the first close after they became overdue (every case opened and classified),
a re-run of the same date (must write 0 rows) and the next day with every DPD one higher (cases
advance where a bucket or step boundary is crossed). Prints seconds and rows per run."""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402

from bench.ledger_check import build  # noqa: E402
from bench.support import fresh_database  # noqa: E402
from collection.models import CollectionCase  # noqa: E402
from collection.services import collection_close_phase  # noqa: E402
from servicing.services.close import chunk_bounds  # noqa: E402

DAY = datetime.date(2026, 12, 4)


def seed() -> None:
    from importlib import import_module

    from django.apps import apps

    # The schema comes from the models (no migrations): seed the defaults as the migration does.
    import_module("collection.migrations.0002_coll_defaults").seed(apps, None)
    from tests.collection.factories import make_strategy

    make_strategy()


def reuse() -> None:
    settings = connection.settings_dict
    connection.close()
    settings["NAME"] = f"bench_{settings['NAME']}"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE collections_casestagechange, collections_agencyassignment, collections_loanclass, "
                       "collections_classificationchange, collections_collectioncase CASCADE")
        cursor.execute("DELETE FROM core_statetransition WHERE field IN ('status', 'bucket') AND content_type_id = "
                       "(SELECT id FROM django_content_type WHERE app_label = 'collections' "
                       "AND model = 'collectioncase')")
        cursor.execute("UPDATE servicing_loan SET status = 'active', days_past_due = 0")


def overdue(share: int = 10) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE servicing_loan SET status = 'overdue', days_past_due = 1 + (id / %s) %% 120, "
                       "closed_through = %s WHERE id %% %s = 0", [share, DAY - datetime.timedelta(days=1), share])
        marked = cursor.rowcount
        cursor.execute("UPDATE servicing_loan SET closed_through = %s WHERE closed_through IS NULL",
                       [DAY - datetime.timedelta(days=1)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return marked


def run(label: str, day: datetime.date) -> None:
    bounds = chunk_bounds()
    started = time.perf_counter()
    rows = 0
    for lo, hi in bounds:
        with transaction.atomic():
            rows += collection_close_phase(business_date=day, lo=lo, hi=hi)
    seconds = time.perf_counter() - started
    print(f"{label:<44} {seconds:8.2f} s  {len(bounds)} chunks  rows written {rows:>8}  "
          f"open cases {CollectionCase.objects.filter(status='open').count()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--per-line", type=int, default=5)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the book of the last run (bench_<name>): only the collections rows are reset")
    args = parser.parse_args()
    if args.reuse:
        reuse()
    else:
        fresh_database()
        build(loans=args.loans, per_line=args.per_line)
        seed()
    print(f"overdue loans: {overdue()}")
    run("first close (cases opened, classified)", DAY)
    run("re-run of the same date", DAY)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE servicing_loan SET days_past_due = days_past_due + 1, closed_through = %s "
                       "WHERE status IN ('active', 'overdue')", [DAY])
        cursor.execute("UPDATE servicing_loan SET days_past_due = 0 WHERE status = 'active'")
    run("next day (DPD + 1: cases advance)", DAY + datetime.timedelta(days=1))


if __name__ == "__main__":
    main()
