"""The workflows app's prebuilt statements: every read and write of the measured origination path
(``bench/origination.py``, docs/benchmarks.md) that the credit flow sends without building a
queryset.

The ORM rebuilds and recompiles a statement on every call, which on this path cost more CPU than
PostgreSQL's own work; these are built once per process (``creditfactory.core.rows``, or
hand-written SQL where one statement replaces several queries) and each has a test proving it
reads or writes exactly what the ORM would (``tests/workflows/test_fastpath.py``). Nothing else in
workflows builds statements by hand: new code uses the ORM unless a benchmark in ``bench/`` shows
the need (docs/development.md).
"""

from __future__ import annotations

from creditfactory.core.rows import RowReader

from .models import CreditApplication

__all__ = ["ASSESSED_APPLICATION"]

# The application its assessment job decides, with its applicant and enterprise (every application).
ASSESSED_APPLICATION = RowReader(CreditApplication, related=("applicant", "enterprise"))
