"""Reminders by e-mail (to a real SMTP server, the sink) and SMS (to the gateway simulator over
HTTP) through the outbox: planned once, sent once, never twice even when the sender is killed,
their delivery asked for and shown on the booking."""

import os
import signal
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from booking.models import Allocation, Booking, Reminder
from booking.services import reminders
from outbox import channels
from tests.booking.conftest import send_messages, sweep_messages
from tests.conftest import SMSSIM_PORT, SMTPSINK_PORT, start_worker, stop_worker


def soon(cast, clinic, *, minutes=110, patient=None, phone="+4520304050", resource=None):
    """A booking of the cast's patient (with e-mail and phone) starting in `minutes`, holding
    the clinic's doctor (or `resource`)."""
    patient = patient or cast.patient
    patient.email, patient.phone = f"{patient.given_names.lower()}@example.dk", phone
    patient.save(update_fields=["email", "phone"])
    start = timezone.now() + timedelta(minutes=minutes)
    booking = Booking.objects.create(
        patient=patient, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=start, ends_at=start + timedelta(minutes=20), booked_by=cast.secretary,
    )  # fmt: skip
    Allocation.objects.create(
        booking=booking,
        resource=resource or clinic.doctor,
        period=(start, start + timedelta(minutes=20)),
    )
    return booking


