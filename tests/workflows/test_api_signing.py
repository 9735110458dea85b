"""Partner API: remote-signing slots and bookings, contract acceptance and the granted credit line,
with the webhooks each step announces."""

from datetime import datetime, time

import pytest
from django.utils import timezone

from creditfactory.partners.models import WebhookEvent
from servicing.models import CreditLine
from tests.factories import make_staff
from tests.workflows.factories import at
from workflows.models import ProcessNodeConfig, SigningAppointment, SigningSlot
from workflows.services.signing import signing_complete

from .api_factories import URL, api_setup, body, next_monday, signing_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return api_setup(signing=True, straight_through=True)


@pytest.fixture
def officer(api):
    return make_staff("officer", api.o.branch)


@pytest.fixture
def schedule(api, officer):
    return signing_schedule(api, officer, capacity=1)


@pytest.fixture
def submit(api, django_capture_on_commit_callbacks):
    def run(sequence="123", **fields):
        with django_capture_on_commit_callbacks(execute=True):
            response = api.client.post(URL, body(sequence, **fields), format="json")
        assert response.status_code == 201, response.json()
        return response.json()["id"]

    return run


def events(partner):
    return list(WebhookEvent.objects.filter(partner=partner).order_by("id").values_list("event", flat=True))


def book(api, application_id, start, **headers):
    return api.client.post(f"{URL}/{application_id}/signing", {"slot_start": start.isoformat()}, format="json",
                           **headers)


def test_free_slots_of_the_applications_schedule(api, schedule, submit):
    application_id = submit()
    monday = next_monday().isoformat()
    response = api.client.get(f"{URL}/{application_id}/signing/slots", {"date_from": monday, "date_to": monday})
    assert response.status_code == 200
    starts = [row["start"] for row in response.json()]
    assert len(starts) == 13  # 09:00–11:30 and 14:00–17:00 every 30 minutes
    assert (starts[0], starts[-1]) == (f"{monday}T09:00:00+08:00", f"{monday}T17:00:00+08:00")
    assert response.json()[0] == {"start": f"{monday}T09:00:00+08:00", "end": f"{monday}T09:30:00+08:00",
                                  "remaining": 1}
    bad = api.client.get(f"{URL}/{application_id}/signing/slots", {"date_from": monday, "date_to": "2000-01-01"})
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["date_to"])


def test_without_a_schedule_the_slots_answer_409(api, submit):
    application_id = submit()
    response = api.client.get(f"{URL}/{application_id}/signing/slots")
    assert response.status_code == 409
    assert response.json() == {"code": "no_schedule", "message": "The application's state does not allow this now.",
                               "errors": {"schedule": ["No active signing schedule applies."]}}


