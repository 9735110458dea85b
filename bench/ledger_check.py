"""Benchmark: the full ledger check (``servicing.services.ledger_checks.ledger_check``) and one
page of the loan portfolio over a large book.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cf_bench_check \\
        .venv/bin/python bench/ledger_check.py --loans 1000000 --per-line 5

The database must be migrated and empty of loans. The script books one template loan (12 monthly
installments, 20,000.00, own funds) through ``loan_book``, then clones it with set-based
``INSERT … SELECT generate_series`` into ``--loans`` loans on ``--loans / --per-line`` credit lines
(each line cloned with its application), with their installments and funding parts, and raises
the control account and the lines' used to match, so the books agree. Then it times
``ledger_check()`` (every check: entries, loans vs parts, control accounts, loans vs schedules,
lines' used) and each of its parts, and one page of the portfolio list per filter and sort.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditfactory.settings.base")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from servicing.models import Loan  # noqa: E402
from servicing.selectors.loans import loan_filter, loan_portfolio_for  # noqa: E402
from servicing.services.calendar import business_date_set  # noqa: E402
from servicing.services.ledger import reconcile  # noqa: E402
from servicing.services.ledger_checks import ledger_check, line_used_differences, schedule_differences  # noqa: E402
from servicing.services.loans import loan_book  # noqa: E402

DAY = datetime.date(2026, 12, 4)


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                       "AND column_name <> 'id' ORDER BY ordinal_position", [table])
        return [row[0] for row in cursor.fetchall()]


def _clone(table: str, *, source: str, overrides: dict[str, str], count_sql: str, params=()) -> None:
    """INSERT INTO table (cols) SELECT <col or override> FROM (source) — ``source`` yields the rows
    to copy with a column ``g`` (the clone's index) and the template's columns as ``t.*``."""
    columns = _columns(table)
    select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) SELECT {select} FROM {source} {count_sql}", params)


def build(*, loans: int, per_line: int) -> None:
    from tests.servicing.factories import make_drawdown, make_line

    business_date_set(date=DAY, reason="bench")
    template = loan_book(drawdown=make_drawdown(line=make_line(sequence="900"), amount=Decimal("20000.00")))
    line, drawdown = template.credit_line, template.drawdown
    lines = loans // per_line
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE servicing_creditline SET used = l.principal FROM servicing_loan l "
                       "WHERE l.id = %s AND servicing_creditline.id = %s", [template.pk, line.pk])
        cursor.execute("SELECT max(id) FROM workflows_creditapplication")
        app0 = cursor.fetchone()[0]
        _clone("workflows_creditapplication", source="workflows_creditapplication t, generate_series(1, %s) g",
               overrides={"number": "'BA' || lpad(g::text, 10, '0')", "process_id": "NULL"},
               count_sql="WHERE t.id = %s", params=[lines, line.application_id])
        cursor.execute("SELECT max(id) FROM servicing_creditline")
        line0 = cursor.fetchone()[0]
        _clone("servicing_creditline", source="servicing_creditline t, generate_series(1, %s) g",
               overrides={"application_id": f"{app0} + g", "used": f"{per_line} * t.used",
                          "limit": f"greatest(t.\"limit\", {per_line} * t.used)"},
               count_sql="WHERE t.id = %s", params=[lines, line.pk])
        cursor.execute("SELECT max(id) FROM servicing_drawdown")
        draw0 = cursor.fetchone()[0]
        _clone("servicing_drawdown", source="servicing_drawdown t, generate_series(1, %s) g",
               overrides={"number": "'BD' || lpad(g::text, 10, '0')",
                          "credit_line_id": f"{line0} + 1 + (g - 1) / {per_line}"},
               count_sql="WHERE t.id = %s", params=[loans, drawdown.pk])
        cursor.execute("SELECT max(id) FROM servicing_loan")
        loan0 = cursor.fetchone()[0]
        _clone("servicing_loan", source="servicing_loan t, generate_series(1, %s) g",
               overrides={"number": "'BL' || lpad(g::text, 10, '0')", "drawdown_id": f"{draw0} + g",
                          "credit_line_id": f"{line0} + 1 + (g - 1) / {per_line}"},
               count_sql="WHERE t.id = %s", params=[loans, template.pk])
        _clone("servicing_installment", source="servicing_installment t, generate_series(1, %s) g",
               overrides={"loan_id": f"{loan0} + g"}, count_sql="WHERE t.loan_id = %s", params=[loans, template.pk])
        _clone("servicing_loanpart", source="servicing_loanpart t, generate_series(1, %s) g",
               overrides={"loan_id": f"{loan0} + g"}, count_sql="WHERE t.loan_id = %s", params=[loans, template.pk])
        # The control account: one more disbursement entry carrying the clones' principal.
        cursor.execute(
            "INSERT INTO servicing_journalentry (reference, kind, business_date, recorded_at, funder_id, product_id, "
            "memo) SELECT 'bench/disbursement', kind, business_date, now(), funder_id, product_id, 'bench' "
            "FROM servicing_journalentry WHERE loan_id = %s AND kind = 'disbursement' RETURNING id", [template.pk])
        entry = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO servicing_journalline (entry_id, account_id, debit, credit) SELECT %s, account_id, "
            "debit * %s, credit * %s FROM servicing_journalline l JOIN servicing_journalentry e ON e.id = l.entry_id "
            "WHERE e.loan_id = %s AND e.kind = 'disbursement'", [entry, loans, loans, template.pk])
    print(f"built {loans} loans on {lines} lines in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _timed(label, function):
    started = time.perf_counter()
    result = function()
    print(f"{label:<40} {time.perf_counter() - started:8.2f} s  ({len(result)} differences)")
    return result


def measure() -> None:
    count = Loan.objects.count()
    print(f"{count} loans; load: {open('/proc/loadavg').read().strip()}")
    _timed("reconcile() (entries, parts, control)", reconcile)
    _timed("schedule_differences()", schedule_differences)
    _timed("line_used_differences()", line_used_differences)
    _timed("ledger_check() (all)", ledger_check)
    admin = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "bench-admin", "bench@example.com", "x")
    for query in ({}, {}, {"status": "overdue"}, {"dpd": "M1"}, {"sort": "-days_past_due"},
                  {"sort": "-principal_outstanding"}, {"funder": "own"}):
        started = time.perf_counter()
        rows = list(loan_filter(loan_portfolio_for(admin), **query)[:51])
        print(f"portfolio page {str(query):<30} {1000 * (time.perf_counter() - started):8.1f} ms ({len(rows)} rows)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--per-line", type=int, default=5)
    parser.add_argument("--measure-only", action="store_true")
    args = parser.parse_args()
    if not args.measure_only:
        build(loans=args.loans, per_line=args.per_line)
    measure()
