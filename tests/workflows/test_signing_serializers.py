"""Serializers the signing endpoints wrap: query validation naming the field, output shape."""

from datetime import date

from tests.factories import make_branch
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.selectors.signing import signing_free_slots
from workflows.serializers.signing import (
    SigningAppointmentSerializer,
    SigningBookInputSerializer,
    SigningFreeSlotQuerySerializer,
    SigningFreeSlotSerializer,
)
from workflows.services.signing import signing_book

MONDAY = date(2030, 3, 4)


def test_free_slot_query_defaults_and_errors():
    query = SigningFreeSlotQuerySerializer(data={"date_from": "2030-03-04"})
    assert query.is_valid()
    assert query.validated_data == {"date_from": MONDAY, "date_to": date(2030, 3, 10)}
    backwards = SigningFreeSlotQuerySerializer(data={"date_from": "2030-03-04", "date_to": "2030-03-01"})
    assert not backwards.is_valid()
    assert list(backwards.errors) == ["date_to"]
    too_long = SigningFreeSlotQuerySerializer(data={"date_from": "2030-03-04", "date_to": "2030-06-04"})
    assert not too_long.is_valid()
    assert list(too_long.errors) == ["date_to"]


def test_book_input_reads_an_offset_datetime():
    data = SigningBookInputSerializer(data={"slot_start": "2030-03-04T09:30:00+08:00"})
    assert data.is_valid()
    assert data.validated_data["slot_start"] == at(MONDAY, 9, 30)
    missing = SigningBookInputSerializer(data={})
    assert not missing.is_valid()
    assert list(missing.errors) == ["slot_start"]


def test_outputs(db):
    branch = make_branch("sh")
    schedule = make_schedule(work_group=make_signing_group(branch=branch), capacity=2)
    application = make_application(branch=branch, number="CA20300304")
    appointment = signing_book(application=application, slot_start=at(MONDAY, 9), schedule=schedule,
                               actor_label="partner:acme", channel="api", now=at(MONDAY, 8))
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=at(MONDAY, 8))
    assert SigningFreeSlotSerializer(slots[:2], many=True).data == [
        {"start": "2030-03-04T09:00:00+08:00", "end": "2030-03-04T09:30:00+08:00", "remaining": 1},
        {"start": "2030-03-04T09:30:00+08:00", "end": "2030-03-04T10:00:00+08:00", "remaining": 2},
    ]
    data = SigningAppointmentSerializer(appointment).data
    assert {k: data[k] for k in ("application", "status", "slot_start", "slot_end", "channel", "result")} == {
        "application": "CA20300304", "status": "booked", "slot_start": "2030-03-04T09:00:00+08:00",
        "slot_end": "2030-03-04T09:30:00+08:00", "channel": "api", "result": ""}
    assert set(data) == {"id", "application", "status", "slot_start", "slot_end", "channel", "result",
                         "reschedule_count", "created_at", "updated_at"}
