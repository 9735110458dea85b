"""Capacity under concurrency, on PostgreSQL: parallel bookings never overbook a slot, an
application never gets two active appointments, and opposite reschedules do not deadlock."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.db import connection

from tests.factories import make_branch
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.models import SigningAppointment, SigningSlot
from workflows.services.signing import signing_book, signing_reschedule

MONDAY = date(2030, 3, 4)
NOW = at(MONDAY, 8)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_content_types():
    """A test run in a rolled-back transaction may have cached content type ids that were never
    committed; these tests commit for real, so they look the ids up again."""
    from django.contrib.contenttypes.models import ContentType

    ContentType.objects.clear_cache()


def run_in_parallel(calls):
    """Run every call in its own thread and connection, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait()
            return "ok", call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            return type(exc).__name__, exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_ten_parallel_bookings_of_a_three_place_slot():
    branch = make_branch("sh")
    schedule = make_schedule(work_group=make_signing_group(branch=branch), capacity=3)
    applications = [make_application(branch=branch) for _ in range(10)]

    outcomes = run_in_parallel([
        (lambda app=app: signing_book(application=app, slot_start=at(MONDAY, 9), schedule=schedule,
                                      actor_label="partner:acme", channel="api", now=NOW))
        for app in applications
    ])

    kinds = sorted(kind for kind, _result in outcomes)
    assert kinds == ["SlotFull"] * 7 + ["ok"] * 3
    for kind, result in outcomes:
        if kind == "SlotFull":
            assert result.error_dict["slot_start"][0].code == "slot_full"
    slot = SigningSlot.objects.get(schedule=schedule, start=at(MONDAY, 9))
    assert slot.booked == 3
    assert SigningAppointment.objects.filter(slot=slot, status="booked").count() == 3
    assert SigningSlot.objects.count() == 1


def test_parallel_bookings_of_one_application_give_one_appointment():
    branch = make_branch("sh")
    schedule = make_schedule(work_group=make_signing_group(branch=branch), capacity=10)
    application = make_application(branch=branch)
    starts = [at(MONDAY, 9), at(MONDAY, 9, 30), at(MONDAY, 10), at(MONDAY, 10, 30), at(MONDAY, 11)]

    outcomes = run_in_parallel([
        (lambda start=start: signing_book(application=application, slot_start=start, schedule=schedule,
                                          actor_label="partner:acme", channel="api", now=NOW))
        for start in starts
    ])

    assert sorted(kind for kind, _ in outcomes) == ["SigningError"] * 4 + ["ok"]
    assert SigningAppointment.objects.filter(application=application).count() == 1
    assert sum(SigningSlot.objects.values_list("booked", flat=True)) == 1


def test_opposite_reschedules_neither_deadlock_nor_drift():
    branch = make_branch("sh")
    schedule = make_schedule(work_group=make_signing_group(branch=branch), capacity=2)
    first = signing_book(application=make_application(branch=branch), slot_start=at(MONDAY, 9), schedule=schedule,
                         now=NOW)
    second = signing_book(application=make_application(branch=branch), slot_start=at(MONDAY, 9, 30),
                          schedule=schedule, now=NOW)
    for _round in range(5):
        first.refresh_from_db()
        second.refresh_from_db()
        outcomes = run_in_parallel([
            lambda: signing_reschedule(appointment=first, slot_start=second.slot_start, now=NOW),
            lambda: signing_reschedule(appointment=second, slot_start=first.slot_start, now=NOW),
        ])
        assert [kind for kind, _ in outcomes] == ["ok", "ok"]
    booked = dict(SigningSlot.objects.values_list("start", "booked"))
    assert booked == {at(MONDAY, 9): 1, at(MONDAY, 9, 30): 1}
    assert sorted(SigningAppointment.objects.values_list("slot_start", flat=True)) == [at(MONDAY, 9),
                                                                                       at(MONDAY, 9, 30)]
