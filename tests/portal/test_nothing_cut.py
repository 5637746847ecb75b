"""What a citizen typed is kept whole or refused with the field named: never cut to fit."""

from django.urls import reverse

from booking.models import Booking
from journal.models import MessageThread
from tests.portal.conftest import mitid_sign_in
from tests.portal.test_appointments import free_times


def test_a_message_too_long_is_refused_with_its_field_and_one_that_fits_is_kept_whole(
    cast, client, mitid
):
    mitid_sign_in(client, cast.patient.cpr)
    post = {"department": str(cast.cardiology.public_id), "subject": "Spørgsmål"}
    answer = client.post(
        reverse("portal:messages"), {**post, "text": "x" * 5001}, HTTP_ACCEPT_LANGUAGE="da"
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Højst 5000 tegn (denne er 5001)." in page
    assert not MessageThread.objects.filter(patient=cast.patient).exists()
    too_long_subject = client.post(reverse("portal:messages"), {**post, "subject": "s" * 201,
                                                                "text": "Hej"})  # fmt: skip
    assert too_long_subject.status_code == 400
    assert client.post(reverse("portal:messages"), {**post, "text": "y" * 5000}).status_code == 302
    thread = MessageThread.objects.get(patient=cast.patient)
    assert thread.messages.get().text == "y" * 5000
    reply = reverse("portal:thread", kwargs={"thread_id": thread.public_id})
    assert client.post(reply, {"text": "z" * 5001}).status_code == 400
    assert client.post(reply, {"text": ""}).status_code == 400
    assert thread.messages.count() == 1


def test_a_cancel_reason_too_long_is_refused_and_the_appointment_stays(cast, client, clinic, mitid):
    clinic.control.patient_may_book = True
    clinic.control.save(update_fields=["patient_may_book"])
    mitid_sign_in(client, cast.patient.cpr)
    book = reverse("portal:appointment_book", kwargs={"type_id": clinic.control.public_id})
    times = free_times(client.get(book).content.decode())
    assert client.post(book, {"starts_at": times[0]}).status_code == 302
    booking = Booking.objects.get(patient=cast.patient, status="booked")
    cancel = reverse("portal:appointment_cancel", kwargs={"booking_id": booking.public_id})
    page = client.post(cancel, {"reason": "r" * 301}, follow=True).content.decode()
    booking.refresh_from_db()
    assert booking.status == "booked"
    assert "300" in page  # the message names the limit
    client.post(cancel, {"reason": "r" * 300})
    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == ("cancelled", "r" * 300)


def test_a_bad_proxy_form_names_its_field(cast, client, mitid):
    mitid_sign_in(client, cast.patient.cpr)
    answer = client.post(reverse("portal:proxies"), {"cpr": "12", "family_name": ""})
    assert answer.status_code == 400
    page = answer.content.decode()
    assert 'id="id_cpr"' in page and "form-error-message" in page
    withdraw = client.post(reverse("portal:proxies"), {"withdraw": "not-a-uuid"})
    assert withdraw.status_code == 400
