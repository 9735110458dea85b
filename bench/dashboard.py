"""Benchmark: the data dashboard (``/dashboard/``) and the cockpit (``/cockpit/``) rendered over a
large portfolio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_bench_dash \\
        .venv/bin/python bench/dashboard.py --loans 1000000 --per-line 5

Works in a fresh database ``bench_<name>`` (``bench/support.fresh_database``). Books one template
loan through ``loan_book``, then clones it set-based (``INSERT … SELECT generate_series``, as
bench/ledger_check.py does) into ``--loans`` loans on ``--loans / --per-line`` lines, each line with
its application and its borrower, and spreads them with set-based UPDATEs: value dates over three years, one
loan in 25 overdue (1–120 days), one in 10 paid off, two products, two funders; applications
created over 400 days, approved after 1–90 minutes, one in four by a person. The collections'
data: each overdue loan classified (五级分类) with an open case and its bucket entries (M1 on the
day it opened, M2/M3/M3+ 30/60/90 days later, owing its principal outstanding plus 2 % a bucket),
half of them with a 500.00 repayment the day before the business date; one loan in 50 (active) with
a case over the last year that a 1,000.00 repayment cured. Then VACUUM ANALYZE (what autovacuum
leaves) and the nightly aggregates as the close writes them (``portfolio_snapshot`` and
``collection_snapshot`` for the end of each of the last 12 months and the day before the business
date; the value dates of the last three years and the recoveries of the last year backfilled in
one pass each, ``disbursement_days_write`` / ``recovery_days_write``) — the business date itself
is not closed, so its loans are read from the loan table — and times the two pages through
Django's test client, signed in as a manager of every branch: the median and the worst of
``--runs`` renders each, with the queries of one render.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.support import fresh_database  # noqa: E402
from creditfactory.organisations.roles import role_group, sync_standard_roles  # noqa: E402
from servicing.models import Loan  # noqa: E402
from servicing.services.calendar import business_date_set  # noqa: E402
from servicing.services.loans import loan_book  # noqa: E402
from servicing.services.portfolio import disbursement_days_write, portfolio_snapshot  # noqa: E402
from collection.services.snapshot import collection_snapshot, recovery_days_write  # noqa: E402

DAY = datetime.date(2026, 12, 4)


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                       "AND column_name <> 'id' ORDER BY ordinal_position", [table])
        return [row[0] for row in cursor.fetchall()]


def _clone(table: str, *, source: str, overrides: dict[str, str], where: str, params=()) -> None:
    columns = _columns(table)
    select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {select} FROM {source} {where}", params)


def build(*, loans: int, per_line: int) -> None:
    from tests.factories import make_product
    from tests.servicing.factories import make_drawdown, make_funder, make_line

    business_date_set(date=DAY, reason="bench")
    cash = make_product("CASH", name="Cash loan")
    template = loan_book(drawdown=make_drawdown(line=make_line(sequence="900"), amount=Decimal("20000.00")))
    bank = make_funder("bank", kind="co_lender", name="Partner bank", total_quota=Decimal("1000000000.00"))
    line, drawdown = template.credit_line, template.drawdown
    lines = loans // per_line
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM workflows_creditapplication")
        app0 = cursor.fetchone()[0]
        _clone("workflows_creditapplication", source="workflows_creditapplication t, generate_series(1, %s) g",
               overrides={"number": "'BA' || lpad(g::text, 10, '0')", "process_id": "NULL"},
               where="WHERE t.id = %s", params=[lines, line.application_id])
        cursor.execute("SELECT max(id) FROM servicing_creditline")
        line0 = cursor.fetchone()[0]
        _clone("servicing_creditline", source="servicing_creditline t, generate_series(1, %s) g",
               overrides={"application_id": f"{app0} + g"}, where="WHERE t.id = %s", params=[lines, line.pk])
        cursor.execute("SELECT max(id) FROM servicing_drawdown")
        draw0 = cursor.fetchone()[0]
        _clone("servicing_drawdown", source="servicing_drawdown t, generate_series(1, %s) g",
               overrides={"number": "'BD' || lpad(g::text, 10, '0')",
                          "credit_line_id": f"{line0} + 1 + (g - 1) / {per_line}"},
               where="WHERE t.id = %s", params=[loans, drawdown.pk])
        cursor.execute("SELECT max(id) FROM servicing_loan")
        loan0 = cursor.fetchone()[0]
        _clone("servicing_loan", source="servicing_loan t, generate_series(1, %s) g",
               overrides={"number": "'BL' || lpad(g::text, 10, '0')", "drawdown_id": f"{draw0} + g",
                          "credit_line_id": f"{line0} + 1 + (g - 1) / {per_line}"},
               where="WHERE t.id = %s", params=[loans, template.pk])
        _clone("servicing_loanpart", source="servicing_loanpart t, generate_series(1, %s) g",
               overrides={"loan_id": f"{loan0} + g"}, where="WHERE t.loan_id = %s", params=[loans, template.pk])
        # one borrower per line (a clone of the template's, its own blind index), so each has
        # --per-line loans: the repeat-borrowing figure probes each borrower's earlier loans
        cursor.execute("SELECT max(id) FROM risk_applicant")
        applicant0 = cursor.fetchone()[0]
        _clone("risk_applicant", source="risk_applicant t, generate_series(1, %s) g",
               overrides={"id_number_index": "md5('bench' || g::text)"}, where="WHERE t.id = %s",
               params=[lines, template.applicant_id])
        cursor.execute(f"UPDATE servicing_loan SET applicant_id = {applicant0} + 1 + (id - {loan0} - 1) / {per_line} "
                       f"WHERE id > {loan0}")
        # spread the portfolio: value dates over three years, overdue and paid-off loans, a second
        # product and a second funder; applications over 400 days with approval times
        cursor.execute(
            "UPDATE servicing_loan SET value_date = %s::date - (id %% 1095)::int, "
            "days_past_due = CASE WHEN id %% 25 = 0 THEN 1 + id %% 120 ELSE 0 END, "
            "status = CASE WHEN id %% 10 = 0 THEN 'closed' WHEN id %% 25 = 0 THEN 'overdue' ELSE 'active' END, "
            "principal_outstanding = CASE WHEN id %% 10 = 0 THEN 0 ELSE principal_outstanding END, "
            "product_version_id = CASE WHEN id %% 3 = 0 THEN %s ELSE product_version_id END WHERE id > %s",
            [DAY, cash.current_version.pk, loan0])
        cursor.execute("UPDATE servicing_loanpart p SET principal_outstanding = l.principal_outstanding, "
                       "funder_id = CASE WHEN l.id %% 4 = 0 THEN %s ELSE p.funder_id END "
                       "FROM servicing_loan l WHERE l.id = p.loan_id AND l.id > %s", [bank.pk, loan0])
        cursor.execute(
            "UPDATE workflows_creditapplication SET created_at = %s::timestamptz - (id %% 400) * interval '1 day', "
            "submitted_at = %s::timestamptz - (id %% 400) * interval '1 day', "
            "approved_at = %s::timestamptz - (id %% 400) * interval '1 day' + (1 + id %% 90) * interval '1 minute', "
            "approval_mode = CASE WHEN id %% 4 = 0 THEN 'review' ELSE 'straight_through' END, status = 'approved', "
            "channel = CASE WHEN id %% 3 = 0 THEN 'api' ELSE 'back_office' END WHERE id > %s",
            [f"{DAY} 10:00+08", f"{DAY} 10:00+08", f"{DAY} 10:00+08", app0])
    print(f"built {loans} loans on {lines} lines in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    collections(loan0=loan0)
    print(f"seeded the collections' data in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    month = DAY.replace(day=1)
    ends = []
    for _n in range(12):
        month = (month - datetime.timedelta(days=1)).replace(day=1)
        ends.append((month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1))
    yesterday = DAY - datetime.timedelta(days=1)
    for label, write in (
            ("portfolio_snapshot", lambda day: portfolio_snapshot(business_date=day)),
            ("collection_snapshot", lambda day: collection_snapshot(business_date=day))):
        started = time.perf_counter()
        for day in sorted(ends) + [yesterday]:
            write(day)
        print(f"{label} for {len(ends) + 1} dates in {time.perf_counter() - started:.1f} s "
              f"({(time.perf_counter() - started) / (len(ends) + 1):.1f} s a close)")
    started = time.perf_counter()
    disbursement_days_write(first=DAY - datetime.timedelta(days=1095), last=yesterday)
    print(f"disbursement days of three years backfilled in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    recovery_days_write(first=DAY - datetime.timedelta(days=366), last=yesterday)
    print(f"recovery days of a year backfilled in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def collections(*, loan0: int) -> None:
    """Classification, cases, bucket entries and repayments, set-based (see the module docstring)."""
    from tests.collection.factories import ensure_defaults

    ensure_defaults()
    day = f"'{DAY.isoformat()}'::date"
    owed = "l.principal_outstanding * (1 + 0.02 * {n})"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO collections_loanclass (loan_id, classification, since) "
            f"SELECT id, CASE WHEN days_past_due >= 91 THEN 'substandard' ELSE 'special_mention' END, "
            f"{day} - days_past_due + 1 FROM servicing_loan WHERE id > %s AND status = 'overdue'", [loan0])
        # open cases of the overdue loans, opened the day after the first missed date (DPD 1)
        cursor.execute(
            "INSERT INTO collections_collectioncase (created_at, updated_at, loan_id, status, bucket, step, "
            "step_since, opened_on, dpd_at_open, close_reason) "
            "SELECT now(), now(), id, 'open', CASE WHEN days_past_due >= 91 THEN 'M3+' WHEN days_past_due >= 61 "
            "THEN 'M3' WHEN days_past_due >= 31 THEN 'M2' ELSE 'M1' END, 0, "
            f"{day} - days_past_due + 1, {day} - days_past_due + 1, 1, '' "
            "FROM servicing_loan WHERE id > %s AND status = 'overdue'", [loan0])
        # cured cases of one loan in 50 (active) over the last year, 20 days each
        cursor.execute(
            "INSERT INTO collections_collectioncase (created_at, updated_at, loan_id, status, bucket, step, "
            "step_since, opened_on, dpd_at_open, closed_on, close_reason) "
            f"SELECT now(), now(), id, 'closed', 'M1', 0, {day} - 20 - (id %% 340)::int, {day} - 20 - (id %% 340)::int, 1, "
            f"{day} - (id %% 340)::int, 'cured' FROM servicing_loan WHERE id > %s AND status = 'active' AND id %% 25 = 5",
            [loan0])
        for n, (bucket, after) in enumerate((("M1", 0), ("M2", 30), ("M3", 60), ("M3+", 90))):
            cursor.execute(
                "INSERT INTO collections_casestagechange (case_id, business_date, from_bucket, to_bucket, "
                "from_step, to_step, dpd, owed, at) "
                f"SELECT c.id, c.opened_on + {after}, %s, %s, NULL, 0, {after + 1}, {owed.format(n=n)}, now() "
                "FROM collections_collectioncase c JOIN servicing_loan l ON l.id = c.loan_id "
                f"WHERE c.opened_on + {after} <= COALESCE(c.closed_on - 1, {day})",
                ["" if n == 0 else ("M1", "M2", "M3")[n - 1], bucket])
        for label, where, value_date, amount in (
                ("BO", "c.status = 'open' AND c.id % 2 = 0", f"{day} - 1", "500.00"),
                ("BC", "c.status = 'closed'", "c.closed_on - 1", "1000.00")):
            cursor.execute(
                "INSERT INTO servicing_repayment (created_at, updated_at, loan_id, number, kind, source, amount, "
                "value_date, reference, status, principal, interest, penalty, fee, prepayment_fee, credit_balance, "
                "note) "
                f"SELECT now(), now(), c.loan_id, '{label}' || lpad(c.id::text, 10, '0'), 'regular', 'api', "
                f"{amount}, {value_date}, '{label}' || c.id, 'posted', 0, 0, 0, 0, 0, 0, '' "
                f"FROM collections_collectioncase c WHERE {where}")


def _manager():
    from django.contrib.auth import get_user_model

    user, _created = get_user_model().objects.get_or_create(username="bench-manager")
    user.groups.add(role_group("manager"), role_group("auditor"))  # the auditor's: every branch
    return user


def measure(*, runs: int) -> None:
    print(f"{Loan.objects.count()} loans; load: {open('/proc/loadavg').read().strip()}")
    client = Client()
    client.force_login(_manager())
    for label, url, query in (("/dashboard/ (month to date)", "/dashboard/", {"end": DAY.isoformat()}),
                              ("/dashboard/ (a year, one product)", "/dashboard/",
                               {"start": (DAY - datetime.timedelta(days=364)).isoformat(), "end": DAY.isoformat(),
                                "product": "1"}),
                              ("/cockpit/", "/cockpit/", {"date": DAY.isoformat()})):
        timings = []
        for run in range(runs):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url, query)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        print(f"{label:<36} median {1000 * statistics.median(timings):7.1f} ms  worst {1000 * max(timings):7.1f} ms"
              f"  ({len(queries)} queries)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=100_000)
    parser.add_argument("--per-line", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="measure the portfolio of the last run (bench_<name>)")
    args = parser.parse_args()
    if args.reuse:
        connection.close()
        connection.settings_dict["NAME"] = f"bench_{connection.settings_dict['NAME']}"
    else:
        fresh_database()
        sync_standard_roles(django.apps.apps)
        build(loans=args.loans, per_line=args.per_line)
    measure(runs=args.runs)
