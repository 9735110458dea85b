"""Settings for risk decisioning (see docs/configuration.md and docs/risk.md)."""

from ..env import env_int

# The decision task tries this many times when a data source does not answer; the last attempt
# decides with whatever answered (an unavailable source makes the decision refer).
RISK_DECISION_MAX_ATTEMPTS = env_int("RISK_DECISION_MAX_ATTEMPTS", 5)
# Back-off between attempts: base × 2^attempt seconds, at most the cap (kept far below the
# broker's visibility timeout).
RISK_DECISION_RETRY_BASE_SECONDS = env_int("RISK_DECISION_RETRY_BASE_SECONDS", 10)
RISK_DECISION_RETRY_MAX_SECONDS = env_int("RISK_DECISION_RETRY_MAX_SECONDS", 300)

# The Celery task (by name) told about every new or reactivated fraud/risk-list entry, once it is
# committed, so the borrowers it names are re-checked at once (in-loan warnings, docs/risk.md).
# Risk never imports the flows: the task is looked up by name and skipped when not registered.
RISK_LIST_ENTRY_HANDLER_TASK = "workflows.list_entry_recheck"
