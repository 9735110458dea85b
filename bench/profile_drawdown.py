"""Where a drawdown's CPU goes, without HTTP or a worker process: the partner API's POST through
Django's test client, then every Celery task it leads to run in this process, one by one, with
the statements each sends.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_prof \\
        .venv/bin/python bench/profile_drawdown.py --n 100 [--sql] [--no-count]

Same fresh database, seed and requests as ``bench/drawdown.py``. Tasks are taken off
``apply_async`` and run with ``Task.apply`` (the eager path) in the order they were sent, so the
chain is the worker's: request → in-loan check job → … → booked loan. Reports, per drawdown, the
tasks of each name, their statements and the CPU this process spent on each (statement counting
adds a little; ``--no-count`` leaves it out). ``--sql`` prints the statements of one drawdown;
``--cprofile FILE`` writes a CPU-time profile of the tasks (``--cprofile-api``: of the requests).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
import uuid
from collections import defaultdict, deque
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import drawdown as bench  # noqa: E402  (bench/drawdown.py: django.setup(), the seed and the bodies)

from celery.app.task import Task  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from creditfactory.core import tasks as core_tasks  # noqa: E402
from creditfactory.core.rows import prepared_text  # noqa: E402
from servicing.models import Loan  # noqa: E402
from support import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="drawdowns measured (after 20 not measured)")
    parser.add_argument("--lines", type=int, default=150)
    parser.add_argument("--sql", action="store_true", help="print the statements of one drawdown")
    parser.add_argument("--no-count", action="store_true", help="do not count statements")
    parser.add_argument("--cprofile", metavar="FILE", help="write a cProfile of the measured tasks (not the API)")
    parser.add_argument("--cprofile-api", action="store_true",
                        help="with --cprofile: profile the API requests instead of the tasks")
    parser.add_argument("--separate", action="store_true",
                        help="queue follow-up tasks as from a web request instead of running them in line")
    args = parser.parse_args()

    original = connection.settings_dict["NAME"]
    fresh_database()
    try:
        key, lines = bench.seed(args.lines)
        queued: deque = deque()
        skipped = {"partners.webhook_deliver"}  # the partner has no endpoint: nothing to deliver

        def capture(self, args=None, kwargs=None, **_options):
            if self.name not in skipped:
                queued.append((self, tuple(args or ()), dict(kwargs or {})))

        Task.apply_async = capture
        if not args.separate:  # as on a worker: follow-up tasks run in line after the commit
            core_tasks.in_worker_task = lambda: True
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        run = uuid.uuid4().hex[:6]
        totals: dict = defaultdict(lambda: [0, 0, 0.0])  # name → [runs, statements, seconds]

        profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU, not wall

        def measured(name, step, index):
            if profiler is not None and (name == "api") == args.cprofile_api:
                profiler.enable()
                try:
                    step()
                finally:
                    profiler.disable()
                totals[name][0] += 1
                return
            began = time.process_time()
            if args.no_count:
                step()
            else:
                connection.queries_log.clear()
                with CaptureQueriesContext(connection) as queries:
                    step()
                totals[name][1] += len(queries)
                if args.sql and index == 21:
                    print(f"-- {name}: {len(queries)} statements")
                    for query in queries.captured_queries:
                        print("  ", prepared_text(query["sql"])[:240])
            totals[name][0] += 1
            totals[name][2] += time.process_time() - began

        def one(index: int, *, count: bool) -> None:
            def submit():
                line = lines[index % len(lines)]
                response = client.post(f"/api/v1/credit-lines/{line}/drawdowns",
                                       data=json.dumps(bench.body(index, run)), content_type="application/json",
                                       HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
                assert response.status_code in (201, 409), response.content

            (measured("api", submit, index) if count else submit())
            while queued:
                task, task_args, task_kwargs = queued.popleft()
                step = lambda: task.apply(args=task_args, kwargs=task_kwargs).get()  # noqa: E731
                (measured(task.name, step, index) if count else step())

        for index in range(20):
            one(index, count=False)
        for index in range(20, 20 + args.n):
            one(index, count=True)
        if profiler is not None:
            profiler.dump_stats(args.cprofile)
        booked = Loan.objects.count()
        print(f"{booked} loans booked of {20 + args.n} drawdowns")
        all_statements = all_seconds = 0
        for name, (runs, statements, seconds) in totals.items():
            counted = "" if args.no_count else f"{statements / args.n:5.1f} statements, "
            print(f"{name:45} {runs / args.n:.2f} runs, {counted}{seconds / args.n * 1000:5.1f} ms CPU per drawdown")
            all_statements += statements
            all_seconds += seconds
        print(f"{'all':45}       {all_statements / args.n:5.1f} statements, "
              f"{all_seconds / args.n * 1000:5.1f} ms CPU per drawdown")
    finally:
        connection.close()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
