"""Every write to bookings: book (all resources or none), move, cancel, and the day's statuses.

"No double booking" is not checked here but by PostgreSQL: an exclusion constraint on the
allocations refuses a second active allocation of a resource for an overlapping period, even
when two clinicians press "Book" in the same millisecond. The service turns that refusal into a
clear message and loses nothing else.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind, LegalBasis
from booking.models import (
    ACTIVE_STATUSES,
    Allocation,
    AppointmentType,
    Booking,
    BookingStatus,
    CalendarFeed,
    FreedTime,
)
from booking.slots import free_slots
from outbox import engine
from patients.access import PatientAccess, access_change_record

log = logging.getLogger(__name__)
EXCLUSION = "booking_no_double_booking"
PATIENT_TWICE = "booking_patient_not_twice"
# The first key of the advisory locks that queue bookings of one resource ("BK").
RESOURCE_LOCKS = 0x424B
# The outbox's kind of a freed time to offer (booking.services.waiting registers it).
FREED_KIND = "booking.freedtime"


class SlotTaken(ValidationError):
    """The time was booked by someone else a moment ago."""

    def __init__(self):
        super().__init__(
            _("The time was just booked by someone else – choose another time."), code="taken"
        )


def _booker(access: PatientAccess):
    """Staff book for their patients; a citizen books for themself where the type allows."""
    if access.staff is not None:
        return access.staff
    if access.patient.user_id is not None and access.patient.user_id == access.user.pk:
        return None
    if access.legal_basis == LegalBasis.PROXY:  # a parent, or power of attorney: as the patient
        return None
    raise PermissionDenied(_("You may not book for this patient."))


def booking_create(
    *,
    access: PatientAccess,
    appointment_type: AppointmentType,
    starts_at: datetime,
    note: str = "",
    rescheduled_from: Booking | None = None,
) -> Booking:
    """Book the patient at a free time of this type: the resources a free slot offers at that
    start are allocated together in one transaction, or nothing is."""
    staff = _booker(access)
    if staff is None and not appointment_type.patient_may_book:
        raise PermissionDenied(_("This appointment is booked by the hospital."))
    if starts_at <= timezone.now():
        raise ValidationError({"starts_at": _("The time has passed.")})
    return book_slot(
        patient=access.patient, appointment_type=appointment_type, starts_at=starts_at,
        booked_by=access.user, note=note, rescheduled_from=rescheduled_from,
        record=lambda booking: access_change_record(
            access, data_kind=DataKind.BOOKING, action=Action.CREATE, obj=booking
        ),
    )  # fmt: skip


def book_slot(
    *, patient, appointment_type, starts_at, booked_by, note="", rescheduled_from=None, record
) -> Booking:
    """The one place a booking is written: in one transaction, the booking it replaces (a move)
    is ended first, the resources a free slot offers at that start are allocated with the new
    booking and its access event (`record`), or nothing is. Callers decide who may book (the
    gate, or an accepted offer)."""
    day = timezone.localtime(starts_at).date()
    # When another booking took one of the resources a moment ago, the time may still be free
    # with another room or scanner: look again (a few times). Among equal alternatives one is
    # chosen at random, so clinicians racing for the same start spread over the resources
    # instead of all reaching for the first.
    for _attempt in range(4):
        try:
            with transaction.atomic():
                if rescheduled_from is not None:
                    # Ended first, so the new time may overlap the old (a quarter of an hour
                    # later); rolled back with the rest when the new time is taken.
                    old = Booking.objects.select_for_update().get(pk=rescheduled_from.pk)
                    _end(old, BookingStatus.RESCHEDULED)
                slots = free_slots(
                    appointment_types=[appointment_type], start_date=day, end_date=day,
                    patient=patient, exact_start=starts_at, limit=10,
                )  # fmt: skip
                if not slots:
                    end = starts_at + timedelta(minutes=appointment_type.duration_minutes)
                    if patient.bookings.filter(
                        status__in=ACTIVE_STATUSES, starts_at__lt=end, ends_at__gt=starts_at
                    ).exists():
                        raise ValidationError(
                            _("The patient already has an appointment at that time."),
                            code="busy",
                        )
                    raise SlotTaken()
                slot = random.choice(slots)  # noqa: S311 (spreading load, not a secret)
                _lock_resources(slot.resources)
                booking = Booking(
                    patient=patient,
                    department_id=appointment_type.department_id,
                    appointment_type=appointment_type,
                    starts_at=slot.starts_at,
                    ends_at=slot.ends_at,
                    booked_by=booked_by,
                    note=note,
                    rescheduled_from=rescheduled_from,
                )
                booking.full_clean(exclude=["rescheduled_from"])
                booking.save()
                Allocation.objects.bulk_create(
                    Allocation(booking=booking, resource=r, period=(slot.starts_at, slot.ends_at))
                    for r in slot.resources
                )
                record(booking)
            return booking
        except (IntegrityError, OperationalError) as error:
            if PATIENT_TWICE in str(error):
                raise ValidationError(
                    _("The patient already has an appointment at that time."), code="busy"
                ) from None
            # Two bookings inserting overlapping allocations at the same instant can each
            # wait for the other inside the exclusion check; PostgreSQL then aborts one with a
            # deadlock (40P01). Either way the other won: look again.
            deadlock = getattr(error.__cause__, "sqlstate", "") == "40P01"
            if not deadlock and EXCLUSION not in str(error):
                raise
    raise SlotTaken()


def _lock_resources(resources) -> None:
    """Queue the bookings of the same resources one behind the other, in resource order, for
    the rest of the transaction. Without it two clients inserting overlapping allocations at
    the same instant each find the other's row in the exclusion check and wait for each other,
    until PostgreSQL breaks the deadlock after a second; with it the second waits for the
    first to commit and is refused at once. The exclusion constraint still decides."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, id) FROM unnest(%s::int[]) AS id ORDER BY id",
            [RESOURCE_LOCKS, sorted(r.pk for r in resources)],
        )


