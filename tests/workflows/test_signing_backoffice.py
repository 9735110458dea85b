"""Back-office pages of remote signing: booking form (303 on success, 422 with field errors),
the appointment page's actions, scoping to the officer's work groups and branches, admin."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import make_branch, make_staff
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.models import SigningAppointment, SigningSlot
from workflows.services.signing import signing_book

BOOK_URL = "/signing/appointments/book/"


@pytest.fixture
def branch(db):
    return make_branch("sh")


@pytest.fixture
def officer(branch):
    return make_staff("officer", branch)


@pytest.fixture
def schedule(branch, officer):
    return make_schedule(work_group=make_signing_group(branch=branch, members=[officer]), capacity=1)


@pytest.fixture
def monday():
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())  # next week's Monday: always in the future


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def field_errors(html: str, field: str) -> str:
    start = html.index(f'id="field-{field}"')
    return html[start:html.index("</div>", start)]


def test_booking_page_lists_free_slots(officer_client, branch, schedule, monday):
    application = make_application(branch=branch)
    response = officer_client.get(BOOK_URL, {"application": application.number, "schedule": schedule.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'value="{at(monday, 9).isoformat()}"' in html
    assert f'value="{at(monday, 17).isoformat()}"' in html


def test_booking_a_slot_redirects_to_the_appointment(officer_client, officer, branch, schedule, monday):
    application = make_application(branch=branch)
    response = officer_client.post(BOOK_URL, {"application": application.number, "schedule": schedule.pk,
                                              "slot_start": at(monday, 9, 30).isoformat()})
    assert response.status_code == 303
    appointment = SigningAppointment.objects.get(application=application)
    assert response["Location"] == f"/signing/appointments/{appointment.pk}/"
    assert (appointment.slot_start, appointment.booked_by, appointment.channel) == (at(monday, 9, 30), officer,
                                                                                     "back_office")
    page = officer_client.get(response["Location"])
    assert page.status_code == 200
    assert application.number in page.content.decode()


def test_an_invalid_booking_answers_422_with_field_errors(officer_client, schedule):
    response = officer_client.post(BOOK_URL, {"application": "CA-NOPE", "schedule": schedule.pk,
                                              "slot_start": "tomorrow-ish"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "No application CA-NOPE in your branches." in field_errors(html, "application")
    assert "Choose a slot from the list." in field_errors(html, "slot_start")
    assert SigningAppointment.objects.count() == 0


def test_a_service_refusal_lands_on_its_field(officer_client, branch, schedule, monday):
    signing_book(application=make_application(branch=branch), slot_start=at(monday, 9), schedule=schedule)
    application = make_application(branch=branch)
    response = officer_client.post(BOOK_URL, {"application": application.number, "schedule": schedule.pk,
                                              "slot_start": at(monday, 9).isoformat()})
    assert response.status_code == 422
    assert "is full; choose another." in field_errors(response.content.decode(), "slot_start")
    assert not SigningAppointment.objects.filter(application=application).exists()
    assert SigningSlot.objects.get().booked == 1


def test_an_application_of_another_branch_cannot_be_booked(officer_client, schedule, monday):
    elsewhere = make_application(branch=make_branch("bj"))
    response = officer_client.post(BOOK_URL, {"application": elsewhere.number, "schedule": schedule.pk,
                                              "slot_start": at(monday, 9).isoformat()})
    assert response.status_code == 422
    assert f"No application {elsewhere.number} in your branches." in field_errors(response.content.decode(),
                                                                                  "application")
    assert SigningAppointment.objects.count() == 0


def test_the_list_shows_only_the_officers_work_groups(client, officer_client, officer, branch, schedule, monday):
    mine = signing_book(application=make_application(branch=branch), slot_start=at(monday, 9), schedule=schedule)
    other_group = make_schedule(work_group=make_signing_group(branch=branch, code="signing-2"))
    theirs = signing_book(application=make_application(branch=branch), slot_start=at(monday, 10),
                          schedule=other_group)
    html = officer_client.get("/signing/appointments/").content.decode()
    assert mine.application.number in html
    assert theirs.application.number not in html
    assert officer_client.get(f"/signing/appointments/{theirs.pk}/").status_code == 404
    stranger = make_staff("stranger", make_branch("bj"))
    client.force_login(stranger)
    assert mine.application.number not in client.get("/signing/appointments/").content.decode()
    # a stranger to every signing group is refused the signing pages outright (tests/authz)
    assert client.get(f"/signing/appointments/{mine.pk}/").status_code in (403, 404)


def test_cancel_needs_a_reason_then_releases_the_place(officer_client, branch, schedule, monday):
    appointment = signing_book(application=make_application(branch=branch), slot_start=at(monday, 9),
                               schedule=schedule)
    url = f"/signing/appointments/{appointment.pk}/cancel/"
    response = officer_client.post(url, {"cancel-reason": ""})
    assert response.status_code == 422
    assert "This field is required." in field_errors(response.content.decode(), "cancel-reason")
    appointment.refresh_from_db()
    assert appointment.status == "booked"

    response = officer_client.post(url, {"cancel-reason": "applicant withdrew"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert SigningSlot.objects.get().booked == 0


def test_complete_and_reschedule_from_the_appointment_page(officer_client, officer, branch, schedule, monday):
    appointment = signing_book(application=make_application(branch=branch), slot_start=at(monday, 9),
                               schedule=schedule)
    base = f"/signing/appointments/{appointment.pk}/"
    response = officer_client.post(base + "reschedule/", {"reschedule-slot_start": at(monday, 14).isoformat(),
                                                          "reschedule-reason": "asked by phone"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert (appointment.status, appointment.slot_start) == ("rescheduled", at(monday, 14))

    response = officer_client.post(base + "complete/", {"complete-result": "passed", "complete-notes": "",
                                                        "complete-recording_ref": ""})
    assert response.status_code == 422
    assert "A passed signing needs its recording reference." in field_errors(response.content.decode(),
                                                                             "complete-recording_ref")
    response = officer_client.post(base + "complete/", {"complete-result": "passed", "complete-notes": "ok",
                                                        "complete-recording_ref": "rec://42"})
    assert response.status_code == 303
    appointment.refresh_from_db()
    assert (appointment.status, appointment.officer, appointment.recording_ref) == ("completed", officer, "rec://42")
    html = officer_client.get(base).content.decode()
    assert 'id="complete-form"' not in html
    assert "<td>Rescheduled</td>" in html and "<td>Completed</td>" in html  # labels, not codes


def test_no_show_before_the_start_is_a_form_error(officer_client, branch, schedule, monday):
    appointment = signing_book(application=make_application(branch=branch), slot_start=at(monday, 9),
                               schedule=schedule)
    response = officer_client.post(f"/signing/appointments/{appointment.pk}/no-show/", {"no_show-reason": ""})
    assert response.status_code == 422
    assert "The appointment has not started yet." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_admin_pages(admin_client, branch, schedule, monday):
    appointment = signing_book(application=make_application(branch=branch), slot_start=at(monday, 9),
                               schedule=schedule)
    assert admin_client.get("/admin/workflows/signingschedule/").status_code == 200
    assert admin_client.get(f"/admin/workflows/signingschedule/{schedule.pk}/change/").status_code == 200
    assert admin_client.get("/admin/workflows/signingholiday/").status_code == 200
    assert admin_client.get("/admin/workflows/signingslot/").status_code == 200
    detail = admin_client.get(f"/admin/workflows/signingappointment/{appointment.pk}/change/")
    assert detail.status_code == 200
    assert "<td>Booked</td>" in detail.content.decode()


def test_admin_refuses_overlapping_windows(admin_client, branch):
    group = make_signing_group(branch=branch, code="signing-new")
    data = {"work_group": group.pk, "name": "New", "weekdays": ["0", "2"], "slot_minutes": "30", "capacity": "2",
            "timezone": "Asia/Shanghai", "min_notice_minutes": "0", "horizon_days": "30", "is_active": "on",
            "windows-TOTAL_FORMS": "2", "windows-INITIAL_FORMS": "0", "windows-MIN_NUM_FORMS": "1",
            "windows-MAX_NUM_FORMS": "1000",
            "windows-0-start": "09:00", "windows-0-end": "12:00",
            "windows-1-start": "11:00", "windows-1-end": "13:00"}
    response = admin_client.post("/admin/workflows/signingschedule/add/", data)
    assert response.status_code == 200
    assert "The window overlaps the one before it." in response.content.decode()
    data["windows-1-start"], data["windows-1-end"] = "14:00", "17:30"
    response = admin_client.post("/admin/workflows/signingschedule/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    from workflows.models import SigningSchedule

    created = SigningSchedule.objects.get(name="New")
    assert created.weekdays == [0, 2]
    assert [str(w) for w in created.windows.all()] == ["09:00–12:00", "14:00–17:30"]
    assert created.history.count() == 1
