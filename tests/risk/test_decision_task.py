"""The decision task: thin, idempotent, retried with capped exponential back-off while a data
source does not answer, and deciding ``refer`` once the retries are exhausted."""

from decimal import Decimal

import pytest
from celery.exceptions import Retry
from django.test import override_settings

from creditfactory.celery import app as celery_app
from risk.features import DataSourceUnavailable
from risk.models import DataSourceCall, Decision
from risk.services.decisions import assess_application, retry_countdown, risk_assess_enqueue
from risk.tasks.decisions import assess_application_task
from tests.factories import make_product
from tests.risk.factories import make_application

from .policy_factories import configure_sources, make_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def application():
    configure_sources()
    product = make_product("EDUCATION")
    make_policy(product)
    return make_application(product=product)


@override_settings(RISK_DECISION_RETRY_BASE_SECONDS=10, RISK_DECISION_RETRY_MAX_SECONDS=300)
def test_the_back_off_doubles_and_is_capped():
    assert [retry_countdown(attempt) for attempt in range(7)] == [10, 20, 40, 80, 160, 300, 300]


def test_the_task_decides_on_commit(application, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        risk_assess_enqueue(application=application)
        assert Decision.objects.count() == 0  # nothing before the commit
    assert len(callbacks) == 1
    decision = Decision.objects.get()
    assert (decision.application, decision.outcome, decision.limit) == (application, "approve", Decimal("40000.00"))


def test_running_the_task_twice_keeps_one_decision(application):
    first = assess_application_task.apply(args=[application.pk]).get()
    second = assess_application_task.apply(args=[application.pk]).get()
    assert first == second == Decision.objects.get().pk


@pytest.fixture
def worker_retries():
    """Eager tasks re-run a retried task at once, as a worker would after the countdown — but only
    when eager exceptions do not propagate (with propagation, celery raises ``Retry`` instead)."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


@override_settings(RISK_DECISION_MAX_ATTEMPTS=4)
def test_a_source_that_stays_down_refers_once_the_retries_are_exhausted(application, worker_retries,
                                                                         django_capture_on_commit_callbacks):
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    with django_capture_on_commit_callbacks(execute=True):
        risk_assess_enqueue(application=application)
    decision = Decision.objects.get()
    assert (decision.outcome, decision.unavailable_sources, decision.tolerated_failures) == ("refer", ["bureau"], True)
    assert [reason["code"] for reason in decision.reasons] == ["DATA_SOURCE_UNAVAILABLE"]
    # One bureau attempt per task run: three retried runs, then the last one that decided. The
    # other sources answered the first time and came from the cache after that.
    assert DataSourceCall.objects.filter(source="bureau", status="timeout").count() == 4
    assert list(DataSourceCall.objects.filter(source="court").order_by("id").values_list("status", flat=True)) == [
        "ok", "cached", "cached", "cached"]
    assert decision.data_cost == Decimal("1.60")  # multi-lending, fraud and court, paid once


def test_a_failed_attempt_asks_for_a_retry_with_its_countdown(application):
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    assess_application_task.push_request(id="t-1", retries=2, is_eager=True, called_directly=False,
                                         args=[application.pk], kwargs={})
    try:
        with pytest.raises(Retry) as caught:
            assess_application_task.run(application.pk)
    finally:
        assess_application_task.pop_request()
    assert caught.value.when == retry_countdown(2)
    assert Decision.objects.count() == 0


def test_before_the_last_attempt_an_outage_raises_and_writes_nothing(application):
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    with pytest.raises(DataSourceUnavailable):
        assess_application(application.pk, attempt=0, max_attempts=3)
    assert Decision.objects.count() == 0
    decision = assess_application(application.pk, attempt=2, max_attempts=3)
    assert decision.outcome == "refer"


def test_an_outage_a_retry_cannot_fix_refers_at_once(application):
    configure_sources(court={"provider": "no-such-provider"})
    decision = assess_application(application.pk, attempt=0, max_attempts=5)
    assert (decision.outcome, decision.unavailable_sources) == ("refer", ["court"])
    assert decision.reasons[0]["params"]["source"] == "court"
