"""Settings of the ledger (see docs/ledger.md).

LEDGER_CHECK_HOUR / LEDGER_CHECK_MINUTE: local time of the nightly proof of the books
(``servicing.ledger_check``, the same check as ``manage.py ledger_check``).
"""

from celery.schedules import crontab

from ..env import env_int

LEDGER_CHECK_HOUR = env_int("LEDGER_CHECK_HOUR", 5)
LEDGER_CHECK_MINUTE = env_int("LEDGER_CHECK_MINUTE", 0)

LEDGER_BEAT_SCHEDULE = {
    "servicing.ledger-check": {
        "task": "servicing.ledger_check",
        "schedule": crontab(hour=LEDGER_CHECK_HOUR, minute=LEDGER_CHECK_MINUTE),
    },
}
