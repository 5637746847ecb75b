"""Slots computed from the weekly rules, bookings that take all their resources or none, and
a PostgreSQL constraint that refuses a double booking whatever the code does."""

from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AccessEvent
from booking import services
from booking.models import Allocation, Booking, Resource, ResourceKind, ScheduleException
from booking.slots import free_slots, is_holiday
from patients.access import access_decide
from tests.booking.conftest import next_working_day


def at(day, hour, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def doctor_access(cast, patient=None):
    patient = patient or cast.patient
    if not patient.care_courses.exists():  # a referral to cardiology relates the doctor
        from patients.services import care_course_create

        care_course_create(
            patient=patient, department=cast.cardiology, kind="referral", title="Henvisning",
            started_at=timezone.now() - timedelta(days=1),
        )  # fmt: skip
    return access_decide(user=cast.treating_doctor, patient=patient, data_kind="booking")


def allocate(booking, resource, start, end):
    return Allocation.objects.create(booking=booking, resource=resource, period=(start, end))


def test_slots_follow_the_rules_and_skip_holidays(cast, clinic):
    slots = free_slots(
        appointment_types=[clinic.control], start_date=clinic.day, end_date=clinic.day, limit=50
    )
    # 08:00–12:00 in 20-minute steps: twelve, each with the doctor and the room.
    assert [timezone.localtime(s.starts_at).strftime("%H:%M") for s in slots][:3] == [
        "08:00", "08:20", "08:40",
    ]  # fmt: skip
    assert len(slots) == 12
    assert {tuple(r.kind for r in s.resources) for s in slots} == {("clinician", "room")}
    # Second Christmas Day is a public holiday in Denmark: no slots, whatever the rule says.
    christmas = date(date.today().year + 1, 12, 26)
    assert is_holiday(christmas)
    assert not free_slots(
        appointment_types=[clinic.control], start_date=christmas, end_date=christmas
    )


def test_an_absence_a_busy_room_or_the_patients_own_booking_removes_the_slot(cast, clinic):
    day = clinic.day
    ScheduleException.objects.create(
        resource=clinic.doctor, period=(at(day, 8), at(day, 9)), reason="Kursus"
    )
    booked = services.booking_create(
        access=doctor_access(cast, cast.stranger), appointment_type=clinic.control,
        starts_at=at(day, 9),
    )  # fmt: skip
    starts = [
        timezone.localtime(s.starts_at).strftime("%H:%M")
        for s in free_slots(
            appointment_types=[clinic.control],
            start_date=day,
            end_date=day,
            patient=cast.patient,
            time_from=time(8),
            time_until=time(10),
            limit=50,
        )  # fmt: skip
    ]
    assert starts == ["09:20", "09:40"]  # 08:xx absent, 09:00 taken
    assert booked.allocations.count() == 2
    # The stranger's own booking keeps them from a second one at the same time elsewhere.
    assert all(
        s.starts_at != at(day, 9)
        for s in free_slots(
            appointment_types=[clinic.control],
            start_date=day,
            end_date=day,
            patient=cast.stranger,
            limit=50,
        )  # fmt: skip
    )


def test_a_booking_needing_two_resources_gets_both_or_none(cast, clinic):
    day = clinic.day
    # The only room is taken by another department's use: the doctor alone is no slot.
    other = Booking.objects.create(
        patient=cast.stranger, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=at(day, 10), ends_at=at(day, 10, 20), booked_by=cast.treating_doctor,
    )  # fmt: skip
    Allocation.objects.create(
        booking=other, resource=clinic.room, period=(at(day, 10), at(day, 10, 20))
    )
    with pytest.raises(ValidationError) as refused:
        services.booking_create(
            access=doctor_access(cast), appointment_type=clinic.control, starts_at=at(day, 10)
        )
    assert "netop blevet booket" in str(refused.value) or "just booked" in str(refused.value)
    assert not Booking.objects.filter(patient=cast.patient).exists()
    assert not Allocation.objects.filter(resource=clinic.doctor).exists()


@pytest.mark.django_db(transaction=True)
def test_postgresql_refuses_overlapping_active_allocations(cast, clinic):
    day = clinic.day
    booking = Booking.objects.create(
        patient=cast.patient, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=at(day, 8), ends_at=at(day, 8, 20), booked_by=cast.treating_doctor,
    )  # fmt: skip
    Allocation.objects.create(
        booking=booking, resource=clinic.room, period=(at(day, 8), at(day, 8, 20))
    )
    second = Booking.objects.create(
        patient=cast.stranger, department=cast.cardiology, appointment_type=clinic.control,
        starts_at=at(day, 8, 10), ends_at=at(day, 8, 30), booked_by=cast.treating_doctor,
    )  # fmt: skip
    with pytest.raises(IntegrityError, match="booking_no_double_booking"), transaction.atomic():
        Allocation.objects.create(
            booking=second, resource=clinic.room, period=(at(day, 8, 10), at(day, 8, 30))
        )
    # An inactive (cancelled) allocation does not hold the room; back to back is no overlap.
    Allocation.objects.filter(booking=booking).update(active=False)
    Allocation.objects.create(
        booking=second, resource=clinic.room, period=(at(day, 8, 10), at(day, 8, 30))
    )
    Allocation.objects.create(
        booking=booking, resource=clinic.doctor, period=(at(day, 8, 30), at(day, 8, 50))
    )


def test_cancel_move_and_the_days_statuses_keep_history_and_free_the_time(cast, clinic):
    access = doctor_access(cast)
    day = clinic.day
    booking = services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=at(day, 8)
    )
    moved = services.booking_move(access=access, booking=booking, starts_at=at(day, 11))
    booking.refresh_from_db()
    assert (booking.status, moved.rescheduled_from_id) == ("rescheduled", booking.pk)
    assert not booking.allocations.filter(active=True).exists()
    # The old time is free again.
    assert any(
        s.starts_at == at(day, 8)
        for s in free_slots(appointment_types=[clinic.control], start_date=day, end_date=day)
    )
    with pytest.raises(ValidationError):
        services.booking_cancel(access=access, booking=moved, by="hospital", reason="")
    cancelled = services.booking_cancel(
        access=access, booking=moved, by="patient", reason="Patienten er bortrejst"
    )
    assert (cancelled.status, cancelled.cancelled_by) == ("cancelled", "patient")
    again = services.booking_create(
        access=access, appointment_type=clinic.control, starts_at=at(day, 11)
    )
    with pytest.raises(ValidationError):  # arrival is marked on the day, not ahead
        services.booking_set_status(access=access, booking=again, status="arrived")
    today = timezone.now() + timedelta(minutes=30)
    Booking.objects.filter(pk=again.pk).update(
        starts_at=today, ends_at=today + timedelta(minutes=20)
    )
    again.refresh_from_db()
    arrived = services.booking_set_status(access=access, booking=again, status="arrived")
    assert (
        services.booking_set_status(access=access, booking=arrived, status="seen").status == "seen"
    )
    with pytest.raises(ValidationError):
        services.booking_set_status(access=access, booking=arrived, status="no_show")
    # Every change in history, and on the access log.
    assert Booking.pgh_event_model.objects.filter(pgh_obj_id=moved.pk).count() >= 2
    assert AccessEvent.objects.filter(data_kind="booking", patient_id=cast.patient.pk).count() == 6


