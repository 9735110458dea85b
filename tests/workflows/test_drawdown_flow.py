"""The drawdown flow with eager Celery: request → in-loan check (a product without an in-loan
rule set passes) → funding routing; no funder → awaiting funding, routed again by the beat job
and rejected (reservation released, partner told) after the configured time; cancelling while it
waits cancels the flow; the states are logged."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from viewflow.workflow.status import PROCESS

from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from servicing.models import CreditLine, Drawdown
from workflows.selectors.drawdowns import drawdown_process
from workflows.services.drawdowns import drawdown_funding_retry, drawdown_request, drawdown_withdraw

from .drawdown_factories import drawdown_body, line_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def requested(django_capture_on_commit_callbacks):
    api = line_api()
    with django_capture_on_commit_callbacks(execute=True):
        drawdown = drawdown_request(line=api.line, data=drawdown_body(), partner=api.partner,
                                    actor_label=api.partner.actor_label)
    return api, Drawdown.objects.get(pk=drawdown.pk)


def test_an_unfunded_drawdown_passes_the_check_and_waits_for_funding(requested):
    _api, drawdown = requested
    assert (drawdown.status, drawdown.check_outcome, drawdown.line_hold) == ("awaiting_funding", "pass", "held")
    assert drawdown.awaiting_funding_since is not None
    assert [t.to_state for t in transitions_for(drawdown).order_by("at", "id")] == [
        "requested", "checking", "routing", "awaiting_funding"]
    process = drawdown_process(drawdown)
    assert (process.data["check"]["outcome"], process.data["check"]["codes"], process.data["routing"]) == (
        "pass", [], "unfunded")
    assert drawdown.check_reference == process.data["check"]["reference"] != ""
    assert process.task_set.filter(flow_task__endswith="await_funding", status="NEW").count() == 1


def test_the_beat_job_routes_again_and_rejects_after_the_timeout(requested, settings):
    api, drawdown = requested
    settings.DRAWDOWN_FUNDING_TIMEOUT_HOURS = 24
    assert drawdown_funding_retry() == {"routed": 1, "rejected": 0, "busy": 0}
    drawdown.refresh_from_db()
    assert drawdown.status == "awaiting_funding"
    later = timezone.now() + timedelta(hours=25)
    assert drawdown_funding_retry(now=later) == {"routed": 0, "rejected": 1, "busy": 0}
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.line_hold, drawdown.reasons[-1]["code"]) == ("rejected", "released",
                                                                                   "no_funding")
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert drawdown_process(drawdown).status == PROCESS.DONE
    assert WebhookEvent.objects.filter(event="drawdown.rejected", partner=api.partner).count() == 1
    assert drawdown_funding_retry(now=later) == {"routed": 0, "rejected": 0, "busy": 0}


def test_cancelling_a_waiting_drawdown_cancels_its_flow(requested):
    api, drawdown = requested
    drawdown_withdraw(drawdown=drawdown, reason="No longer needed", actor_label=api.partner.actor_label)
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.line_hold) == ("cancelled", "released")
    assert drawdown_process(drawdown).status == PROCESS.CANCELED
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert drawdown_funding_retry() == {"routed": 0, "rejected": 0, "busy": 0}


def test_a_warning_stops_a_pending_drawdown_and_its_flow(requested):
    from workflows.services.drawdowns import drawdown_stop

    api, drawdown = requested
    drawdown_stop(drawdown=drawdown, reason="Borrower on the risk list", code="warning")
    drawdown.refresh_from_db()
    assert (drawdown.status, drawdown.line_hold, drawdown.reasons[-1]["code"]) == ("rejected", "released", "warning")
    assert drawdown_process(drawdown).status == PROCESS.CANCELED
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert WebhookEvent.objects.filter(event="drawdown.rejected").count() == 1
