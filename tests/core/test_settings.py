import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "creditfactory.settings.production",
    "SECRET_KEY": "k3R9x!pQ2v#Lm8Zt$Wb6Nf^Hy4Jd&Cs1Ge*Ua7Vo(Ri5Tk)Pl0Xq-Ew+Yn=Mz",
    "ALLOWED_HOSTS": "credit.example.cn",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/creditfactory",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "PII_ENCRYPTION_KEYS": "tO0k0Yx0hZ8yq0JH3o7bT8l3c4b7u3V2o5mZ9W1q8kE=",
    "PII_HMAC_KEY": "a-long-random-hmac-key-for-blind-indexes-0123456789",
}


def _run(*args, env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DEBUG"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy_with_no_warnings():
    result = _run("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr


def test_default_settings_are_the_embedded_sqlite_shape(tmp_path):
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.TIME_ZONE, "
            "[c for c, _ in s.LANGUAGES]]))")
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**clean, "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base",
                                 "CREDITFACTORY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == '["django.db.backends.sqlite3", true, "Asia/Shanghai", ["zh-hans", "en"]]'


def test_the_embedded_default_takes_the_demo_applications_through_the_flow(tmp_path):
    """``make run`` on SQLite: migrate, load the demo (eight applications entered through the services,
    each assessed by the eager Celery job). Guards the PostgreSQL-only SQL paths' SQLite fallbacks."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DATABASE_URL", "CELERY_BROKER_URL") and not k.startswith(("DJANGO_", "DEBUG"))}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "creditfactory.settings.base", "CREDITFACTORY_VAR_DIR": str(tmp_path)}
    for command in (["migrate", "--noinput"], ["demo"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        assert "Traceback" not in result.stderr, result.stderr[-4000:]
    code = ("import django, json; django.setup(); "
            "from django.conf import settings; from workflows.models import CreditApplication; "
            "from creditfactory.core.models import StateTransition; "
            "print(json.dumps([settings.DATABASES['default']['ENGINE'], "
            "sorted(CreditApplication.objects.values_list('status', flat=True)), "
            "StateTransition.objects.filter(from_state='submitted', to_state='assessing').count(), "
            "__import__('servicing.models', fromlist=['Loan']).Loan.objects.count()]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-4000:]
    engine, statuses, assessed, loans = json.loads(result.stdout.strip().splitlines()[-1])
    assert engine == "django.db.backends.sqlite3"
    # three straight through: contract recorded, line granted, drawn on (workflows.demo_loans)
    assert sorted(statuses) == ["approved"] * 3 + ["in_review"] * 3 + ["rejected"] * 2, statuses
    assert assessed == 8
    assert loans == 3  # booked through the drawdown flow, the sandbox bank and the ledger on SQLite too
