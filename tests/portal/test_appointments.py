"""The citizen's appointments: see them, book a type open to patients, move it, cancel it, and
add them to a calendar by a private address."""

from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from booking.models import Booking
from tests.portal.conftest import mitid_sign_in


def free_times(page: str) -> list[str]:
    import re

    return re.findall(r'name="starts_at" value="([^"]+)"', page)


def test_a_citizen_books_moves_and_cancels_an_appointment(cast, client, clinic, mitid):
    clinic.control.patient_may_book = True
    clinic.control.save(update_fields=["patient_may_book"])
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:appointments"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert 'data-testid="book-type"' in page and "Kontrol efter atrieflimren" in page
    book = reverse("portal:appointment_book", kwargs={"type_id": clinic.control.public_id})
    times = free_times(client.get(book).content.decode())
    assert len(times) >= 2
    assert client.post(book, {"starts_at": times[0]}).status_code == 302
    booking = Booking.objects.get(patient=cast.patient, status="booked")
    cast.patient.refresh_from_db()
    assert booking.booked_by_id == cast.patient.user_id  # the citizen booked it
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="booking").latest("id")
    assert event.legal_basis == "self" and event.action == "create"
    # A bad time is a 400 naming the field, never a 500.
    assert client.post(book, {"starts_at": "i morgen"}).status_code == 400

    move = reverse("portal:appointment_move", kwargs={"booking_id": booking.public_id})
    later = free_times(client.get(move).content.decode())
    assert client.post(move, {"starts_at": later[-1]}).status_code == 302
    booking.refresh_from_db()
    assert booking.status == "rescheduled"
    moved = Booking.objects.get(patient=cast.patient, status="booked")
    assert moved.rescheduled_from == booking

    cancel = reverse("portal:appointment_cancel", kwargs={"booking_id": moved.public_id})
    client.post(cancel, {"reason": "Jeg er på ferie"})
    moved.refresh_from_db()
    assert (moved.status, moved.cancelled_by, moved.cancel_reason) == (
        "cancelled", "patient", "Jeg er på ferie",
    )  # fmt: skip


def test_a_type_only_the_hospital_books_cannot_be_booked_by_the_citizen(
    cast, client, clinic, mitid
):
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:appointments")).content.decode()
    assert 'data-testid="book-type"' not in page
    book = reverse("portal:appointment_book", kwargs={"type_id": clinic.control.public_id})
    assert client.get(book).status_code == 404
    assert not Booking.objects.filter(patient=cast.patient).exists()


def test_the_calendar_address_shows_times_and_places_never_what(cast, client, clinic, mitid):
    from datetime import datetime, time

    from booking.services import booking_create
    from patients.access.policy import access_decide

    doctor = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    start = timezone.make_aware(datetime.combine(clinic.day, time(9)))
    booking_create(access=doctor, appointment_type=clinic.control, starts_at=start)
    mitid_sign_in(client, cast.patient.cpr)
    client.post(reverse("portal:calendar_address"), {"action": "make"})
    page = client.get(reverse("portal:appointments")).content.decode()
    import re

    address = re.search(r'data-testid="calendar-address">([^<]+)<', page).group(1)
    from django.test import Client

    calendar_program = Client()  # reads the address without signing in
    feed = calendar_program.get(address.split("testserver", 1)[1]).content.decode()
    assert "BEGIN:VEVENT" in feed and "Testhospitalet" in feed
    assert "atrieflimren" not in feed.lower()
    client.post(reverse("portal:calendar_address"), {"action": "close"})
    assert calendar_program.get(address.split("testserver", 1)[1]).status_code == 404
