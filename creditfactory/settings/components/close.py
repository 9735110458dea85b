"""Settings of the daily close (日终, see docs/servicing.md).

CLOSE_CHUNK_SIZE: open loans per chunk (one transaction, one Celery task each).
CLOSE_DEBIT_BATCH_SIZE: loans per scheduled-debit task the start of day sends (each loan's debit
asked of the channel in turn; a loan whose request fails is retried alone).
CLOSE_HOUR / CLOSE_MINUTE: local time of the nightly close (Celery beat entry
``servicing.close-day``): it closes every business date up to yesterday, in order.
CLOSE_HANDOVER_HOOKS: dotted paths of functions called at the start of each day for each chunk
of loans (``hook(business_date=…, lo=…, hi=…)``), e.g. the collections app's case opening.
CLOSE_SNAPSHOT_HOOKS: dotted paths of functions called once a date's run is done (after the start
of the next day), ``hook(business_date=…)`` returning {name: rows}: nightly aggregates of apps
above servicing, e.g. the collections' classification and recovery figures for the dashboard.
CLOSE_WARNING_HANDLER: dotted path of the function applying a post-loan warning's handling
(``handler(warning=…)``) when its rules ask for more than a notification (stop drawdowns,
reduce the limit, freeze): the in-loan warnings' handling, in workflows; "" to only queue them.
LOAN_REPRESENTATION_EXTRAS: {key: dotted path of a serializer-field factory} added to the loan API's
representation by apps above servicing (servicing cannot import them), e.g. "collection".
COLLECTION_REMINDER_HOUR: local hour the collections' automated reminders go out (within the
compliance policy's contact hours; beat entry ``collection.reminders``).
"""

from celery.schedules import crontab

from ..env import env_int

CLOSE_CHUNK_SIZE = env_int("CLOSE_CHUNK_SIZE", 5000)
CLOSE_DEBIT_BATCH_SIZE = env_int("CLOSE_DEBIT_BATCH_SIZE", 100)
CLOSE_HOUR = env_int("CLOSE_HOUR", 0)
CLOSE_MINUTE = env_int("CLOSE_MINUTE", 5)
CLOSE_HANDOVER_HOOKS: list[str] = ["collection.services.collection_close_phase"]
CLOSE_SNAPSHOT_HOOKS: list[str] = ["collection.services.collection_snapshot"]
CLOSE_WARNING_HANDLER = "workflows.services.warnings.warning_handle"

LOAN_REPRESENTATION_EXTRAS: dict[str, str] = {"collection": "collection.api.loan_collection_field"}
COLLECTION_REMINDER_HOUR = env_int("COLLECTION_REMINDER_HOUR", 10)

CLOSE_BEAT_SCHEDULE = {
    "servicing.close-day": {
        "task": "servicing.close_day",
        "schedule": crontab(hour=CLOSE_HOUR, minute=CLOSE_MINUTE),
    },
    "collection.reminders": {
        "task": "collection.send_reminders",
        "schedule": crontab(hour=COLLECTION_REMINDER_HOUR, minute=0),
    },
}
