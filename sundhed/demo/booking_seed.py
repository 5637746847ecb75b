"""Demo calendars: resources, weekly rules and appointment types for the clinical departments,
and bookings for demo patients over the next four weeks."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from booking.models import (
    Allocation,
    AppointmentType,
    Booking,
    Resource,
    ResourceKind,
    ScheduleException,
    ScheduleRule,
)
from booking.slots import free_slots
from organisation.models import Department, Role
from patients.models import CareCourse

CLINICIAN, ROOM, EQUIPMENT = ResourceKind.CLINICIAN, ResourceKind.ROOM, ResourceKind.EQUIPMENT

# Per department: (code, name, minutes, kinds, patient may book, video, preparation)
TYPES = {
    "KAR": [
        (
            "kontrol",
            "Kontrol, hjerteambulatorium",
            20,
            [CLINICIAN, ROOM],
            False,
            False,
            "Medbring en liste over din medicin.",
        ),
        ("ekko", "Ekkokardiografi", 30, [CLINICIAN, ROOM], False, False, ""),
        (
            "video",
            "Videokonsultation, opfølgning",
            15,
            [CLINICIAN],
            True,
            True,
            "Du får et link i Min Sundhedsplatform 15 minutter før.",
        ),
    ],
    "ORT": [
        (
            "kontrol",
            "Kontrol efter operation",
            20,
            [CLINICIAN, ROOM],
            False,
            False,
            "Tag tøj på, der er let at tage af omkring knæ eller hofte.",
        ),
        ("forundersoegelse", "Forundersøgelse", 40, [CLINICIAN, ROOM], False, False, ""),
    ],
    "MED": [("kontrol", "Ambulant kontrol", 20, [CLINICIAN, ROOM], False, False, "")],
    "GER": [
        (
            "udredning",
            "Geriatrisk udredning",
            60,
            [CLINICIAN, ROOM],
            False,
            False,
            "Tag gerne en pårørende med.",
        ),
        ("kontrol", "Kontrol", 30, [CLINICIAN, ROOM], True, False, ""),
    ],
    "AKM": [("sarkontrol", "Sårkontrol", 15, [CLINICIAN, ROOM], False, False, "")],
    "RAD": [
        (
            "ct",
            "CT-skanning",
            20,
            [EQUIPMENT, CLINICIAN],
            False,
            False,
            "Du skal faste 4 timer før undersøgelsen.",
        ),
        (
            "mr",
            "MR-skanning",
            40,
            [EQUIPMENT, CLINICIAN],
            False,
            False,
            "Metal må ikke medbringes i skannerrummet.",
        ),
    ],
    "KBA": [
        (
            "blodproeve",
            "Blodprøvetagning",
            10,
            [CLINICIAN, ROOM],
            True,
            False,
            "Mød fastende, hvis din læge har bedt om det.",
        )
    ],
}
ROOMS = {"RAD": ["CT-skanner 1", "MR-skanner 1"]}


def seed_bookings(rng, patients, staff) -> None:
    today = timezone.localdate()
    # These are adults' clinics: children are booked in none of them.
    patients = [p for p in patients if (today - p.birth_date).days >= 18 * 365.25]
    departments = {d.short_name: d for d in Department.objects.filter(short_name__in=TYPES)}
    for short, types in TYPES.items():
        department = departments.get(short)
        if department is None:
            continue
        created = [
            AppointmentType.objects.create(
                department=department,
                code=code,
                name=name,
                duration_minutes=minutes,
                resource_kinds=kinds,
                patient_may_book=own,
                is_video=video,
                preparation=prep,
            )  # fmt: skip
            for code, name, minutes, kinds, own, video, prep in types
        ]
        clinicians = [
            s for s in staff
            if s.memberships.filter(department=department).exists()
            and s.role in (Role.LAEGE, Role.SYGEPLEJERSKE, Role.BIOANALYTIKER)
        ][:4]  # fmt: skip
        resources = [
            Resource.objects.create(
                department=department, kind=CLINICIAN, name=s.user.get_full_name(), staff=s
            )
            for s in clinicians
        ]
        for name in ROOMS.get(short, [f"{department.short_name} rum {n}" for n in (1, 2, 3)]):
            kind = EQUIPMENT if short == "RAD" else ROOM
            resources.append(Resource.objects.create(department=department, kind=kind, name=name))
        for resource in resources:
            rule = ScheduleRule.objects.create(
                resource=resource, weekdays=[1, 2, 3, 4, 5], start_time=time(8),
                end_time=time(15), valid_from=today - timedelta(days=30),
            )  # fmt: skip
            rule.appointment_types.add(*created)
        if resources and clinicians:  # one absence, so the calendar shows what one looks like
            absent = today + timedelta(days=rng.randint(3, 20))
            start = timezone.make_aware(datetime.combine(absent, time(8)))
            ScheduleException.objects.create(
                resource=resources[0], period=(start, start + timedelta(hours=7)),
                reason="Kursus",
            )  # fmt: skip
        _book_for(rng, department, created, patients, today)
        _wait_for(rng, department, created, patients)


def _book_for(rng, department, types, patients, today: date) -> None:
    """Bookings over four weeks for patients with a course in the department."""
    related = list(
        CareCourse.objects.filter(department=department, patient__in=patients)
        .values_list("patient_id", flat=True)
        .distinct()[:60]
    )
    by_id = {p.pk: p for p in patients}
    from django.contrib.auth import get_user_model

    # The demo's medical secretary booked them.
    booked_by = get_user_model().objects.filter(username="sekretaer").first()
    if booked_by is None:
        booked_by = get_user_model().objects.filter(is_superuser=True).first()
    assert booked_by is not None, "the demo has an administrator"
    for patient_id in related:
        patient = by_id.get(patient_id)
        if patient is None:
            continue
        kind = rng.choice(types)
        start = today + timedelta(days=rng.randint(1, 27))
        slots = free_slots(
            appointment_types=[kind], start_date=start, end_date=start + timedelta(days=7),
            patient=patient, limit=8,
        )  # fmt: skip
        if not slots:
            continue
        slot = rng.choice(slots)
        booking = Booking.objects.create(
            patient=patient, department=department, appointment_type=kind,
            starts_at=slot.starts_at, ends_at=slot.ends_at, booked_by=booked_by,
        )  # fmt: skip
        Allocation.objects.bulk_create(
            Allocation(booking=booking, resource=r, period=(slot.starts_at, slot.ends_at))
            for r in slot.resources
        )


def _wait_for(rng, department, types, patients) -> None:
    """A short waiting list per clinic: patients of the department waiting for an earlier time."""
    from django.contrib.auth import get_user_model

    from booking.models import WaitingListEntry

    added_by = get_user_model().objects.filter(username="sekretaer").first()
    if added_by is None:
        return
    related = list(
        CareCourse.objects.filter(department=department, patient__in=patients)
        .values_list("patient_id", flat=True)
        .distinct()[60:66]
    )
    for patient_id in related:
        WaitingListEntry.objects.get_or_create(
            patient_id=patient_id, appointment_type=rng.choice(types),
            defaults={"added_by": added_by, "note": "Ønsker en tidligere tid"},
        )  # fmt: skip
