"""The waiting list: a freed time goes to the first in line by e-mail and SMS with an answer
link; accepted it is booked, declined or unanswered it goes to the next in line."""

from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Booking, SlotOffer, WaitingListEntry
from booking.waiting import offer_next, offers_expire
from patients.access import access_decide
from patients.services import care_course_create, patient_create


def at(day, hour):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def waiting(cast, client, clinic, count=2):
    """`count` referred patients on the waiting list, in this order, with e-mail and phone."""
    people = []
    client.force_login(cast.treating_doctor)
    for i in range(count):
        patient = patient_create(
            cpr=f"1{i}0470{5000 + i}", given_names=f"Venter{i}", family_name="Liste",
            email=f"venter{i}@example.dk", phone=f"+45203040{60 + i}",
        )  # fmt: skip
        care_course_create(
            patient=patient, department=cast.cardiology, kind="referral", title="Henvisning",
            started_at=timezone.now() - timedelta(days=1),
        )  # fmt: skip
        response = client.post(
            reverse("booking:waiting_add", kwargs={"patient_id": patient.public_id}),
            {"type": str(clinic.control.public_id)},
        )
        assert response.status_code == 302
        people.append(patient)
    return people


def freed(cast, clinic):
    """A booking of the cast's patient, cancelled by the hospital: its time is free again."""
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="booking")
    booking = services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=at(clinic.day, 10)
    )
    services.booking_cancel(access=access, booking=booking, by="hospital", reason="Lægen er syg")
    return booking.starts_at


def test_the_first_in_line_is_offered_the_freed_time_and_accepts_by_the_link(
    cast, client, clinic, outbound
):
    first, second = waiting(cast, client, clinic)
    sms_before = len(outbound.sms())
    starts = freed(cast, clinic)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=starts)
    assert offer.entry.patient == first
    sms = outbound.sms()[sms_before:]
    assert [m["to"] for m in sms] == ["+4520304060"]
    assert offer.token in sms[0]["text"]
    client.logout()  # the patient answers from the link, without signing in
    url = reverse("booking:offer", kwargs={"token": offer.token})
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "10:00" in page and 'data-testid="offer-accept"' in page
    client.post(url, {"answer": "accept"})
    booking = Booking.objects.get(patient=first, status="booked")
    assert booking.starts_at == starts
    assert WaitingListEntry.objects.get(patient=first).status == "booked"
    # The link cannot book twice.
    again = client.post(url, {"answer": "accept"})
    assert again.status_code == 409
    assert Booking.objects.filter(patient=first).count() == 1
    assert WaitingListEntry.objects.get(patient=second).status == "waiting"


def test_declined_or_unanswered_the_time_goes_to_the_next_in_line(cast, client, clinic, outbound):
    first, second, third = waiting(cast, client, clinic, count=3)
    starts = freed(cast, clinic)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=starts)
    client.logout()
    client.post(reverse("booking:offer", kwargs={"token": offer.token}), {"answer": "decline"})
    assert WaitingListEntry.objects.get(patient=first).status == "waiting"  # keeps the place
    to_second = SlotOffer.objects.get(entry__patient=second)
    assert to_second.status == "offered"
    SlotOffer.objects.filter(pk=to_second.pk).update(expires_at=timezone.now())
    assert offers_expire() == 1
    assert SlotOffer.objects.get(entry__patient=third).status == "offered"
    # Nobody is offered the same time twice.
    assert SlotOffer.objects.filter(entry__patient=first).count() == 1
