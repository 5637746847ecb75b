"""The demo data has the promised shape: valid CPR numbers, a journal history, logins that sign
in and find patients, calendars without overlaps. These tests only read, so they share one
demo database: seeded once in a transaction around the module (each test runs in a savepoint
inside it) and rolled back at its end."""

import pytest
from django.db import models, transaction
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
    assert Department.objects.count() == 9  # with the paediatric clinic (issue 26)
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


def test_children_are_in_the_paediatric_clinic_only_with_childrens_drugs(demo):
    """Issue 26, finding 11: a child (under 18 when the course began) is admitted to the
    paediatric clinic only, and an adult never; a child's FMK card (fmksim's demo cards, the
    same for a CPR number every run) holds children's drugs only, and no card holds two drugs
    that must not go together (two anticoagulants, an anticoagulant with an NSAID)."""
    from datetime import date

    from simulators.fmksim.cards import CardStore, child
    from simulators.fmksim.seed import CHILD_DRUGS, NOT_TOGETHER, age_from_cpr, seed_card

    courses = CareCourse.objects.select_related("patient", "department")
    children = 0
    for course in courses:
        age = (course.started_at.date() - course.patient.birth_date).days / 365.25
        assert (course.department.short_name == "BOR") == (age < 18), (course, age)
        children += age < 18
    assert children > 0
    assert not CareCourse.objects.filter(started_at__date__lt=models.F("patient__birth_date"))
    store = CardStore()
    today = date.today()
    child_names = {drug[0] for drug in CHILD_DRUGS}
    kids = adults = 0
    for patient in Patient.objects.filter(is_replacement_cpr=False)[:200]:
        seed_card(store, patient.cpr)
        card = store.card(patient.cpr)
        drugs = [child(dm, "Drug") for dm in card.drug_medications()]
        names = {child(d, "Name").text for d in drugs}
        atcs = [child(child(d, "ATC"), "Code").text for d in drugs]
        if age_from_cpr(patient.cpr, today) < 18:
            kids += 1
            assert names <= child_names, (patient.cpr, names)
        else:
            adults += 1
            for a, b in NOT_TOGETHER:
                both = any(x.startswith(a) for x in atcs) and any(x.startswith(b) for x in atcs)
                assert not both, (patient.cpr, atcs)
        born = patient.birth_date  # what the CPR number says, as fmksim reads it
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        assert age_from_cpr(patient.cpr, today) == age, patient.cpr
    assert kids and adults
