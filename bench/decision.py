"""Benchmark: N credit applications through ``risk_assess`` on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_riskdecision .venv/bin/python bench/decision.py --n 500

Creates a fresh database (``bench_<name>`` of DATABASE_URL, schema from the models, dropped at
the end unless ``--keep``), loads the demo data with the demo seeders (products, branches,
sandbox data sources, the demo risk policies: 32–35 rules per product, the 10-characteristic
scorecard, limit and pricing strategies, a challenger in shadow on EMERGENCY), sets every
sandbox provider to zero latency and creates N applications over the four demo products, each
with its own applicant (so every decision pulls all five sources: no cache hits). Then it
decides them one after another, as one worker process would, and prints the median and 95th
percentile milliseconds per decision and the decisions per second, with the outcomes, the
queries one decision runs, and the machine's load (other work shows up in the figures).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import statistics
import sys
import time
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from creditfactory.organisations.models import Branch  # noqa: E402
from products.models import LoanProduct  # noqa: E402
from risk.services.applicants import applicant_get_or_create, enterprise_get_or_create  # noqa: E402
from risk.services.decisions import risk_assess  # noqa: E402
from risk.validators import build_credit_code, build_resident_id  # noqa: E402
from workflows.models import CreditApplication  # noqa: E402
from workflows.selectors.assessment import assessment_request  # noqa: E402

from support import fresh_database, percentile, seed_demo  # noqa: E402  (bench/support.py)

# product → (amount, term in months, method, purpose); business loans also get an enterprise.
REQUESTS = {
    "EMERGENCY": (Decimal("3000.00"), 3, "bullet", "emergency"),
    "EDUCATION": (Decimal("30000.00"), 24, "equal_installment", "education"),
    "RENOVATION": (Decimal("80000.00"), 36, "equal_principal", "renovation"),
    "BUSINESS": (Decimal("200000.00"), 24, "interest_first", "working_capital"),
}
EMPLOYMENT = ("employed", "employed", "employed", "self_employed", "business_owner")


def _applications(n: int) -> list[CreditApplication]:
    products = list(LoanProduct.objects.filter(code__in=REQUESTS).select_related("current_version").order_by("code"))
    branch = Branch.objects.exclude(code="hq").order_by("code").first() or Branch.objects.first()
    enterprise = None
    created = []
    for index in range(n):
        product = products[index % len(products)]
        # Sequences 000-899 are ordinary sandbox applicants; every 10th uses a profile (90x-99x).
        sequence = f"{9 if index % 10 == 0 else index % 9}{index % 100:02d}"[-3:]
        applicant, _new = applicant_get_or_create(
            actor=None, name=f"申请人{index}",
            id_number=build_resident_id(region="310101", birth_date=date(1975, 1, 1) + timedelta(days=index * 7),
                                        sequence=sequence),
            mobile=f"139{index:08d}", monthly_income=Decimal(6000 + 500 * (index % 40)),
            employment=EMPLOYMENT[index % len(EMPLOYMENT)], years_at_employer=index % 8,
        )
        amount, term, method, purpose = REQUESTS[product.code]
        if product.code == "BUSINESS" and enterprise is None:
            enterprise, _new = enterprise_get_or_create(
                actor=None, name="示例贸易有限公司", credit_code=build_credit_code("91350200776049653"),
                years_in_business=6, annual_revenue=Decimal("3200000.00"))
        created.append(CreditApplication.objects.create(
            number=f"BENCH{index:06d}", product_version=product.current_version, branch=branch, applicant=applicant,
            enterprise=enterprise if product.code == "BUSINESS" else None, amount=amount, term=term,
            repayment_method=method, purpose=purpose, status="submitted",
        ))
    return created


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500, help="applications to decide")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--profile", action="store_true", help="print the 25 costliest functions (cProfile)")
    args = parser.parse_args()

    original = connection.settings_dict["NAME"]
    name = fresh_database()
    try:
        started = time.perf_counter()
        seed_demo()
        applications = _applications(args.n + 1)
        requests = [assessment_request(application) for application in applications]
        print(f"Set up {name}: demo data and {len(applications)} applications in "
              f"{time.perf_counter() - started:.1f} s")

        # One decision outside the timing: it compiles the rules and warms the caches, as the
        # first decision of a worker process does.
        with CaptureQueriesContext(connection) as queries:
            first = time.perf_counter()
            risk_assess(request=requests[0], tolerate_failures=True)
            cold_ms = (time.perf_counter() - first) * 1000

        samples, outcomes = [], Counter()
        clock = time.perf_counter
        profiler = cProfile.Profile() if args.profile else None
        wall, cpu = clock(), time.process_time()
        for request in requests[1:]:
            begun = clock()
            if profiler:
                profiler.enable()
            decision = risk_assess(request=request, tolerate_failures=True)
            if profiler:
                profiler.disable()
            samples.append((clock() - begun) * 1000)
            outcomes[decision.outcome] += 1
        elapsed, cpu_ms = clock() - wall, (time.process_time() - cpu) * 1000 / len(samples)
        if profiler:
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(25)

        ordered = sorted(samples)
        load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs, "
              f"load average {load}; PostgreSQL {connection.pg_version // 10000}")
        print(f"first decision (cold): {cold_ms:.1f} ms, {len(queries.captured_queries)} queries")
        print(f"decisions: {len(samples)}   median {statistics.median(ordered):.2f} ms   "
              f"p95 {percentile(ordered, 0.95):.2f} ms   max {ordered[-1]:.2f} ms   "
              f"{len(samples) / elapsed:.1f} decisions/s")
        print(f"CPU of this process per decision: {cpu_ms:.2f} ms (the rest is PostgreSQL, commits and waiting "
              "for a CPU: compare with the load average)")
        print("outcomes: " + ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items())))
    finally:
        if not args.keep:
            connection.creation.destroy_test_db(original, verbosity=0)
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    main()
