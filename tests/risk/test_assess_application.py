"""The decision of one application on a worker (``assess_application``, the entry point of the
credit flow's assessment job): idempotent, an outage raises while attempts are left and decides
``refer`` on the last one, the back-off is exponential and capped. The job itself — run on commit,
retried with that back-off — is tested through the flow in ``tests/workflows/test_assessment_job.py``."""

from decimal import Decimal

import pytest
from django.test import override_settings

from risk.features import DataSourceUnavailable
from risk.models import Decision
from risk.services.decisions import assess_application, retry_countdown
from tests.factories import make_product
from tests.risk.factories import make_application
from workflows.selectors.assessment import assessment_request

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


def test_assessing_twice_keeps_one_decision(application):
    first = assess_application(request=assessment_request(application)).pk
    second = assess_application(request=assessment_request(application)).pk
    assert first == second == Decision.objects.get().pk


def test_before_the_last_attempt_an_outage_raises_and_writes_nothing(application):
    configure_sources(bureau={"sandbox_failure_rate": Decimal("1.000")})
    with pytest.raises(DataSourceUnavailable):
        assess_application(request=assessment_request(application), attempt=0, max_attempts=3)
    assert Decision.objects.count() == 0
    decision = assess_application(request=assessment_request(application), attempt=2, max_attempts=3)
    assert decision.outcome == "refer"


def test_an_outage_a_retry_cannot_fix_refers_at_once(application):
    configure_sources(court={"provider": "no-such-provider"})
    decision = assess_application(request=assessment_request(application), attempt=0, max_attempts=5)
    assert (decision.outcome, decision.unavailable_sources) == ("refer", ["court"])
    assert decision.reasons[0]["params"]["source"] == "court"
