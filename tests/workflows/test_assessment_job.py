"""The credit flow's assessment job (the one path by which applications are decided): queued on
commit, retried with the capped exponential back-off while a data source does not answer, and
deciding ``refer`` once the retries are exhausted."""

from decimal import Decimal

import pytest
from celery.exceptions import Retry

from risk.models import DataSourceCall, Decision
from risk.services.decisions import retry_countdown
from tests.risk.policy_factories import configure_sources
from workflows.flows import CreditApplicationFlow
from workflows.jobs import JobRetry, run_job
from workflows.tasks import job_run

from .flow_factories import create_application, setup_origination

pytestmark = pytest.mark.django_db


def test_the_job_decides_on_commit(django_capture_on_commit_callbacks):
    o = setup_origination()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        application = create_application(o)
        assert Decision.objects.count() == 0  # nothing before the commit
    assert len(callbacks) == 1
    decision = Decision.objects.get()
    assert (decision.application, decision.outcome, decision.limit) == (application, "approve", Decimal("40000.00"))


def test_a_source_that_stays_down_refers_once_the_retries_are_exhausted(settings,
                                                                         django_capture_on_commit_callbacks):
    settings.RISK_DECISION_MAX_ATTEMPTS = 4
    o = setup_origination()
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    with django_capture_on_commit_callbacks(execute=True):
        create_application(o)
    decision = Decision.objects.get()
    assert (decision.outcome, decision.unavailable_sources, decision.tolerated_failures) == ("refer", ["bureau"], True)
    assert [reason["code"] for reason in decision.reasons] == ["DATA_SOURCE_UNAVAILABLE"]
    # One bureau attempt per job run: three retried runs, then the last one that decided. The
    # other sources answered the first time and came from the cache after that.
    assert DataSourceCall.objects.filter(source="bureau", status="timeout").count() == 4
    assert list(DataSourceCall.objects.filter(source="court").order_by("id").values_list("status", flat=True)) == [
        "ok", "cached", "cached", "cached"]
    assert decision.data_cost == Decimal("1.60")  # multi-lending, fraud and court, paid once


def test_a_failed_attempt_asks_for_a_retry_with_its_countdown(monkeypatch):
    o = setup_origination()
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    application = create_application(o)  # on_commit not run: the job is queued
    job = application.process.task_set.get(flow_task=CreditApplicationFlow.assess)
    with pytest.raises(JobRetry) as caught:
        run_job(job.pk, attempt=2)
    assert (caught.value.countdown, caught.value.attempt) == (retry_countdown(2), 3)

    monkeypatch.setattr(job_run, "retry", lambda **kwargs: Retry(when=kwargs["countdown"]))
    job_run.push_request(is_eager=False, retries=2)
    try:
        with pytest.raises(Retry) as retried:
            job_run.run(job.pk, attempt=2)
    finally:
        job_run.pop_request()
    assert retried.value.when == retry_countdown(2)
    assert Decision.objects.count() == 0