def test_a_booking_relates_its_department_to_the_patient(cast, clinic, settings):
    from organisation.models import Department
    from patients.access import AccessRefused

    # A clinic in another department, with a doctor of its own and no course for the stranger.
    ortho = Department.objects.get(pk=cast.orthopaedics.pk)
    with pytest.raises(AccessRefused):
        access_decide(user=cast.other_doctor, patient=cast.stranger, data_kind="journal")
    from booking.models import AppointmentType, ScheduleRule

    visit = AppointmentType.objects.create(
        department=ortho, code="knae", name="Knæ, første besøg", duration_minutes=30,
        resource_kinds=["clinician"],
    )  # fmt: skip
    surgeon = Resource.objects.create(
        department=ortho, kind=ResourceKind.CLINICIAN, name="Ole Knoglelæge",
        staff=cast.other_doctor.staff,
    )  # fmt: skip
    rule = ScheduleRule.objects.create(
        resource=surgeon, weekdays=[1, 2, 3, 4, 5], start_time=time(13), end_time=time(15),
        valid_from=date.today(),
    )  # fmt: skip
    rule.appointment_types.add(visit)
    # Booked by the referring cardiologist (who treats the patient), for the orthopaedic clinic.
    services.booking_create(
        access=doctor_access(cast, cast.stranger), appointment_type=visit,
        starts_at=at(next_working_day(), 13),
    )  # fmt: skip
    assert access_decide(user=cast.other_doctor, patient=cast.stranger, data_kind="journal")
    settings.SUNDHED_BOOKING_RELATION_DAYS = 0
    later = timezone.now() + timedelta(days=30)
    from patients.access import visible_patient_filter
    from patients.models import Patient

    assert not Patient.objects.filter(
        visible_patient_filter(cast.other_doctor, at=later), pk=cast.stranger.pk
    ).exists()


