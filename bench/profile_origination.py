"""Where an application's CPU goes, without HTTP or Celery: the partner API's POST through
Django's test client, then its assessment job run in this process, with the statements each sends.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_prof \\
        .venv/bin/python bench/profile_origination.py --n 200 [--sql] [--no-count]

Same fresh database, demo data and requests as ``bench/origination.py``. Reports, per
application, the statements of the API request and of the job and the CPU this process spent on
each (statement counting adds a little; ``--no-count`` leaves it out). ``--sql`` prints the
statements of one application. For a sampling profile run it under py-spy:
``py-spy record -r 250 -f raw -o spy.txt -- .venv/bin/python bench/profile_origination.py --no-count``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from creditfactory.core.rows import prepared_text  # noqa: E402

from origination import payload, seed  # noqa: E402  (bench/origination.py)
from support import fresh_database  # noqa: E402
from workflows import tasks as workflow_tasks  # noqa: E402
from workflows.jobs import run_job  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="applications measured (after 30 not measured)")
    parser.add_argument("--sql", action="store_true", help="print the statements of one application")
    parser.add_argument("--no-count", action="store_true", help="do not count statements")
    args = parser.parse_args()

    original = connection.settings_dict["NAME"]
    fresh_database()
    key = seed()
    queued: list[tuple[int, dict]] = []
    # The job is queued on commit; here it is kept and run in this process instead of a worker.
    workflow_tasks.job_run.apply_async = lambda args, kwargs=None, task_id=None, **_: queued.append(
        (args[0], kwargs or {}))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def submit(index: int) -> None:
        response = client.post("/api/v1/applications", data=json.dumps(payload(index, "profile")),
                               content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
        assert response.status_code == 201, response.content

    def work() -> None:
        while queued:
            task_pk, where = queued.pop()
            run_job(task_pk, **where)

    for index in range(30):  # warm-up: caches, connections, imports
        submit(index)
        work()
    totals = {"api": [0, 0.0], "job": [0, 0.0]}
    for index in range(30, 30 + args.n):
        for phase, step in (("api", lambda: submit(index)), ("job", work)):
            began = time.process_time()
            if args.no_count:
                step()
            else:
                connection.queries_log.clear()  # a deque of at most 9000: counted per step
                with CaptureQueriesContext(connection) as queries:
                    step()
                totals[phase][0] += len(queries)
                if args.sql and index == 31:
                    print(f"-- {phase}: {len(queries)} statements")
                    for query in queries.captured_queries:
                        print("  ", prepared_text(query["sql"])[:200])
            totals[phase][1] += time.process_time() - began
    for phase, (statements, seconds) in totals.items():
        counted = "" if args.no_count else f"{statements / args.n:.1f} statements, "
        print(f"{phase}: {counted}{seconds / args.n * 1000:.1f} ms CPU per application (this process)")
    connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
