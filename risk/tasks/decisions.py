"""Risk tasks: the credit decision of one application on a worker.

Thin: ``risk.services.decisions.assess_application`` does the work. Idempotent: a second run
for the same application returns the decision already made. A data source that does not answer
is retried with exponential back-off (``retry_countdown``: base × 2^attempt, capped); the last
attempt decides with what answered, so a source that stays down gives ``refer``, never a
silent approve. Enqueue with ``risk.services.decisions.risk_assess_enqueue`` (on commit).
"""

from celery import shared_task
from django.conf import settings

from risk.features import DataSourceUnavailable
from risk.services.decisions import assess_application, retry_countdown

__all__ = ["assess_application_task"]


@shared_task(bind=True, name="risk.assess_application", acks_late=True, max_retries=None)
def assess_application_task(self, application_id: int) -> int:
    attempt = self.request.retries
    max_attempts = settings.RISK_DECISION_MAX_ATTEMPTS
    try:
        decision = assess_application(application_id, attempt=attempt, max_attempts=max_attempts)
    except DataSourceUnavailable as exc:
        raise self.retry(exc=exc, countdown=retry_countdown(attempt), max_retries=max_attempts - 1) from exc
    return decision.pk
