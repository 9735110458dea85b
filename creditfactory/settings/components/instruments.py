"""Settings of the instruments: the data dashboard (数据仪表盘) and the mobile cockpit (移动驾驶舱),
see docs/dashboard.md.

DASHBOARD_LARGE_LOAN: an application above this amount (CNY) is a large loan, whose
manual-review share the dashboard shows against DASHBOARD_LARGE_MANUAL_TARGET (percent).
DASHBOARD_APPROVAL_TARGET_MINUTES: the approval-time target (审批时效).
DASHBOARD_REPEAT_TARGET: the repeat-borrowing rate target (复贷率, percent).
COCKPIT_OVERDUE_ALERT_PERCENT: the cockpit alerts when the M1+ overdue rate is above it.
COCKPIT_QUOTA_ALERT_PERCENT: the cockpit alerts when a funder has used this share of its total or
today's daily quota.
"""

from decimal import Decimal

from ..env import env_int, env_str

DASHBOARD_LARGE_LOAN = Decimal(env_str("DASHBOARD_LARGE_LOAN", "100000"))
DASHBOARD_LARGE_MANUAL_TARGET = Decimal(env_str("DASHBOARD_LARGE_MANUAL_TARGET", "15"))
DASHBOARD_APPROVAL_TARGET_MINUTES = env_int("DASHBOARD_APPROVAL_TARGET_MINUTES", 60)
DASHBOARD_REPEAT_TARGET = Decimal(env_str("DASHBOARD_REPEAT_TARGET", "35"))
COCKPIT_OVERDUE_ALERT_PERCENT = Decimal(env_str("COCKPIT_OVERDUE_ALERT_PERCENT", "5"))
COCKPIT_QUOTA_ALERT_PERCENT = Decimal(env_str("COCKPIT_QUOTA_ALERT_PERCENT", "90"))
