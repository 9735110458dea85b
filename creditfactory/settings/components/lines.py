"""Settings of credit-line management and in-loan warnings (see docs/workflows.md).

LINES_EXPIRE_HOUR / LINES_EXPIRE_MINUTE: local time of the daily expiry of lines past their
validity (on the business date). WARNING_MONITOR_MINUTES: how often the in-loan warning
monitoring job runs; WARNING_MONITOR_SHARE_PERCENT: the share of active lines it re-checks per
run (a rotating slice by id). WARNING_WORK_GROUP: the work group (code) whose queue receives
warnings: when it exists, only those who work on its queue (and hold servicing.handle_linewarning)
confirm or lift them. CREDIT_GROWTH_HOUR / CREDIT_GROWTH_MINUTE: local time of the daily credit
growth review (each product's policy sets the cadence; a line is reviewed when it comes round).
"""

from celery.schedules import crontab

from ..env import env_int, env_str

LINES_EXPIRE_HOUR = env_int("LINES_EXPIRE_HOUR", 0)
LINES_EXPIRE_MINUTE = env_int("LINES_EXPIRE_MINUTE", 30)
WARNING_MONITOR_MINUTES = env_int("WARNING_MONITOR_MINUTES", 60)
WARNING_MONITOR_SHARE_PERCENT = env_int("WARNING_MONITOR_SHARE_PERCENT", 5)
WARNING_WORK_GROUP = env_str("WARNING_WORK_GROUP", "warnings")
# Credit growth (额度动态调整): the daily run that reviews the lines whose cadence came round.
CREDIT_GROWTH_HOUR = env_int("CREDIT_GROWTH_HOUR", 1)
CREDIT_GROWTH_MINUTE = env_int("CREDIT_GROWTH_MINUTE", 0)

LINES_BEAT_SCHEDULE = {
    "servicing.lines-expire": {
        "task": "servicing.lines_expire",
        "schedule": crontab(hour=LINES_EXPIRE_HOUR, minute=LINES_EXPIRE_MINUTE),
    },
    "workflows.credit-growth-review": {
        "task": "workflows.credit_growth_review",
        "schedule": crontab(hour=CREDIT_GROWTH_HOUR, minute=CREDIT_GROWTH_MINUTE),
    },
    "workflows.warnings-monitor": {
        "task": "workflows.warnings_monitor",
        "schedule": crontab(minute=f"*/{WARNING_MONITOR_MINUTES}") if WARNING_MONITOR_MINUTES < 60
        else crontab(minute=0, hour=f"*/{max(WARNING_MONITOR_MINUTES // 60, 1)}"),
    },
}
