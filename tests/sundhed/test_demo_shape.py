"""The demo data has the promised shape: valid CPR numbers, a journal history, logins that sign
in and find patients, calendars without overlaps. These tests only read, so they share one
demo database: seeded once in a transaction around the module (each test runs in a savepoint
inside it) and rolled back at its end."""

import pytest
from django.db import transaction
from django.test import override_settings

from accounts.models import User
from organisation.models import Department, Hospital, Role, StaffMember
from patients.cpr import parse_cpr, passes_modulus11
from patients.models import CareCourse, CaveEntry, Patient
from sundhed.demo.seed import FMK_TEST_PERSONS, demo_logins, seed_demo

pytestmark = pytest.mark.django_db


class _RolledBack(Exception):
    pass


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """400 demo patients, seeded once for the module's tests, gone after them."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast:
        try:
            with transaction.atomic():
                assert seed_demo(patients=400) is True
                yield
                raise _RolledBack
        except _RolledBack:
            pass


def test_the_demo_has_the_promised_shape_and_valid_cpr_numbers(demo):
    assert Hospital.objects.count() == 2
    assert Department.objects.count() == 8
    assert StaffMember.objects.count() == 40
    assert set(StaffMember.objects.values_list("role", flat=True)) == set(Role.values)
    patients = list(Patient.objects.all())
    # 400 made up, and FMK's four test persons, whose cards fmksim serves as recorded.
    assert len(patients) == 400 + len(FMK_TEST_PERSONS)
    assert {p.cpr for p in patients} >= {cpr for cpr, *_ in FMK_TEST_PERSONS}
    for patient in patients:
        cpr = parse_cpr(patient.cpr)
        assert cpr.is_replacement == patient.is_replacement_cpr
        if not cpr.is_replacement:
            assert (cpr.birth_date, cpr.sex) == (patient.birth_date, patient.sex)
    assert any(not passes_modulus11(p.cpr) for p in patients if not p.is_replacement_cpr)
    assert any(p.is_replacement_cpr for p in patients)
    assert CareCourse.objects.filter(ended_at__isnull=True).count() >= 30
    assert CaveEntry.objects.exists()


def test_the_demo_patients_have_a_journal_history(demo):
    from journal.models import Diagnosis, Note, NoteStatus, VitalSigns

    assert Note.objects.filter(status=NoteStatus.SIGNED).count() > 400
    assert Note.objects.filter(status=NoteStatus.DRAFT).exists()
    assert Note.objects.filter(note_type="epikrise").exists()
    assert Diagnosis.objects.filter(kind="A").count() >= CareCourse.objects.count() * 0.9
    assert VitalSigns.objects.filter(risk="high").exists()
    assert VitalSigns.objects.filter(risk="low").exists()


def test_every_named_demo_login_signs_in(demo):
    for login in demo_logins():
        user = User.objects.get(username=login.username)
        assert user.check_password("sundhed-demo"), login.username


def test_each_clinical_demo_login_has_patients_on_the_work_list(demo):
    for username in ["laege", "laege2", "sygeplejerske", "sekretaer"]:
        user = User.objects.get(username=username)
        assert Patient.objects.visible_to(user).exists(), username


def test_the_demo_has_calendars_and_bookings_that_never_overlap(demo):
    from django.db.models import Count

    from booking.models import Allocation, AppointmentType, Booking, Resource, ScheduleRule

    clinics = set(AppointmentType.objects.values_list("department__short_name", flat=True))
    assert clinics == {"KAR", "ORT", "MED", "GER", "AKM", "RAD", "KBA"}
    assert Resource.objects.filter(kind="clinician").count() >= 7
    assert ScheduleRule.objects.count() == Resource.objects.count()
    bookings = Booking.objects.all()
    assert bookings.count() >= 50
    from booking.models import WaitingListEntry

    assert WaitingListEntry.objects.filter(status="waiting").count() >= 5
    assert bookings.values("department").annotate(n=Count("id")).count() >= 5
    # Every booking holds all it needs; the exclusion constraint saw to the rest.
    for booking in bookings.select_related("appointment_type"):
        assert booking.allocations.count() == len(booking.appointment_type.resource_kinds)
    assert Allocation.objects.filter(active=True).count() == sum(
        len(b.appointment_type.resource_kinds) for b in bookings.select_related("appointment_type")
    )
