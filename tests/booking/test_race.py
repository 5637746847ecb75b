"""Fifty clinicians press "Book" at once for ten free times: ten bookings, forty clear
messages, nothing else. Each client is a thread with its own database connection, so the race
is PostgreSQL's to settle."""

import threading
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from booking import services
from booking.models import Allocation, AppointmentType, Booking, Resource, ScheduleRule
from patients.access import access_decide
from patients.services import care_course_create, patient_create
from tests.booking.conftest import next_working_day

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_clients_race_for_ten_slots(cast):
    visit = AppointmentType.objects.create(
        department=cast.cardiology, code="ekko", name="Ekkokardiografi", duration_minutes=20,
        resource_kinds=["clinician"],
    )  # fmt: skip
    doctor = Resource.objects.create(
        department=cast.cardiology, kind="clinician", name="Tove Hjertelæge",
        staff=cast.treating_doctor.staff,
    )  # fmt: skip
    rule = ScheduleRule.objects.create(
        resource=doctor, weekdays=[1, 2, 3, 4, 5], start_time=time(8), end_time=time(11, 20),
        valid_from=date.today(),
    )  # fmt: skip
    rule.appointment_types.add(visit)
    day = next_working_day()
    starts = [
        timezone.make_aware(datetime.combine(day, time(8))) + timedelta(minutes=20 * i)
        for i in range(10)
    ]
    patients = []
    for i in range(50):
        patient = patient_create(
            cpr=f"{(i % 28) + 1:02d}0190{4000 + i:04d}", given_names=f"Patient{i}",
            family_name="Kø",
        )  # fmt: skip
        care_course_create(
            patient=patient, department=cast.cardiology, kind="referral", title="Henvisning",
            started_at=timezone.now() - timedelta(days=1),
        )  # fmt: skip
        patients.append(patient)

    barrier = threading.Barrier(50)
    outcomes: list[tuple[str, str]] = []
    lock = threading.Lock()

    def client(i):
        try:
            access = access_decide(
                user=cast.treating_doctor, patient=patients[i], data_kind="booking"
            )
            barrier.wait()
            booking = services.booking_create(
                access=access, appointment_type=visit, starts_at=starts[i % 10]
            )
            outcome = ("booked", str(booking.pk))
        except services.SlotTaken as taken:
            outcome = ("taken", taken.messages[0])
        except Exception as error:  # anything else would be a 500 to the clinician
            outcome = ("error", repr(error))
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, [o for o in outcomes if o[0] == "error"]
    assert (kinds.count("booked"), kinds.count("taken")) == (10, 40)
    assert {text for kind, text in outcomes if kind == "taken"} == {
        "Tiden er netop blevet booket af en anden – vælg en anden tid."
    }
    assert Booking.objects.count() == 10
    assert Allocation.objects.filter(active=True).count() == 10
    assert sorted(Booking.objects.values_list("starts_at", flat=True)) == starts