def test_reminders_are_planned_once_sent_once_and_shown_with_their_delivery(
    cast, client, clinic, outbound
):
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
    assert send_messages() == {"sent": 2, "failed": 0, "skipped": 0, "retried": 0}
    assert send_messages() == {"sent": 0, "failed": 0, "skipped": 0, "retried": 0}
    sms = outbound.sms()[sms_before:]
    mail = outbound.mail()[mail_before:]
    assert len(sms) == 1 and sms[0]["to"] == "+4520304050"
    assert len(mail) == 1 and cast.patient.email in mail[0]
    when = timezone.localtime(booking.starts_at).strftime("%H:%M")
    assert when in sms[0]["text"] and "Testhospitalet" in sms[0]["text"]
    assert "atrieflimren" not in sms[0]["text"].lower()  # the type can name a disease
    # The gateway is asked what became of the SMS: delivered a moment later.
    sent = booking.reminders.get(channel="sms", offset_minutes=120)
    assert sent.delivery == "accepted"
    time.sleep(1.1)
    assert channels.delivery_poll() == 1
    assert channels.delivery_poll() == 0  # delivered is final: not asked again
    client.force_login(cast.treating_doctor)
    page = client.get(
        reverse("booking:patient", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert page.count('data-testid="reminder"') == 4 and "Sendt" in page and "leveret" in page


def test_an_undeliverable_number_is_shown_as_such(cast, clinic, outbound):
    booking = soon(cast, clinic, phone="+4599000001")
    reminders.reminders_plan()
    send_messages()
    time.sleep(1.1)
    channels.delivery_poll()
    sms = booking.reminders.get(channel="sms", offset_minutes=120)
    assert sms.status == "sent" and sms.delivery == "undeliverable"


def test_a_sender_that_died_mid_send_sends_nothing_twice(cast, clinic, outbound):
    """The states a dead worker leaves, one by one (the real kill is the test below)."""
    booking = soon(cast, clinic)
    reminders.reminders_plan()
    due = booking.reminders.filter(status="pending")
    sms = due.get(channel="sms")
    # The worker claimed both, handed the SMS to the gateway and the e-mail to the server, then
    # died before it wrote down either.
    from django.core.mail import EmailMessage

    channels.sms_send(to="+4520304050", text="Påmindelse", reference=str(sms.public_id))
    EmailMessage("Påmindelse", "x", to=[cast.patient.email]).send()
    sms_before, mail_before = len(outbound.sms()), len(outbound.mail())
    an_hour_ago = timezone.now() - timedelta(hours=1)
    due.update(status="sending", claimed_at=an_hour_ago, handed_at=an_hour_ago)
    assert sweep_messages() == {"requeued": 0, "uncertain": 1, "again": 1}
    assert send_messages()["sent"] == 1  # the SMS again, with its reference
    assert len(outbound.sms()) == sms_before  # the gateway knew it: delivered once
    assert len(outbound.mail()) == mail_before  # the e-mail is not sent again
    statuses = dict(booking.reminders.filter(offset_minutes=120).values_list("channel", "status"))
    assert statuses == {"email": "uncertain", "sms": "sent"}
    # Claimed but never handed over: simply sent later, e-mail included.
    other = soon(cast, clinic, minutes=100, patient=cast.stranger, resource=clinic.room)
    reminders.reminders_plan()
    other.reminders.filter(status="pending").update(status="sending", claimed_at=an_hour_ago)
    assert sweep_messages()["requeued"] == 2
    assert send_messages()["sent"] == 2
    assert len(outbound.mail()) == mail_before + 1


def test_a_cancelled_booking_is_not_reminded_and_a_gateway_failure_is_recorded(
    cast, clinic, outbound
):
    booking = soon(cast, clinic)
    reminders.reminders_plan()
    Booking.objects.filter(pk=booking.pk).update(status="cancelled", cancelled_by="patient")
    Allocation.objects.filter(booking=booking).update(active=False)
    assert send_messages() == {"sent": 0, "failed": 0, "skipped": 2, "retried": 0}
    other = soon(cast, clinic, minutes=100, patient=cast.stranger)
    reminders.reminders_plan()
    outbound.sms_mode("fail")
    result = send_messages()
    assert result["retried"] == 1 and result["sent"] == 1  # the e-mail went, the SMS did not
    failed = other.reminders.get(channel="sms", offset_minutes=120)
    # Kept with the gateway's answer and tried again after a pause (the kind's backoff).
    assert failed.status == "pending" and "503" in failed.reason
    assert failed.due_at > timezone.now() + timedelta(seconds=30)
    outbound.sms_mode("up")
    assert send_messages()["sent"] == 0  # not before its pause is over
    Reminder.objects.filter(pk=failed.pk).update(due_at=timezone.now())  # the pause is over
    assert send_messages()["sent"] == 1
    assert Reminder.objects.filter(booking=other, channel="sms", status="sent").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_the_gateway_hangs_sends_nothing_twice(
    cast, clinic, outbound, tmp_path
):
    """A real Celery worker is killed (SIGKILL) while it waits for the SMS gateway: the SMS it
    had handed over is sent again with its reference and delivered once; what it had claimed
    and not handed over is sent by the next worker; no e-mail goes twice."""
    from outbox.tasks import work

    first = soon(cast, clinic, minutes=100)  # due first: its e-mail, then its SMS, hangs
    second = soon(
        cast, clinic, minutes=110, patient=cast.stranger, phone="+4520304051",
        resource=clinic.room,
    )  # fmt: skip
    reminders.reminders_plan()
    assert Reminder.objects.filter(status="pending").count() == 4
    sms_before, mail_before = len(outbound.sms()), len(outbound.mail())
    outbound.sms_mode("slow", seconds=60)
    worker = start_worker(
        tmp_path, queues="outbox-kill", pool="solo",
        env={
            "SUNDHED_SMS_URL": f"http://127.0.0.1:{SMSSIM_PORT}/v1/sms",
            "SUNDHED_SMS_TIMEOUT": "90",
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(SMTPSINK_PORT),
        },
    )  # fmt: skip
    try:
        work.apply_async(args=["booking.reminder"], queue="outbox-kill")
        deadline = time.monotonic() + 30
        while len(outbound.sms()) == sms_before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(outbound.sms()) == sms_before + 1, worker.output()
        os.kill(worker.process.pid, signal.SIGKILL)  # mid-send: the gateway has not answered
        worker.process.wait(10)
    finally:
        stop_worker(worker)
        outbound.sms_mode("up")
    states = {
        (r.booking_id, r.channel): (r.status, r.handed_at is not None)
        for r in Reminder.objects.filter(offset_minutes=120)
    }
    assert states == {
        (first.pk, "email"): ("sent", True),
        (first.pk, "sms"): ("sending", True),
        (second.pk, "email"): ("sending", False),
        (second.pk, "sms"): ("sending", False),
    }
    later = timezone.now() + timedelta(hours=1)
    assert sweep_messages(now=later) == {"requeued": 2, "uncertain": 0, "again": 1}
    assert send_messages() == {"sent": 3, "failed": 0, "skipped": 0, "retried": 0}
    sms = outbound.sms()[sms_before:]
    assert sorted(m["to"] for m in sms) == ["+4520304050", "+4520304051"]  # each once
    mail = outbound.mail()[mail_before:]
    assert len(mail) == 2 and sum(cast.patient.email in m for m in mail) == 1
    assert set(Reminder.objects.filter(offset_minutes=120).values_list("status", flat=True)) == {
        "sent"
    }