def test_book_reschedule_and_cancel_a_slot(api, schedule, submit):
    application_id = submit()
    assert api.client.get(f"{URL}/{application_id}").json()["status"] == "signing"
    monday = next_monday()
    response = book(api, application_id, at(monday, 9))
    assert response.status_code == 201
    appointment = SigningAppointment.objects.get()
    assert response.json() == {
        "id": appointment.pk, "application": appointment.application.number, "status": "booked",
        "slot_start": f"{monday}T09:00:00+08:00", "slot_end": f"{monday}T09:30:00+08:00", "channel": "api",
        "result": "", "reschedule_count": 0,
        "created_at": response.json()["created_at"], "updated_at": response.json()["updated_at"]}
    assert appointment.booked_by_label == "partner:ACME"
    # simple-history records no user for a partner (the principal is not a User).
    assert [row.history_user for row in appointment.history.all()] == [None]
    assert api.client.get(f"{URL}/{application_id}").json()["signing"]["id"] == appointment.pk

    twice = book(api, application_id, at(monday, 10))
    assert (twice.status_code, twice.json()["code"]) == (409, "already_booked")

    moved = api.client.post(f"{URL}/{application_id}/signing/reschedule",
                            {"slot_start": at(monday, 14).isoformat(), "reason": "asked by phone"}, format="json")
    assert moved.status_code == 200
    assert (moved.json()["status"], moved.json()["slot_start"], moved.json()["reschedule_count"]) == (
        "rescheduled", f"{monday}T14:00:00+08:00", 1)

    missing = api.client.post(f"{URL}/{application_id}/signing/cancel", {}, format="json")
    assert (missing.status_code, missing.json()["errors"]) == (400, {"reason": ["This field is required."]})
    cancelled = api.client.post(f"{URL}/{application_id}/signing/cancel", {"reason": "travelling"}, format="json")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    again = api.client.post(f"{URL}/{application_id}/signing/cancel", {"reason": "again"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "no_appointment")
    assert list(SigningSlot.objects.order_by("start").values_list("booked", flat=True)) == [0, 0]
    assert events(api.partner)[-3:] == ["signing.booked", "signing.rescheduled", "signing.cancelled"]


def test_a_full_slot_answers_409_and_a_wrong_time_400(api, schedule, submit):
    monday = next_monday()
    first, second = submit(), submit(external_reference="second")
    assert book(api, first, at(monday, 9)).status_code == 201
    full = book(api, second, at(monday, 9))
    assert full.status_code == 409
    assert full.json() == {"code": "slot_full", "message": "The application's state does not allow this now.",
                           "errors": {"slot_start": [f"The slot at {monday} 09:00 is full; choose another."]}}
    wrong = book(api, second, at(monday, 9, 10))
    assert wrong.status_code == 400
    assert wrong.json()["errors"] == {"slot_start": [
        "09:10 is not the start of a slot; slots start at 09:00, 09:30, 10:00, 10:30, 11:00, 11:30, 14:00, 14:30 …"]}
    past = book(api, second, timezone.make_aware(datetime.combine(timezone.localdate().replace(year=2020), time(9))))
    assert (past.status_code, past.json()["errors"]) == (400, {"slot_start": ["This slot is in the past."]})
    assert SigningAppointment.objects.count() == 1


def test_a_product_without_signing_cannot_book(api, schedule, submit):
    ProcessNodeConfig.objects.filter(product=api.o.product, node="signing").update(enabled=False)
    application_id = submit()
    assert api.client.get(f"{URL}/{application_id}").json()["status"] == "contract"
    response = book(api, application_id, at(next_monday(), 9))
    assert response.status_code == 409
    assert response.json() == {"code": "signing_not_required", "errors": {},
                               "message": "This application needs no remote signing."}
    assert SigningAppointment.objects.count() == 0


def test_signing_then_contract_then_the_credit_line(api, schedule, officer, submit):
    application_id = submit()
    early = api.client.post(f"{URL}/{application_id}/contract/accept", format="json")
    assert (early.status_code, early.json()["errors"]["status"]) == (
        409, [f"Application {early_number(api, application_id)} has no contract waiting for acceptance."])
    no_line = api.client.get(f"{URL}/{application_id}/credit-line")
    assert no_line.status_code == 404
    assert no_line.json() == {"code": "no_credit_line", "errors": {},
                              "message": "No credit line has been granted for this application."}

    assert book(api, application_id, at(next_monday(), 9)).status_code == 201
    signing_complete(appointment=SigningAppointment.objects.get(), officer=officer, result="passed",
                     recording_ref="rec://1")
    data = api.client.get(f"{URL}/{application_id}").json()
    assert (data["status"], data["current_node"], data["signing"]["status"], data["signing"]["result"]) == (
        "contract", "contract", "completed", "passed")

    accepted = api.client.post(f"{URL}/{application_id}/contract/accept", format="json",
                               HTTP_IDEMPOTENCY_KEY="accept-1")
    assert accepted.status_code == 200
    line = CreditLine.objects.get()
    data = accepted.json()
    assert (data["status"], data["current_node"], data["contract_accepted_at"] is not None) == ("approved", "", True)
    expected_line = {
        "id": line.pk, "application": application_id, "application_number": data["number"], "product": "EDUCATION",
        "status": "active", "limit": "40000.00", "used": "0.00", "available": "40000.00", "rate_percent": "7.000000",
        "rate_basis": "annual", "grade": "C", "valid_from": line.valid_from.isoformat(),
        "valid_until": line.valid_until.isoformat(), "created_at": data["credit_line"]["created_at"]}
    assert data["credit_line"] == expected_line
    assert api.client.get(f"{URL}/{application_id}/credit-line").json() == expected_line
    assert api.client.get(f"/api/v1/credit-lines/{line.pk}").json() == expected_line

    replay = api.client.post(f"{URL}/{application_id}/contract/accept", format="json", HTTP_IDEMPOTENCY_KEY="accept-1")
    assert (replay.status_code, replay.content, replay["Idempotent-Replayed"]) == (200, accepted.content, "true")
    again = api.client.post(f"{URL}/{application_id}/contract/accept", format="json")
    assert again.status_code == 409
    assert CreditLine.objects.count() == 1
    assert events(api.partner) == [
        "application.created", "application.decided", "application.approved", "signing.booked",
        "signing.completed", "contract.ready", "contract.accepted", "line.granted"]
    granted = WebhookEvent.objects.get(event="line.granted").payload
    assert granted["line"] == {"id": line.pk, "limit": "40000.00", "rate_percent": "7.000000", "rate_basis": "annual",
                               "grade": "C", "valid_until": line.valid_until.isoformat()}
    completed = WebhookEvent.objects.get(event="signing.completed").payload
    assert (completed["appointment"]["status"], completed["appointment"]["result"]) == ("completed", "passed")


def early_number(api, application_id):
    return api.client.get(f"{URL}/{application_id}").json()["number"]
