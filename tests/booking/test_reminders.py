"""Reminders by e-mail (to a real SMTP server, the sink) and SMS (to the gateway simulator over
HTTP): planned once, sent once, never twice even when the sender dies, and shown on the booking."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from booking import reminders
from booking.models import Allocation, Booking, Reminder


def soon(cast, clinic, *, minutes=110, patient=None):
    """A booking of the cast's patient (with e-mail and phone) starting in `minutes`."""
    patient = patient or cast.patient
    patient.email, patient.phone = "karen@example.dk", "+4520304050"
    patient.save(update_fields=["email", "phone"])
    start = timezone.now() + timedelta(minutes=minutes)
    booking = Booking.objects.create(
        patient=patient, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=start, ends_at=start + timedelta(minutes=20), booked_by=cast.secretary,
    )  # fmt: skip
    Allocation.objects.create(
        booking=booking, resource=clinic.doctor, period=(start, start + timedelta(minutes=20))
    )
    return booking


def test_reminders_are_planned_once_sent_once_and_shown(cast, client, clinic, outbound):
    booking = soon(cast, clinic)
    sms_before, mail_before = len(outbound.sms()), len(outbound.mail())
    assert reminders.reminders_plan() == 4  # e-mail and SMS, 2 days and 2 hours before
    assert reminders.reminders_plan() == 0  # planning again adds nothing
    rows = {(r.channel, r.offset_minutes): r.status for r in booking.reminders.all()}
    # Booked less than two days ahead: the two-day reminders are not sent; the two-hour ones are.
    assert rows == {
        ("email", 2880): "skipped", ("sms", 2880): "skipped",
        ("email", 120): "pending", ("sms", 120): "pending",
    }  # fmt: skip
    assert reminders.reminders_send() == {"sent": 2, "failed": 0, "skipped": 0}
    assert reminders.reminders_send() == {"sent": 0, "failed": 0, "skipped": 0}
    sms = outbound.sms()[sms_before:]
    mail = outbound.mail()[mail_before:]
    assert len(sms) == 1 and sms[0]["to"] == "+4520304050"
    assert len(mail) == 1 and "karen@example.dk" in mail[0]
    when = timezone.localtime(booking.starts_at).strftime("%H:%M")
    assert when in sms[0]["text"] and "Testhospitalet" in sms[0]["text"]
    assert "atrieflimren" not in sms[0]["text"].lower()  # the type can name a disease
    client.force_login(cast.treating_doctor)
    page = client.get(
        reverse("booking:patient", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert page.count('data-testid="reminder"') == 4 and "Sendt" in page


def test_a_sender_that_dies_mid_send_sends_nothing_twice(cast, clinic, outbound, settings):
    booking = soon(cast, clinic)
    reminders.reminders_plan()
    due = booking.reminders.filter(status="pending")
    sms = due.get(channel="sms")
    # The worker claimed both, the SMS reached the gateway and the e-mail the server, then the
    # worker died before it wrote down either.
    from django.core.mail import EmailMessage

    reminders.sms_send(to="+4520304050", text="Påmindelse", reference=str(sms.public_id))
    EmailMessage("Påmindelse", "x", to=["karen@example.dk"]).send()
    sms_before, mail_before = len(outbound.sms()), len(outbound.mail())
    due.update(status="sending", claimed_at=timezone.now() - timedelta(hours=1))
    assert reminders.reminders_sweep() == {"uncertain": 1, "again": 1, "retried": 0}
    assert reminders.reminders_send()["sent"] == 1  # the SMS again, with its reference
    assert len(outbound.sms()) == sms_before  # the gateway knew it: delivered once
    assert len(outbound.mail()) == mail_before  # the e-mail is not sent again
    statuses = dict(booking.reminders.filter(offset_minutes=120).values_list("channel", "status"))
    assert statuses == {"email": "uncertain", "sms": "sent"}


def test_a_cancelled_booking_is_not_reminded_and_a_gateway_failure_is_recorded(
    cast, clinic, outbound
):
    booking = soon(cast, clinic)
    reminders.reminders_plan()
    Booking.objects.filter(pk=booking.pk).update(status="cancelled", cancelled_by="patient")
    Allocation.objects.filter(booking=booking).update(active=False)
    assert reminders.reminders_send() == {"sent": 0, "failed": 0, "skipped": 2}
    other = soon(cast, clinic, minutes=100, patient=cast.stranger)
    reminders.reminders_plan()
    outbound.sms_mode("fail")
    result = reminders.reminders_send()
    assert result["failed"] == 1 and result["sent"] == 1  # the e-mail went, the SMS did not
    failed = other.reminders.get(channel="sms", offset_minutes=120)
    assert failed.status == "failed" and "503" in failed.error
    outbound.sms_mode("up")
    assert reminders.reminders_sweep()["retried"] == 1
    assert reminders.reminders_send()["sent"] == 1
    assert Reminder.objects.filter(booking=other, channel="sms", status="sent").count() == 1
