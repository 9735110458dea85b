"""Settings for workflows (see docs/signing.md and docs/configuration.md).

SIGNING_REMINDER_HOUR / SIGNING_REMINDER_MINUTE: local time (CELERY_TIMEZONE) at which the daily
remote-signing reminders go out for the next day's appointments.
"""

from celery.schedules import crontab

from ..env import env_int

SIGNING_REMINDER_HOUR = env_int("SIGNING_REMINDER_HOUR", 10)
SIGNING_REMINDER_MINUTE = env_int("SIGNING_REMINDER_MINUTE", 0)

# Periodic tasks, merged into CELERY_BEAT_SCHEDULE by base.py; django-celery-beat's
# DatabaseScheduler loads them into its tables when beat starts (no data migration needed).
WORKFLOWS_BEAT_SCHEDULE = {
    "workflows.signing-reminders": {
        "task": "workflows.signing_send_reminders",
        "schedule": crontab(hour=SIGNING_REMINDER_HOUR, minute=SIGNING_REMINDER_MINUTE),
    },
}

# --- The credit flow (see docs/workflows.md) ---
# How often the beat job escalates tasks past their SLA, in minutes.
WORKFLOW_SLA_ESCALATION_MINUTES = env_int("WORKFLOW_SLA_ESCALATION_MINUTES", 15)
# A flow job that finds its process locked tries again after this many seconds.
WORKFLOW_JOB_LOCK_RETRY_SECONDS = env_int("WORKFLOW_JOB_LOCK_RETRY_SECONDS", 2)
# Work groups (by code) a new product's nodes are routed to until an admin changes them.
WORKFLOW_DEFAULT_WORK_GROUPS = {"review": "review", "approval": "approval", "signing": "signing"}
# Uploaded application documents: largest size and accepted types.
WORKFLOW_DOCUMENT_MAX_BYTES = env_int("WORKFLOW_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024)
WORKFLOW_DOCUMENT_CONTENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
# A stored document file no document row names (its upload's transaction rolled back) is deleted
# by the daily sweep once it is this many hours old; the local time the sweep runs.
WORKFLOW_DOCUMENT_ORPHAN_HOURS = env_int("WORKFLOW_DOCUMENT_ORPHAN_HOURS", 24)
WORKFLOW_DOCUMENT_SWEEP_HOUR = env_int("WORKFLOW_DOCUMENT_SWEEP_HOUR", 3)
WORKFLOW_DOCUMENT_SWEEP_MINUTE = env_int("WORKFLOW_DOCUMENT_SWEEP_MINUTE", 15)

WORKFLOWS_BEAT_SCHEDULE["workflows.documents-sweep"] = {
    "task": "workflows.documents_sweep",
    "schedule": crontab(hour=WORKFLOW_DOCUMENT_SWEEP_HOUR, minute=WORKFLOW_DOCUMENT_SWEEP_MINUTE),
}

# Collection cases at a human step get their CollectionFlow task after the nightly close.
WORKFLOW_COLLECTION_FLOWS_HOUR = env_int("WORKFLOW_COLLECTION_FLOWS_HOUR", 6)
WORKFLOWS_BEAT_SCHEDULE["workflows.collection-flows"] = {
    "task": "workflows.collection_flows_sync",
    "schedule": crontab(hour=WORKFLOW_COLLECTION_FLOWS_HOUR, minute=0),
}

WORKFLOWS_BEAT_SCHEDULE["workflows.sla-escalation"] = {
    "task": "workflows.sla_escalate",
    "schedule": crontab(minute=f"*/{WORKFLOW_SLA_ESCALATION_MINUTES}"),
}

# --- Batch entry (批量录入) and quality inspection (抽样质检), see docs/workflows.md ---
# Largest upload and most data rows of one batch import; rows per Celery task run (each row is
# its own transaction; the task re-enqueues itself for the next chunk).
WORKFLOW_BATCH_MAX_BYTES = env_int("WORKFLOW_BATCH_MAX_BYTES", 5 * 1024 * 1024)
WORKFLOW_BATCH_MAX_ROWS = env_int("WORKFLOW_BATCH_MAX_ROWS", 5000)
WORKFLOW_BATCH_CHUNK_SIZE = env_int("WORKFLOW_BATCH_CHUNK_SIZE", 100)
# Local time of the daily QA sampling of the previous day's straight-through approvals.
WORKFLOW_QA_SAMPLE_HOUR = env_int("WORKFLOW_QA_SAMPLE_HOUR", 1)
WORKFLOW_QA_SAMPLE_MINUTE = env_int("WORKFLOW_QA_SAMPLE_MINUTE", 30)

WORKFLOWS_BEAT_SCHEDULE["workflows.quality-sample"] = {
    "task": "workflows.quality_sample",
    "schedule": crontab(hour=WORKFLOW_QA_SAMPLE_HOUR, minute=WORKFLOW_QA_SAMPLE_MINUTE),
}

# --- The drawdown flow (借款, see docs/drawdowns.md) ---
# A drawdown no funder can take waits (awaiting_funding); the beat job routes it again every this
# many minutes, and rejects it once it has waited this many hours.
DRAWDOWN_FUNDING_RETRY_MINUTES = env_int("DRAWDOWN_FUNDING_RETRY_MINUTES", 5)
DRAWDOWN_FUNDING_TIMEOUT_HOURS = env_int("DRAWDOWN_FUNDING_TIMEOUT_HOURS", 24)

WORKFLOWS_BEAT_SCHEDULE["workflows.drawdown-funding-retry"] = {
    "task": "workflows.drawdown_funding_retry",
    "schedule": crontab(minute=f"*/{DRAWDOWN_FUNDING_RETRY_MINUTES}"),
}
# Drawdowns stuck in disbursing (a lost send, an overdue confirmation, a lost settlement task) are
# looked at every this many minutes.
DRAWDOWN_DISBURSEMENT_SWEEP_MINUTES = env_int("DRAWDOWN_DISBURSEMENT_SWEEP_MINUTES", 1)

WORKFLOWS_BEAT_SCHEDULE["workflows.drawdown-disbursements-sweep"] = {
    "task": "workflows.drawdown_disbursements_sweep",
    "schedule": crontab(minute=f"*/{DRAWDOWN_DISBURSEMENT_SWEEP_MINUTES}"),
}
