"""In-loan warnings: a hit raises a LineWarning with the rule's handling applied at once (stop
open drawdowns, freeze, reduce the limit — through the line change flow, applied directly),
idempotent per check; the monitoring job's rotating share; confirm and lift (permission, lift
unfreezes).

Until risk's ``warning_check`` and the drawdown helper's ``drawdown_reject`` are merged, both are
replaced here at the module's seam (``_warning_check`` / ``_drawdown_reject``) by a fake that
answers like them; ``test_line_warning_response`` runs the real path end to end."""

from dataclasses import dataclass, field
from datetime import datetime, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F

from creditfactory.core.state import transitions_for
from servicing.models import CreditLine, CreditLineChange, Drawdown, LineWarning
from tests.factories import make_staff
from tests.workflows.flow_factories import grant
from tests.workflows.line_factories import setup_lines
from workflows.services import warnings as service
from workflows.tasks import list_entry_recheck, warnings_monitor

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class FakeResult:
    hit: bool
    action: str
    reasons: list
    reference: str
    source: str = "monitoring"
    reason_codes: list = field(default_factory=list)


@pytest.fixture
def checks(monkeypatch):
    """The fake warning check: ``checks.action`` for every borrower (None: no hit); records calls."""
    class Checks:
        action = "freeze"
        calls: list = []

    def fake(*, applicant_id, product_id, reference, line_id=None, source="monitoring"):
        Checks.calls.append((applicant_id, line_id, reference, source))
        if Checks.action is None:
            return FakeResult(False, "", [], reference, source)
        return FakeResult(True, Checks.action, ["Court enforcement record"], reference, source, ["court_enforced"])

    def fake_reject(*, drawdown, reason, code, actor=None, actor_label=""):
        Drawdown.objects.filter(pk=drawdown.pk).update(status="rejected", line_hold="released")
        CreditLine.objects.filter(pk=drawdown.credit_line_id).update(held=F("held") - drawdown.amount)

    Checks.calls = []
    monkeypatch.setattr(service, "_warning_check", fake)
    try:
        import servicing.services.drawdowns  # noqa: F401 - the real one once merged
    except ImportError:
        monkeypatch.setattr(service, "_drawdown_reject", fake_reject)
    return Checks


def _drawdown(line, amount="5000.00", status="reviewing"):
    CreditLine.objects.filter(pk=line.pk).update(held=F("held") + Decimal(amount))
    return Drawdown.objects.create(
        number=f"DD{Drawdown.objects.count() + 1:08d}", credit_line=line, applicant=line.applicant,
        product_version=line.product_version, branch=line.branch, channel="api", amount=Decimal(amount), term=12,
        term_unit="months", repayment_method="equal_installment", purpose="education",
        bank_account="6222021234567890128", bank_account_masked="6222 **** 0128", status=status,
        requested_on=line.valid_from)


def test_a_freeze_warning_stops_open_drawdowns_and_freezes_the_line(checks):
    s = setup_lines(approval=True, limit="50000.00", used="10000.00")
    open_one = _drawdown(s.line)
    done = _drawdown(s.line, status="disbursed", amount="1000.00")
    [warning] = service.list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index,
                                           entry_id=7)
    s.line.refresh_from_db()
    assert (warning.action, warning.status, warning.source, warning.rules) == (
        "freeze", "open", "list_entry", [{"code": "court_enforced", "description": "Court enforcement record"}])
    assert s.line.status == "frozen"
    assert Drawdown.objects.get(pk=open_one.pk).status == "rejected"
    assert Drawdown.objects.get(pk=done.pk).status == "disbursed"
    [change] = warning.changes.all()
    assert (change.kind, change.source, change.status, change.status_after) == ("freeze", "rule", "applied", "frozen")
    # the task again (a retried delivery): the same check reference, nothing twice
    assert list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index, entry_id=7) == 1
    assert (LineWarning.objects.count(), CreditLineChange.objects.count()) == (1, 1)


def test_reduce_limit_takes_the_limit_down_to_what_is_drawn(checks):
    checks.action = "reduce_limit"
    s = setup_lines(limit="50000.00", used="12000.00")
    _drawdown(s.line, amount="3000.00")
    [warning] = service.list_entry_recheck(kind="mobile", value_index=s.line.applicant.mobile_index, entry_id=8)
    s.line.refresh_from_db()
    assert (s.line.limit, s.line.held, s.line.available, s.line.status) == (
        Decimal("12000.00"), Decimal("0.00"), Decimal("0.00"), "active")
    [change] = warning.changes.all()
    assert (change.kind, change.limit_before, change.limit_after) == ("decrease", Decimal("50000.00"),
                                                                      Decimal("12000.00"))


def test_notify_only_raises_the_warning(checks):
    checks.action = "notify"
    s = setup_lines()
    dd = _drawdown(s.line)
    [warning] = service.list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index, entry_id=9)
    s.line.refresh_from_db()
    assert (warning.action, s.line.status, Drawdown.objects.get(pk=dd.pk).status) == ("notify", "active", "reviewing")


def test_no_hit_no_warning_and_a_device_entry_names_nobody(checks):
    checks.action = None
    s = setup_lines()
    assert service.list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index) == []
    assert service.list_entry_recheck(kind="device", value_index="abc") == []
    assert LineWarning.objects.count() == 0


def test_the_monitoring_job_checks_a_rotating_share_of_active_lines(checks, settings):
    checks.action = None
    s = setup_lines()
    from tests.servicing.line_factories import make_line

    lines = [s.line] + [make_line(product=s.product, branch=s.branch, sequence=f"{300 + i}") for i in range(3)]
    settings.WARNING_MONITOR_SHARE_PERCENT, settings.WARNING_MONITOR_MINUTES = 50, 60
    seen = set()
    for hour in (0, 1):
        now = datetime(2026, 6, 1, hour, 5, tzinfo=dt_timezone.utc)
        result = service.warnings_monitor(share_percent=50, cadence_minutes=60, now=now)
        assert (result["buckets"], result["checked"]) == (2, 2)
        seen |= {call[1] for call in checks.calls}
    assert seen == {line.pk for line in lines}
    assert warnings_monitor()["buckets"] == 2


def test_confirm_and_lift_need_the_permission_and_lifting_unfreezes(checks):
    s = setup_lines()
    [warning] = service.list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index, entry_id=1)
    nobody = make_staff("nobody", s.branch)
    with pytest.raises(PermissionDenied):
        service.warning_confirm(warning=warning, actor=nobody)
    with pytest.raises(ValidationError):
        service.warning_lift(warning=warning, actor=s.approver, note="")
    warning = service.warning_lift(warning=warning, actor=s.approver, note="Record belongs to a namesake")
    s.line.refresh_from_db()
    assert (warning.status, warning.handled_by, s.line.status) == ("lifted", s.approver, "active")
    assert [t.to_state for t in transitions_for(warning).order_by("pk")] == ["open", "lifted"]
    with pytest.raises(ValidationError):
        service.warning_confirm(warning=warning, actor=s.approver)


def test_a_confirmed_warning_keeps_its_handling(checks):
    s = setup_lines()
    [warning] = service.list_entry_recheck(kind="id_number", value_index=s.line.applicant.id_number_index, entry_id=2)
    handler = grant(make_staff("handler", s.branch), "servicing.handle_linewarning")
    warning = service.warning_confirm(warning=warning, actor=handler, note="Confirmed with court")
    s.line.refresh_from_db()
    assert (warning.status, warning.note, s.line.status) == ("confirmed", "Confirmed with court", "frozen")
