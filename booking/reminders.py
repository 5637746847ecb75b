"""Reminders: planned from the bookings, sent once by e-mail and SMS, their delivery recorded.

`reminders_plan` writes a `Reminder` row per booking, channel and offset (the unique constraint
makes planning twice harmless). `reminders_send` claims due rows with SKIP LOCKED, sends each
outside any transaction and records the outcome. `reminders_sweep` looks at rows a dead worker
left "sending": an SMS is sent again with the same reference (the gateway answers with the first
message, nothing is delivered twice); an e-mail is marked uncertain and never sent again.
The text is generic: where and when, never a diagnosis (an SMS is read on a lock screen).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from booking.models import Booking, BookingStatus, Reminder

log = logging.getLogger(__name__)
# Small claims: a batch is sent well within SUNDHED_REMINDER_STUCK_AFTER (10 × the 10 s SMTP
# timeout at worst), so the sweeper never takes a live worker's rows.
CLAIM = 10


def reminders_plan(*, now=None) -> int:
    """Plan the reminders of booked appointments in the coming days; returns how many were new."""
    now = now or timezone.now()
    offsets = sorted(settings.SUNDHED_REMINDER_OFFSETS, reverse=True)
    horizon = now + timedelta(minutes=max(offsets, default=0) + 60)
    bookings = (
        Booking.objects.filter(
            status=BookingStatus.BOOKED, starts_at__gt=now, starts_at__lte=horizon
        )
        .select_related("patient")
        .prefetch_related("reminders")
    )
    made = []
    for booking in bookings:
        have = {(r.channel, r.offset_minutes) for r in booking.reminders.all()}
        channels = []
        if booking.patient.email:
            channels.append(Reminder.Channel.EMAIL)
        if booking.patient.phone:
            channels.append(Reminder.Channel.SMS)
        for offset in offsets:
            due = booking.starts_at - timedelta(minutes=offset)
            for channel in channels:
                if (channel, offset) in have:
                    continue
                # Booked after its time to remind had passed: that one is not sent (a
                # shorter one will be).
                late = due < now - timedelta(minutes=30)
                made.append(
                    Reminder(
                        booking=booking,
                        channel=channel,
                        offset_minutes=offset,
                        due_at=due,
                        status=Reminder.Status.SKIPPED if late else Reminder.Status.PENDING,
                    )  # fmt: skip
                )
    Reminder.objects.bulk_create(made, ignore_conflicts=True)
    return len(made)


def _claim(now) -> list[Reminder]:
    with transaction.atomic():
        rows = list(
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=Reminder.Status.PENDING, due_at__lte=now)
            .order_by("due_at")[:CLAIM]
        )
        ids = [r.pk for r in rows]
        Reminder.objects.filter(pk__in=ids).update(
            status=Reminder.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(
        Reminder.objects.filter(pk__in=ids).select_related(
            "booking__patient", "booking__department__hospital", "booking__appointment_type"
        )
    )


def reminders_send(*, now=None) -> dict:
    """Send the due reminders; a cancelled or moved booking's are not sent."""
    from audit.models import Action, DataKind
    from patients.access import access_patients_as_system

    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    touched = []
    for reminder in _claim(now):
        outcome = _send_one(reminder)
        counts[outcome] += 1
        if outcome == "sent":
            touched.append(("Påmindelser", reminder.booking.patient_id, str(reminder.public_id)))
    if touched:  # what was sent is a disclosure of the appointment, by the system
        access_patients_as_system(
            touched=touched, data_kind=DataKind.BOOKING, action=Action.VIEW,
            object_type="booking.reminder",
        )  # fmt: skip
    return counts


