import os
import subprocess
import sys
from decimal import Decimal

from creditfactory.demo import SEEDERS
from risk import demo
from risk.models import DataSourceConfig, RiskListEntry


def test_demo_seeds_every_source_and_the_lists_once(db):
    demo.seed(context={}, log=lambda message: None)
    demo.seed(context={}, log=lambda message: None)
    assert {c.source: (c.provider, c.sandbox_latency_ms, c.cost_per_call, c.cache_days)
            for c in DataSourceConfig.objects.all()} == {
        "bureau": ("sandbox", 300, Decimal("2.00"), 30),
        "multi_lending": ("sandbox", 150, Decimal("0.50"), 30),
        "fraud": ("sandbox", 80, Decimal("0.30"), 30),
        "court": ("sandbox", 200, Decimal("0.80"), 30),
        "scenario": ("sandbox", 20, Decimal("0.00"), 30),
    }
    assert sorted(RiskListEntry.objects.values_list("list_type", "kind", "value_masked")) == [
        ("fraud", "device", "DEMO**************D-01"),
        ("fraud", "id_number", "310101********1238"),
        ("fraud", "mobile", "139****5678"),
        ("risk", "mobile", "137****5670"),
    ]
    assert "risk.demo.seed" in SEEDERS


def test_production_settings_require_the_pii_keys():
    env = {key: value for key, value in os.environ.items() if not key.startswith("PII_")}
    env.update({"SECRET_KEY": "x" * 60, "DJANGO_SETTINGS_MODULE": "creditfactory.settings.production"})
    code = "import django.conf as c; c.settings.DEBUG"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "PII_ENCRYPTION_KEYS and PII_HMAC_KEY must be set in production." in result.stderr
    env.update({"PII_ENCRYPTION_KEYS": "k1,k2", "PII_HMAC_KEY": "h"})
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
