"""The waiting list: a freed time goes to the first in line by e-mail and SMS with an answer
link; accepted it is booked, declined or unanswered it goes to the next in line."""

import time as clock
from datetime import datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from booking import services
from booking.models import Booking, OfferMessage, SlotOffer, WaitingListEntry
from booking.services.waiting import offer_next, offers_expire
from patients.access import access_decide
from patients.services import care_course_create, patient_create
from tests.booking.conftest import send_messages


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
    # The offer's e-mail and SMS are rows of the outbox, written with the offer.
    assert sorted(offer.messages.values_list("channel", "status")) == [
        ("email", "pending"), ("sms", "pending"),
    ]  # fmt: skip
    assert send_messages() == {"sent": 2, "failed": 0, "skipped": 0, "retried": 0}
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


def test_declined_or_unanswered_the_time_goes_to_the_next_in_line(
    cast, client, clinic, outbound, django_capture_on_commit_callbacks
):
    first, second, third = waiting(cast, client, clinic, count=3)
    starts = freed(cast, clinic)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=starts)
    client.logout()
    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("booking:offer", kwargs={"token": offer.token}), {"answer": "decline"})
    # The answer does not wait for the next offer: a task is queued for it once committed.
    assert len(queued) == 1
    assert not SlotOffer.objects.filter(entry__patient=second).exists()
    assert WaitingListEntry.objects.get(patient=first).status == "waiting"  # keeps the place
    offer_next(appointment_type_id=clinic.control.pk, starts_at=starts)  # the task's work
    to_second = SlotOffer.objects.get(entry__patient=second)
    assert to_second.status == "offered"
    SlotOffer.objects.filter(pk=to_second.pk).update(expires_at=timezone.now())
    assert offers_expire() == 1
    from outbox import engine

    engine.work("booking.freedtime")  # the freed time's worker
    assert SlotOffer.objects.get(entry__patient=third).status == "offered"
    # Nobody is offered the same time twice.
    assert SlotOffer.objects.filter(entry__patient=first).count() == 1


def test_an_answered_offer_is_not_sent_and_its_messages_say_why(cast, client, clinic, outbound):
    waiting(cast, client, clinic, count=1)
    offer = offer_next(appointment_type_id=clinic.control.pk, starts_at=freed(cast, clinic))
    SlotOffer.objects.filter(pk=offer.pk).update(status="declined")
    assert send_messages() == {"sent": 0, "failed": 0, "skipped": 2, "retried": 0}
    assert set(OfferMessage.objects.values_list("status", flat=True)) == {"skipped"}


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_reaches_the_first_in_line_by_the_worker_and_a_decline_the_next(
    cast, client, clinic, outbound, celery_worker
):
    """The whole chain with a real worker: the cancellation queues the offer, the worker makes
    it and sends its SMS; the first in line declines by the link, the worker offers the next."""
    first, second = waiting(cast, client, clinic)
    sms_before = len(outbound.sms())

    def texts_to(number, count):
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline:
            found = [m for m in outbound.sms()[sms_before:] if m["to"] == number]
            if len(found) >= count:
                return found
            clock.sleep(0.2)
        raise AssertionError(f"no SMS to {number}:\n{celery_worker.output()[-3000:]}")

    starts = freed(cast, clinic)
    (to_first,) = texts_to(first.phone, 1)
    offer = SlotOffer.objects.get(entry__patient=first)
    assert offer.token in to_first["text"] and offer.starts_at == starts
    client.logout()
    client.post(reverse("booking:offer", kwargs={"token": offer.token}), {"answer": "decline"})
    (to_second,) = texts_to(second.phone, 1)
    assert SlotOffer.objects.get(entry__patient=second).token in to_second["text"]
    assert len(texts_to(first.phone, 1)) == 1  # the first is not asked again
    # The patient's booking page shows the offers and how their messages went.
    client.force_login(cast.treating_doctor)
    page = client.get(
        reverse("booking:patient", kwargs={"patient_id": first.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert page.count('data-testid="waiting-offer"') == 1 and "SMS sendt" in page


def test_a_freed_time_whose_task_was_lost_is_offered_by_beat(
    cast, client, clinic, outbound, settings
):
    """The broker was down when the time was freed: the freed time's row waits, the outbox's
    sweeper hands it to a worker, and it is offered once."""
    from booking.models import FreedTime
    from outbox import engine, kinds

    settings.SUNDHED_OUTBOX_DISPATCH = False  # as if the broker were down: no task is sent
    (first,) = waiting(cast, client, clinic, count=1)
    starts = freed(cast, clinic)
    assert not SlotOffer.objects.exists()
    kind = kinds.get("booking.freedtime")
    assert FreedTime.objects.get().status == "pending"
    engine.sweep(kind)
    assert engine.work(kind) == 1
    assert SlotOffer.objects.get().entry.patient == first
    assert engine.work(kind) == 0  # already offered: not again
    assert SlotOffer.objects.get().starts_at == starts
    assert FreedTime.objects.get().status == "offered"
