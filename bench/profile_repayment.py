"""Where a repayment's CPU goes, without HTTP or a worker process: the partner API's
``POST /api/v1/loans/{id}/repayments`` through Django's test client, with the statements it sends.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_prof \\
        .venv/bin/python bench/profile_repayment.py --n 200 [--sql] [--cprofile FILE]

Same fresh database, seed and requests as ``bench/repayments.py`` (one loan per line, closed up to
its first due date, a regular repayment of the installment due). Tasks the request sends (the
webhook) are captured, not run. Reports statements and CPU per repayment; ``--sql`` prints the
statements of one repayment, ``--cprofile`` writes a profile of the measured requests.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import drawdown as dd  # noqa: E402  (bench/drawdown.py: django.setup() and the seed)
import repayments as bench  # noqa: E402

from celery.app.task import Task  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from creditfactory.core.rows import prepared_text  # noqa: E402

from servicing.models import Installment  # noqa: E402
from support import fresh_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="repayments measured (after 20 not measured)")
    parser.add_argument("--sql", action="store_true", help="print the statements of one repayment")
    parser.add_argument("--cprofile", metavar="FILE")
    args = parser.parse_args()

    original = connection.settings_dict["NAME"]
    fresh_database()
    try:
        key, lines = dd.seed(20 + args.n)
        loan_ids = bench.book_loans(lines)
        due = dict(Installment.objects.filter(loan_id__in=loan_ids, number=1).values_list("loan_id", "payment"))
        Task.apply_async = lambda self, args=None, kwargs=None, **_o: None
        client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
        # CPU time (what the figure reports), not wall time: waiting on PostgreSQL is not ours
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None
        statements, seconds = 0, 0.0
        for index, loan_id in enumerate(sorted(due)):
            body = json.dumps({"amount": f"{due[loan_id]:.2f}", "kind": "regular", "reference": f"p-{loan_id}"})

            def post():
                response = client.post(f"/api/v1/loans/{loan_id}/repayments", data=body,
                                       content_type="application/json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
                assert response.status_code == 201, response.content

            if index < 20:
                post()
                continue
            began = time.process_time()
            if profiler is not None:
                profiler.enable()
            with CaptureQueriesContext(connection) as queries:
                post()
            if profiler is not None:
                profiler.disable()
            seconds += time.process_time() - began
            statements += len(queries)
            if args.sql and index == 21:
                for query in queries.captured_queries:
                    print("  ", prepared_text(query["sql"])[:300])
        if profiler is not None:
            profiler.dump_stats(args.cprofile)
        print(f"{args.n} repayments: {statements / args.n:.1f} statements, "
              f"{seconds / args.n * 1000:.1f} ms CPU per repayment (this process, statement capture included)")
    finally:
        connection.close()
        connection.creation.destroy_test_db(original, verbosity=0)


if __name__ == "__main__":
    main()
