"""Reads of bookings. A patient's bookings are read through the gate (`access`); a department's
calendar names only the patients the viewer has a care relation with."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from booking.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    Booking,
    BookingStatus,
    CalendarFeed,
    Resource,
)
from patients.access import PatientAccess
from patients.models import CareCourse
from patients.selectors import object_get_for_patient


def _visible(access: PatientAccess) -> QuerySet[Booking]:
    """The patient's bookings this viewer may see: a blocked department's are left out."""
    return access.unblocked(
        Booking.objects.filter(patient=access.patient), department="department_id",
        care_course=None,
    ).select_related("appointment_type", "department__hospital")  # fmt: skip


def bookings_for_patient(access: PatientAccess, *, past_limit: int = 20) -> dict:
    """Coming appointments (soonest first) and past ones (newest first)."""
    now = timezone.now()
    visible = _visible(access).prefetch_related("allocations__resource", "reminders")
    coming = list(
        visible.filter(ends_at__gte=now, status__in=ACTIVE_STATUSES).order_by("starts_at")
    )
    past = list(visible.exclude(pk__in=[b.pk for b in coming]).order_by("-starts_at")[:past_limit])
    from booking.models import WaitingListEntry

    waiting = list(
        access.unblocked(
            WaitingListEntry.objects.filter(
                patient=access.patient, status__in=["waiting", "offered"]
            ),
            department="appointment_type__department_id", care_course=None,
        )
        .select_related("appointment_type__department")
        .prefetch_related("offers__messages")
    )  # fmt: skip
    from booking.models import ExternalAppointment

    external = list(
        ExternalAppointment.objects.filter(patient=access.patient, ends_at__gte=now).order_by(
            "starts_at"
        )[:20]
    )
    return {"coming": coming, "past": past, "waiting": waiting, "external": external}


def booking_get_for_patient(access: PatientAccess, public_id) -> Booking:
    """One booking of the patient, or 404 (also when its department is blocked)."""
    return object_get_for_patient(
        access, Booking.objects.select_related("appointment_type"), public_id,
        department="department_id", care_course=None,
    )  # fmt: skip


def appointment_types_for(department_id) -> list[AppointmentType]:
    """The appointment types a department offers."""
    return list(
        AppointmentType.objects.filter(department_id=department_id, is_active=True).order_by("name")
    )


def follow_up_of(access: PatientAccess, department_id) -> Booking | None:
    """The patient's latest appointment in this department: a follow-up repeats its type and
    clinician."""
    return (
        _visible(access)
        .filter(department_id=department_id)
        .exclude(status__in=[BookingStatus.CANCELLED, BookingStatus.RESCHEDULED])
        .prefetch_related("allocations__resource")
        .order_by("-starts_at")
        .first()
    )


def timeline_bookings(access, *, before, limit, departments):
    """Timeline items: appointments, coming and past."""
    from django.urls import reverse

    rows = _visible(access).filter(starts_at__lt=before)
    if departments:
        rows = rows.filter(department_id__in=departments)
    return [
        {
            "at": b.starts_at,
            "kind": "booking",
            "title": b.appointment_type.name,
            "detail": f"{b.get_status_display()} · {b.department.short_name}",
            "status": b.status,
            "department_id": b.department_id,
            "department": b.department.short_name,
            "care_course_id": None,
            "url": reverse("booking:patient", kwargs={"patient_id": access.patient.public_id}),
        }
        for b in rows.order_by("-starts_at")[:limit]
    ]


def panel_bookings(access) -> dict:
    """Overview panel: the next five and the last three appointments, in one query."""
    now = timezone.now()
    visible = _visible(access)
    coming = visible.filter(ends_at__gte=now, status__in=ACTIVE_STATUSES).order_by("starts_at")
    past = visible.filter(ends_at__lt=now).order_by("-starts_at")
    rows = list(coming[:5].union(past[:3], all=True))
    return {
        "template": "booking/panels/bookings.html",
        "coming": sorted((b for b in rows if b.ends_at >= now), key=lambda b: b.starts_at),
        "past": sorted(
            (b for b in rows if b.ends_at < now), key=lambda b: b.starts_at, reverse=True
        ),
    }


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def calendar(*, resources, start: datetime, end: datetime) -> list[Booking]:
    """Active bookings that hold any of these resources between two moments."""
    return list(
        Booking.objects.filter(
            status__in=ACTIVE_STATUSES,
            allocations__resource__in=resources,
            allocations__active=True,
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .distinct()
        .select_related("patient", "appointment_type")
        .prefetch_related("allocations__resource")
        .order_by("starts_at")
    )


def resources_of(staff) -> list[Resource]:
    """The calendars that are this staff member's own (as a clinician)."""
    return list(Resource.objects.filter(staff=staff, is_active=True))