@pytest.mark.parametrize(
    ("night", "expected"),
    [
        # Summer time begins at 02:00: that hour does not exist, and no start is offered twice.
        (date(2028, 3, 26), ["00:00+01", "01:00+01", "03:00+02", "04:00+02", "05:00+02"]),
        # Summer time ends at 03:00: the hour from 02:00 comes twice, and so do its starts.
        (
            date(2028, 10, 29),
            ["00:00+02", "01:00+02", "02:00+02", "02:00+01", "03:00+01", "04:00+01", "05:00+01"],
        ),
    ],
)
def test_a_night_shift_across_a_change_of_clock_has_the_hours_it_really_has(cast, night, expected):
    from booking.models import AppointmentType, ScheduleRule

    hour = AppointmentType.objects.create(
        department=cast.cardiology, code="nat", name="Nattelefon", duration_minutes=60,
        resource_kinds=[ResourceKind.CLINICIAN],
    )  # fmt: skip
    doctor = Resource.objects.create(
        department=cast.cardiology, kind=ResourceKind.CLINICIAN, name="Vagthavende",
        staff=cast.treating_doctor.staff,
    )  # fmt: skip
    rule = ScheduleRule.objects.create(
        resource=doctor, weekdays=[7], start_time=time(0), end_time=time(6),
        valid_from=night - timedelta(days=1),
    )  # fmt: skip
    rule.appointment_types.add(hour)
    slots = free_slots(appointment_types=[hour], start_date=night, end_date=night)
    shown = [timezone.localtime(s.starts_at).strftime("%H:%M%z")[:8] for s in slots]
    assert shown == expected
    assert len({s.starts_at for s in slots}) == len(slots)
    # Booking the second 02:00 in October takes exactly that hour.
    assert all(s.ends_at - s.starts_at == timedelta(hours=1) for s in slots)


def test_the_slots_at_one_start_can_all_be_booked_at_once(cast, clinic):
    """Two doctors and one room: one slot per start (not two that both want the room); with a
    second room, two, each with its own room."""
    from booking.models import ScheduleRule

    second = Resource.objects.create(
        department=cast.cardiology,
        kind=ResourceKind.CLINICIAN,
        name="Anden læge",
        staff=cast.nurse.staff,
    )
    rule = ScheduleRule.objects.create(
        resource=second, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(12),
        valid_from=clinic.rule_doctor.valid_from,
    )  # fmt: skip
    rule.appointment_types.add(clinic.control)

    def at_eight():
        found = free_slots(
            appointment_types=[clinic.control], start_date=clinic.day, end_date=clinic.day
        )
        return [s for s in found if s.starts_at == at(clinic.day, 8)]

    assert len(at_eight()) == 1
    room = Resource.objects.create(
        department=cast.cardiology, kind=ResourceKind.ROOM, name="Ambulatorium, rum 2"
    )
    rule = ScheduleRule.objects.create(
        resource=room, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(12),
        valid_from=clinic.rule_doctor.valid_from,
    )  # fmt: skip
    rule.appointment_types.add(clinic.control)
    slots = at_eight()
    assert len(slots) == 2
    assert len({s.resources[1] for s in slots}) == 2  # each its own room
