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
