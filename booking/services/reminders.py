"""Reminders: planned from the bookings, sent once by e-mail and SMS through the outbox.

`reminders_plan` writes a `Reminder` row per booking, channel and offset (the unique constraint
makes planning twice harmless); the outbox's e-mail and SMS channels send them, sweep what a
dead worker left and ask the gateway about delivery. The text is generic: where and when, never
a diagnosis (an SMS is read on a lock screen).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import DataKind
from booking.models import Booking, BookingStatus, Reminder
from outbox import engine
from outbox.channels import Letter, notification_kind

KIND = "booking.reminder"


def register_reminders() -> None:
    """Reminders are a kind of message to patients (from BookingConfig.ready)."""
    notification_kind(
        name=KIND, model=Reminder, compose=reminder_letter, system="Påmindelser",
        data_kind=DataKind.BOOKING, label=gettext_lazy("Reminders"),
        related=("booking__patient", "booking__department__hospital", "booking__appointment_type"),
    )  # fmt: skip


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
    if made:
        engine.dispatch_on_commit(KIND)
    return len(made)


def reminder_letter(reminder: Reminder) -> Letter | str:
    """The reminder's text from the booking as it is now; a booking no longer booked (read
    again: it may have been cancelled since the claim) is not reminded."""
    booking = reminder.booking
    status = Booking.objects.filter(pk=booking.pk).values_list("status", flat=True)[0]
    if status != BookingStatus.BOOKED:
        return _("The appointment is not booked.")
    subject, body = _text(booking)
    patient = booking.patient
    return Letter(patient.pk, patient.email, patient.phone, subject, body)


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