def _end(booking: Booking, status: str, **fields) -> None:
    """Take a booking out of the calendar: its allocations free their resources."""
    if booking.status != BookingStatus.BOOKED:
        raise ValidationError(_("Only a booked appointment can be cancelled or moved."))
    booking.status = status
    booking.status_changed_at = timezone.now()
    for name, value in fields.items():
        setattr(booking, name, value)
    booking.save()
    booking.allocations.update(active=False)
    if booking.starts_at > timezone.now():
        freed_time_record(booking.appointment_type_id, booking.starts_at)


def freed_time_record(type_id: int, starts_at) -> None:
    """Record a freed time for the waiting list: a durable row of the outbox's kind
    `booking.freedtime`, written in the caller's transaction; the engine hands it to a worker
    after the commit (its sweeper any a lost task left), which offers it."""
    row = FreedTime.objects.create(appointment_type_id=type_id, starts_at=starts_at)
    engine.dispatch_on_commit(FREED_KIND, row.pk)


def booking_cancel(*, access: PatientAccess, booking: Booking, by: str, reason: str) -> Booking:
    """Cancel with who asked (the patient or the hospital) and why."""
    _booker(access)
    if booking.patient_id != access.patient.pk:
        raise ValidationError(_("The booking belongs to another patient."))
    if by not in Booking.CancelledBy.values:
        raise ValidationError({"by": _("Say who cancels: the patient or the hospital.")})
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Write why the appointment is cancelled.")})
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        _end(locked, BookingStatus.CANCELLED, cancelled_by=by, cancel_reason=reason.strip())
        access_change_record(access, data_kind=DataKind.BOOKING, action=Action.UPDATE, obj=locked)
    return locked


def booking_move(*, access: PatientAccess, booking: Booking, starts_at: datetime) -> Booking:
    """Move to a new time: a new booking linked to the old, which is marked moved; one
    transaction, so the patient never has both or neither."""
    if booking.patient_id != access.patient.pk:
        raise ValidationError(_("The booking belongs to another patient."))
    if booking.status != BookingStatus.BOOKED:
        raise ValidationError(_("Only a booked appointment can be cancelled or moved."))
    return booking_create(
        access=access, appointment_type=booking.appointment_type, starts_at=starts_at,
        note=booking.note, rescheduled_from=booking,
    )  # fmt: skip


# What the day brings: arrived, seen, or did not come; in this order only.
_NEXT: dict[str, set[str]] = {
    BookingStatus.BOOKED: {BookingStatus.ARRIVED, BookingStatus.NO_SHOW},
    BookingStatus.ARRIVED: {BookingStatus.SEEN},
}


def booking_set_status(*, access: PatientAccess, booking: Booking, status: str) -> Booking:
    """Mark arrival, seen or no-show."""
    if access.staff is None:
        raise PermissionDenied(_("Only staff mark arrival."))
    if booking.patient_id != access.patient.pk:
        raise ValidationError(_("The booking belongs to another patient."))
    with transaction.atomic():
        locked = Booking.objects.select_for_update().get(pk=booking.pk)
        if timezone.localdate(locked.starts_at) > timezone.localdate():
            raise ValidationError(_("Arrival is marked on the day of the appointment."))
        if status not in _NEXT.get(locked.status, set()):
            raise ValidationError(
                _("A booking that is %(now)s cannot become %(next)s.")
                % {"now": locked.get_status_display(), "next": BookingStatus(status).label}
            )
        locked.status = status
        locked.status_changed_at = timezone.now()
        locked.save()
        access_change_record(access, data_kind=DataKind.BOOKING, action=Action.UPDATE, obj=locked)
    return locked


def calendar_feed_create(*, staff=None, patient=None) -> CalendarFeed:
    """A new private iCal address for a clinician's calendar or a patient's appointments; the
    owner's earlier address stops working (one address at a time)."""
    import secrets

    if (staff is None) == (patient is None):
        raise ValidationError(_("A calendar feed belongs to a clinician or to a patient."))
    owner = {"staff": staff} if staff is not None else {"patient": patient}
    with transaction.atomic():
        CalendarFeed.objects.filter(revoked_at__isnull=True, **owner).update(
            revoked_at=timezone.now()
        )
        return CalendarFeed.objects.create(
            kind=CalendarFeed.Kind.CLINICIAN if staff is not None else CalendarFeed.Kind.PATIENT,
            token=secrets.token_urlsafe(32),
            **owner,
        )


def calendar_feed_revoke(*, staff=None, patient=None) -> int:
    """Close the owner's iCal address."""
    owner = {"staff": staff} if staff is not None else {"patient": patient}
    return CalendarFeed.objects.filter(revoked_at__isnull=True, **owner).update(
        revoked_at=timezone.now()
    )
