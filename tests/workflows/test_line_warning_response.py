"""The warning response test (issue 15 §4): a new fraud-list entry for a borrower with an active
line and a pending drawdown → on the entry's commit (Celery eager) the line is frozen and the
drawdown stopped, through the real list dispatch, in-loan warning check and line change flow."""

from decimal import Decimal

import pytest
from django.db.models import F

import workflows.tasks  # noqa: F401 - registers workflows.list_entry_recheck
from risk.services import lists as list_services
from servicing.models import CreditLine, Drawdown, LineWarning
from tests.risk.policy_factories import configure_sources, make_in_loan_policy
from tests.workflows.line_factories import setup_lines
from workflows.services import warnings as service

pytestmark = pytest.mark.django_db


@pytest.fixture
def drawdown_reject(monkeypatch):
    """The drawdown helper's ``drawdown_reject`` when it is merged; until then a stand-in that
    rejects and releases the reservation as it does."""
    try:
        import servicing.services.drawdowns  # noqa: F401
        return
    except ImportError:
        pass

    def fake_reject(*, drawdown, reason, code, actor=None, actor_label=""):
        Drawdown.objects.filter(pk=drawdown.pk).update(status="rejected", line_hold="released")
        CreditLine.objects.filter(pk=drawdown.credit_line_id).update(held=F("held") - drawdown.amount)

    monkeypatch.setattr(service, "_drawdown_reject", fake_reject)


def test_a_new_fraud_list_entry_freezes_the_line_and_stops_the_pending_drawdown(
        settings, django_capture_on_commit_callbacks, drawdown_reject):
    settings.RISK_LIST_ENTRY_HANDLER_TASK = "workflows.list_entry_recheck"
    configure_sources()
    s = setup_lines(approval=True, limit="50000.00", used="10000.00", held="8000.00")
    make_in_loan_policy(s.product)
    pending = Drawdown.objects.create(
        number="DD00000001", credit_line=s.line, applicant=s.line.applicant, product_version=s.line.product_version,
        branch=s.line.branch, channel="api", amount=Decimal("8000.00"), term=12, term_unit="months",
        repayment_method="equal_installment", purpose="education", bank_account="6222021234567890128",
        bank_account_masked="6222 **** 0128", status="reviewing", requested_on=s.line.valid_from)

    with django_capture_on_commit_callbacks(execute=True):
        list_services.risk_list_entry_add(actor=None, list_type="fraud", kind="id_number",
                                          value=s.line.applicant.id_number, reason="Fraud confirmed")

    s.line.refresh_from_db()
    pending.refresh_from_db()
    assert (s.line.status, s.line.held, pending.status) == ("frozen", Decimal("0.00"), "rejected")
    [warning] = LineWarning.objects.filter(credit_line=s.line)
    assert (warning.source, warning.action, warning.status) == ("list_entry", "freeze", "open")
    assert "IL_LIST_HIT" in [rule["code"] for rule in warning.rules]
    [change] = warning.changes.all()
    assert (change.kind, change.source, change.status) == ("freeze", "rule", "applied")