def _text(booking: Booking) -> tuple[str, str]:
    with translation.override("da"):
        when = timezone.localtime(booking.starts_at)
        where = f"{booking.department.name}, {booking.department.hospital.name}"
        subject = _("Reminder: appointment %(date)s at %(time)s") % {
            "date": when.strftime("%d.%m.%Y"), "time": when.strftime("%H:%M"),
        }  # fmt: skip
        body = _(
            "You have an appointment on %(date)s at %(time)s at %(where)s.\n"
            "If you cannot come, please tell us as soon as you can."
        ) % {"date": when.strftime("%d.%m.%Y"), "time": when.strftime("%H:%M"), "where": where}
        if booking.appointment_type.preparation:
            body += "\n\n" + booking.appointment_type.preparation
    return subject, body


def _send_one(reminder: Reminder) -> str:
    booking = reminder.booking
    # Read again now: a booking cancelled since the claim is not reminded.
    booking.status = Booking.objects.filter(pk=booking.pk).values_list("status", flat=True)[0]
    if booking.status != BookingStatus.BOOKED:
        _finish(reminder, Reminder.Status.SKIPPED, error=_("The appointment is not booked."))
        return "skipped"
    subject, body = _text(booking)
    try:
        if reminder.channel == Reminder.Channel.EMAIL:
            message = EmailMessage(subject, body, to=[booking.patient.email])
            message.extra_headers["Message-ID"] = f"<reminder-{reminder.public_id}@sundhed>"
            message.send()
            _finish(reminder, Reminder.Status.SENT, delivery="smtp-accepted")
        else:
            answer = sms_send(
                to=booking.patient.phone,
                text=f"{subject}. {body}",
                reference=str(reminder.public_id),
            )
            _finish(
                reminder, Reminder.Status.SENT, gateway_id=answer.get("id", ""),
                delivery=answer.get("status", ""),
            )  # fmt: skip
        return "sent"
    except Exception as error:  # noqa: BLE001 (a gateway or SMTP failure is recorded, not raised)
        log.warning("reminder %s not sent: %s", reminder.pk, error)
        _finish(reminder, Reminder.Status.FAILED, error=str(error)[:300])
        return "failed"


def _finish(reminder: Reminder, status: str, **fields) -> None:
    Reminder.objects.filter(pk=reminder.pk, status=Reminder.Status.SENDING).update(
        status=status, sent_at=timezone.now() if status == Reminder.Status.SENT else None, **fields
    )


def sms_send(*, to: str, text: str, reference: str) -> dict:
    """POST one SMS to the gateway; the reference makes a repeated request harmless."""
    if not settings.SUNDHED_SMS_URL.startswith(("http://", "https://")):
        raise RuntimeError("SUNDHED_SMS_URL must be an http(s) address")
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        settings.SUNDHED_SMS_URL,
        data=json.dumps({"to": to, "text": text, "reference": reference}).encode(),
        headers={"Content-Type": "application/json", "X-Api-Key": settings.SUNDHED_SMS_API_KEY},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.SUNDHED_SMS_TIMEOUT) as answer:  # noqa: S310
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode(errors="replace")
        raise RuntimeError(f"SMS gateway {error.code}: {detail}") from None


def reminders_sweep(*, now=None) -> dict:
    """Rows a dead worker left "sending": an SMS again with its reference, an e-mail uncertain.
    A failed SMS is tried again up to three times."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.SUNDHED_REMINDER_STUCK_AFTER)
    stuck = Reminder.objects.filter(status=Reminder.Status.SENDING, claimed_at__lt=stuck_before)
    uncertain = stuck.filter(channel=Reminder.Channel.EMAIL).update(
        status=Reminder.Status.UNCERTAIN,
        error=_("The sender stopped while sending; not sent again, so never twice."),
    )
    again = stuck.filter(channel=Reminder.Channel.SMS).update(status=Reminder.Status.PENDING)
    retried = Reminder.objects.filter(
        Q(status=Reminder.Status.FAILED), channel=Reminder.Channel.SMS, attempts__lt=3,
        booking__status=BookingStatus.BOOKED, booking__starts_at__gt=now,
    ).update(status=Reminder.Status.PENDING)  # fmt: skip
    return {"uncertain": uncertain, "again": again, "retried": retried}
