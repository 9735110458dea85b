"""What the database benchmarks share: a fresh database, the demo data at zero latency, and the
percentile they report. Imported after ``django.setup()``."""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.db import connection
from django.utils.module_loading import import_string

from creditfactory.demo import SEEDERS
from creditfactory.organisations.roles import sync_standard_roles
from risk.models import DataSourceConfig


def fresh_database() -> str:
    """Create ``bench_<name>`` of DATABASE_URL (schema from the models, like the test suite;
    never the test suite's ``test_<name>``) and switch the connection to it."""
    settings = connection.settings_dict
    test = settings.setdefault("TEST", {})
    test["MIGRATE"] = False
    test["NAME"] = f"bench_{settings['NAME']}"
    return connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)


def seed_demo() -> None:
    """The demo data (roles, products, policies, flows) with every sandbox source at zero latency
    and never failing."""
    sync_standard_roles(apps)  # normally a data migration
    # the collections buckets (M1…M3+), normally a data migration too
    import_module("collection.migrations.0002_coll_defaults").seed(apps, None)
    context: dict = {}
    for dotted in SEEDERS:
        result = import_string(dotted)(context=context, log=lambda *args, **kwargs: None)
        if result:
            context.update(result)
    DataSourceConfig.objects.update(sandbox_latency_ms=0, sandbox_failure_rate=0)


def percentile(ordered: list[float], share: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


class HostProbe:
    """``bench/hostprobe.py`` in a process of its own for the length of a benchmark: a fixed
    workload's CPU time every ``interval`` seconds. ``median(since, until)`` is the median figure
    between two ``time.monotonic()`` readings — how fast the host ran Python then (a higher figure:
    a slower host, every process's CPU per request inflated alike)."""

    def __init__(self, interval: float = 0.5):
        import subprocess
        import sys
        import threading
        from pathlib import Path

        script = Path(__file__).resolve().parent / "hostprobe.py"
        self._process = subprocess.Popen([sys.executable, str(script), str(interval)],
                                         stdout=subprocess.PIPE, text=True)
        self._samples: list[tuple[float, float]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        import time

        for line in self._process.stdout:
            self._samples.append((time.monotonic(), float(line)))

    def median(self, since: float, until: float) -> float | None:
        import statistics

        found = [value for at, value in list(self._samples) if since <= at <= until]
        return statistics.median(found) if found else None

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)