def department_resources(department_id) -> list[Resource]:
    return list(
        Resource.objects.filter(department_id=department_id, is_active=True).order_by(
            "kind", "name"
        )
    )


def calendar_page(*, user, staff, scope: str, day: date, days: int) -> dict:
    """A clinician's calendar of `days` from `day` (`scope` mine or department): its rows, each
    named only where the viewer may open the patient ("optaget" otherwise), the patients shown
    (for the caller's access events), the resources and the private feed if there is one."""
    from booking.models import CalendarFeed
    from patients.access import visible_patient_filter
    from patients.models import Patient

    resources = (
        resources_of(staff) if scope == "mine" else department_resources(staff.active_department_id)
    )
    start, _end = day_bounds(day)
    bookings = calendar(resources=resources, start=start, end=start + timedelta(days=days))
    named = set(
        Patient.objects.filter(
            visible_patient_filter(user, at=timezone.now()),
            pk__in={b.patient_id for b in bookings},
        ).values_list("pk", flat=True)
    )
    shown = {b.patient_id: b.patient for b in bookings if b.patient_id in named}
    return {
        "rows": [{"booking": b, "named": b.patient_id in named} for b in bookings],
        "shown": list(shown.values()),
        "resources": resources,
        "feed": CalendarFeed.objects.filter(staff=staff, revoked_at__isnull=True).first(),
    }


def department_day(*, user, department_id, day: date) -> list[Booking]:
    """A department's appointments of one day, for its work list: only of the patients this
    user may open now (a booking relates its department, so for its clinicians that is all;
    administration and former staff see none)."""
    from patients.access import visible_patient_filter
    from patients.models import Patient

    start, end = day_bounds(day)
    visible = Patient.objects.filter(visible_patient_filter(user, at=timezone.now()))
    return list(
        Booking.objects.filter(
            patient__in=visible.values("pk"),
            department_id=department_id,
            status__in=ACTIVE_STATUSES,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .select_related("patient", "appointment_type")
        .prefetch_related("allocations__resource")
        .order_by("starts_at")
    )


def bookable_types_for_patient(access: PatientAccess) -> list[AppointmentType]:
    """What the citizen may book themself: types open to patients, in departments that treat
    them (an open course or an appointment there), none of a department they blocked."""
    departments = set(
        CareCourse.objects.filter(patient=access.patient, ended_at__isnull=True).values_list(
            "department_id", flat=True
        )
    ) | set(Booking.objects.filter(patient=access.patient).values_list("department_id", flat=True))
    return list(
        AppointmentType.objects.filter(
            patient_may_book=True, is_active=True, department_id__in=departments
        )
        .exclude(department_id__in=access.blocked_department_ids)
        .select_related("department__hospital")
        .order_by("department__name", "name")
    )


def calendar_feed_of(patient) -> CalendarFeed | None:
    """The patient's open calendar address, if they made one."""
    return CalendarFeed.objects.filter(patient=patient, revoked_at__isnull=True).first()


def appointment_type_chosen(access: PatientAccess, raw: str, *, region: bool = False):
    """The active appointment type with this public id: of the clinician's department, or with
    `region` of any department of the region (a referral to another hospital's clinic); None
    for one that is not (or a malformed id)."""
    found = AppointmentType.objects.filter(is_active=True).select_related("department__hospital")
    if not region:
        staff = access.staff
        found = found.filter(department_id=(staff.active_department_id if staff else None) or -1)
    try:
        return found.filter(public_id=raw).first()
    except (ValidationError, ValueError):
        return None


def same_appointment_everywhere(chosen: AppointmentType) -> list[AppointmentType]:
    """The same appointment (by its code) in every department that offers it."""
    return list(
        AppointmentType.objects.filter(code=chosen.code, is_active=True).select_related(
            "department__hospital"
        )
    )
