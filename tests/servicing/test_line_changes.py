"""Changes to a credit line (额度变更) at the service level: limits through the conditional UPDATE
(a decrease below drawn + held refused with the figures), status moves through the line's
machine, before/after and who/why recorded, ``line.changed`` to the partner, and expiry on the
business date."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from creditfactory.core.state import transitions_for
from creditfactory.partners.models import WebhookEvent
from servicing.locks import line_limit_set
from servicing.models import CreditLine, CreditLineChange
from servicing.services import business_date_set
from servicing.services.lines import line_change_apply, line_change_reject, line_change_request, lines_expire
from servicing.tasks import lines_expire_task
from tests.factories import make_staff
from tests.partners.factories import make_partner
from tests.servicing.line_factories import make_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(db):
    return make_staff("officer1")


def test_an_increase_is_applied_with_before_and_after_and_who(officer):
    line = make_line(limit="50000.00", used="10000.00")
    change = line_change_request(line=line, kind="increase", new_limit="80000", reason="Good repayment record",
                                 source="officer", actor=officer)
    assert (change.status, change.new_limit, change.limit_before, change.number) == (
        "requested", Decimal("80000.00"), Decimal("50000.00"), f"LC{change.pk:010d}")
    change = line_change_apply(change=change, actor=officer, note="ok")
    line.refresh_from_db()
    assert line.limit == Decimal("80000.00") and line.available == Decimal("70000.00")
    assert (change.status, change.limit_before, change.limit_after, change.status_before, change.status_after,
            change.decided_by, change.decision_note) == (
        "applied", Decimal("50000.00"), Decimal("80000.00"), "active", "active", officer, "ok")
    [limit_move] = transitions_for(line).filter(field="limit")
    assert (limit_move.from_state, limit_move.to_state, limit_move.actor, limit_move.reason) == (
        "50000.00", "80000.00", officer, "Good repayment record")
    assert [(t.from_state, t.to_state) for t in transitions_for(change).order_by("pk")] == [
        ("", "requested"), ("requested", "applied")]


def test_a_decrease_below_used_and_held_is_refused_with_the_figures(officer):
    line = make_line(limit="50000.00", used="30000.00", held="5000.00")
    with pytest.raises(ValidationError) as refused:
        line_change_request(line=line, kind="decrease", new_limit="34999.99", reason="Risk", source="officer",
                            actor=officer)
    assert refused.value.message_dict["new_limit"] == [
        "The new limit 34,999.99 is below what the line has drawn and reserved: used 30,000.00 + held 5,000.00 "
        "= 35,000.00."]
    assert CreditLineChange.objects.count() == 0
    line.refresh_from_db()
    assert line.limit == Decimal("50000.00")


def test_a_decrease_refused_at_apply_time_rejects_the_change_with_the_figures(officer):
    line = make_line(limit="50000.00", used="30000.00")
    change = line_change_request(line=line, kind="decrease", new_limit="35000", reason="Risk", source="officer",
                                 actor=officer)
    CreditLine.objects.filter(pk=line.pk).update(held=Decimal("6000.00"))  # a drawdown held meanwhile
    change = line_change_apply(change=change, actor=officer)
    line.refresh_from_db()
    assert (change.status, line.limit) == ("rejected", Decimal("50000.00"))
    assert change.decision_note == (
        "The new limit 35,000.00 is below what the line has drawn and reserved: used 30,000.00 + held 6,000.00 "
        "= 36,000.00.")
    assert not transitions_for(line).filter(field="limit").exists()


def test_line_limit_set_is_one_conditional_update():
    line = make_line(limit="50000.00", used="20000.00", held="10000.00")
    assert line_limit_set(line_id=line.pk, new_limit=Decimal("29999.99")) is False
    assert line_limit_set(line_id=line.pk, new_limit=Decimal("30000.00")) is True
    line.refresh_from_db()
    assert line.limit == Decimal("30000.00")
    terminated = make_line(status="terminated", sequence="124")
    assert line_limit_set(line_id=terminated.pk, new_limit=Decimal("60000.00")) is False


def test_freeze_unfreeze_and_terminate_move_the_line_through_its_machine(officer):
    line = make_line()
    for kind, expected in (("freeze", "frozen"), ("unfreeze", "active"), ("freeze", "frozen"),
                           ("terminate", "terminated")):
        change = line_change_apply(change=line_change_request(
            line=line, kind=kind, reason=f"{kind} it", source="officer", actor=officer), actor=officer)
        line.refresh_from_db()
        assert (change.status, change.status_after, line.status) == ("applied", expected, expected)
    assert [(t.from_state, t.to_state, t.reason) for t in transitions_for(line).filter(field="status").order_by("pk")] \
        == [("active", "frozen", "freeze it"), ("frozen", "active", "unfreeze it"), ("active", "frozen", "freeze it"),
            ("frozen", "terminated", "terminate it")]


@pytest.mark.parametrize(("status", "kind", "new_limit", "field"), [
    ("active", "unfreeze", None, "status"),
    ("frozen", "freeze", None, "status"),
    ("terminated", "increase", "90000", "status"),
    ("expired", "unfreeze", None, "status"),
    ("active", "increase", "50000", "new_limit"),
    ("active", "decrease", "60000", "new_limit"),
    ("active", "increase", None, "new_limit"),
    ("active", "freeze", "1000", "new_limit"),
    ("active", "grow", None, "kind"),
])
def test_a_change_the_line_does_not_allow_is_refused_naming_the_field(officer, status, kind, new_limit, field):
    line = make_line(status=status)
    with pytest.raises(ValidationError) as refused:
        line_change_request(line=line, kind=kind, new_limit=new_limit, reason="x", source="officer", actor=officer)
    assert field in refused.value.message_dict
    assert CreditLineChange.objects.count() == 0


def test_a_reason_is_required(officer):
    with pytest.raises(ValidationError) as refused:
        line_change_request(line=make_line(), kind="freeze", reason="  ", source="officer", actor=officer)
    assert refused.value.message_dict == {"reason": ["Give the reason for the change."]}


def test_a_rejected_change_leaves_the_line_and_cannot_be_applied_afterwards(officer):
    line = make_line()
    change = line_change_request(line=line, kind="terminate", reason="asked", source="officer", actor=officer)
    change = line_change_reject(change=change, reason="No grounds", actor=officer)
    assert (change.status, change.decision_note, change.decided_by) == ("rejected", "No grounds", officer)
    assert line_change_apply(change=change, actor=officer).status == "rejected"
    line.refresh_from_db()
    assert line.status == "active"
    with pytest.raises(ValidationError):
        line_change_reject(change=change, reason="again", actor=officer)


def test_the_partner_hears_line_changed(officer):
    partner = make_partner("ACME")
    line = make_line(partner=partner, limit="50000.00", used="1000.00")
    change = line_change_request(line=line, kind="decrease", new_limit="40000", reason="Review", source="partner",
                                 partner=partner)
    line_change_apply(change=change, actor_label="ACME")
    [event] = WebhookEvent.objects.filter(partner=partner, event="line.changed")
    assert event.payload["credit_line"] == {
        "id": line.pk, "status": "active", "limit": "40000.00", "used": "1000.00", "held": "0.00",
        "available": "39000.00", "rate_percent": "7", "rate_basis": "annual",
        "valid_until": line.valid_until.isoformat()}
    assert (event.payload["change"]["kind"], event.payload["change"]["status"], event.payload["change"]["limit_before"],
            event.payload["change"]["limit_after"]) == ("decrease", "applied", "50000.00", "40000.00")


def test_lines_past_their_validity_expire_on_the_business_date():
    business_date_set(date=date(2026, 6, 1), reason="test")
    ending = make_line(valid_until=date(2026, 5, 31), sequence="201")
    frozen = make_line(valid_until=date(2026, 5, 1), status="frozen", sequence="202")
    last_day = make_line(valid_until=date(2026, 6, 1), sequence="203")
    assert lines_expire_task() == 2
    assert lines_expire() == 0  # safe to re-run
    statuses = dict(CreditLine.objects.values_list("pk", "status"))
    assert (statuses[ending.pk], statuses[frozen.pk], statuses[last_day.pk]) == ("expired", "expired", "active")
    [move] = transitions_for(frozen).filter(to_state="expired")
    assert (move.from_state, move.actor_label) == ("frozen", "system")
    assert lines_expire(on_date=date(2026, 6, 2)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_decrease_and_a_concurrent_hold_never_leave_used_and_held_above_the_limit():
    """A hold (``used + held + amount <= limit``) racing a decrease: whichever commits first, the
    database never holds more than the limit (both are conditional UPDATEs on the row)."""
    from django.db.models import F

    line = make_line(limit="50000.00", used="20000.00")
    barrier = threading.Barrier(2)
    results = {}

    def hold():
        barrier.wait()
        results["hold"] = bool(CreditLine.objects.filter(
            pk=line.pk, used__lte=F("limit") - F("held") - Decimal("20000.00")).update(held=F("held") + Decimal("20000.00")))
        connection.close()

    def decrease():
        barrier.wait()
        results["decrease"] = line_limit_set(line_id=line.pk, new_limit=Decimal("30000.00"))
        connection.close()

    threads = [threading.Thread(target=hold), threading.Thread(target=decrease)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    line.refresh_from_db()
    # Either order leaves room for only one of them: hold first → 40,000 drawn+held > 30,000;
    # decrease first → 20,000 + 20,000 > 30,000.
    assert results["hold"] != results["decrease"]
    assert line.used + line.held <= line.limit
    assert (line.limit, line.held) in ((Decimal("50000.00"), Decimal("20000.00")),
                                       (Decimal("30000.00"), Decimal("0.00")))


def test_a_rate_change_is_applied_with_the_rate_before_and_after(officer):
    line = make_line(limit="50000.00")
    with pytest.raises(ValidationError) as refused:
        line_change_request(line=line, kind="rate", reason="Review", source="system")
    assert refused.value.message_dict["new_rate_percent"] == ["Give the new rate."]
    with pytest.raises(ValidationError) as refused:
        line_change_request(line=line, kind="freeze", reason="Review", source="system", new_rate_percent="6")
    assert refused.value.message_dict["new_rate_percent"] == [
        "Only an increase, a decrease or a rate change takes a new rate."]
    change = line_change_apply(change=line_change_request(line=line, kind="rate", reason="Review", source="system",
                                                          new_rate_percent="6.25"))
    line.refresh_from_db()
    assert (line.rate_percent, line.limit) == (Decimal("6.25"), Decimal("50000.00"))
    assert (change.status, change.rate_before, change.rate_after, change.limit_after) == (
        "applied", Decimal("7"), Decimal("6.25"), Decimal("50000.00"))
    [move] = transitions_for(line).filter(field="rate_percent")
    assert (move.from_state, move.to_state, move.reason) == ("7", "6.25", "Review")
