"""What a clinician posts to booking is read by forms: a wrong field is named, nothing typed is
cut, and a malformed body is a 400 page, never a 500."""

from django.urls import reverse

from booking.models import Booking, WaitingListEntry
from tests.booking.test_pages import at


def test_a_note_too_long_is_named_and_nothing_is_booked(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    post = {"type": str(clinic.control.public_id), "starts_at": at(clinic.day, 8).isoformat()}
    answer = client.post(book, {**post, "note": "n" * 301}, HTTP_ACCEPT_LANGUAGE="da")
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Notat: " in page  # the field named in Danish
    assert "300" in page and not Booking.objects.exists()
    assert client.post(book, {**post, "note": "n" * 300}).status_code == 302
    assert Booking.objects.get().note == "n" * 300


def test_malformed_bodies_are_400_naming_the_field(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    book = reverse("booking:book", kwargs={"patient_id": cast.patient.public_id})
    for body, field in (
        ({"type": "nonsense", "starts_at": at(clinic.day, 8).isoformat()}, "type"),
        ({"type": str(clinic.control.public_id), "starts_at": "i morgen"}, "Time"),
        ({"type": str(clinic.control.public_id), "starts_at": at(clinic.day, 8).isoformat(),
          "slot_type": "x"}, "type"),
    ):  # fmt: skip
        answer = client.post(book, body, HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 400, body
        assert field.lower() in answer.content.decode().lower(), body
    assert not Booking.objects.exists()


def test_a_waiting_list_note_too_long_is_refused(cast, client, clinic):
    client.force_login(cast.treating_doctor)
    url = reverse("booking:waiting_add", kwargs={"patient_id": cast.patient.public_id})
    post = {"type": str(clinic.control.public_id)}
    page = client.post(url, {**post, "note": "w" * 301}, follow=True).content.decode()
    assert "300" in page and not WaitingListEntry.objects.exists()
    client.post(url, {**post, "note": "w" * 300})
    assert WaitingListEntry.objects.get().note == "w" * 300


def test_an_offer_answer_that_is_neither_is_a_400(cast, client, clinic):
    from booking.services.waiting import offer_next
    from tests.booking.test_waiting_list import freed, waiting

    waiting(cast, client, clinic)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=freed(cast, clinic))
    url = reverse("booking:offer", kwargs={"token": offer.token})
    assert client.post(url, {"answer": "maybe"}).status_code == 400
    offer.refresh_from_db()
    assert offer.status == "offered"
