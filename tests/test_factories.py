"""The shared factories make valid rows, and history_build gives volume in one line."""

import pytest

from patients.cpr import parse_cpr
from sundhed.testing.factories import (
    CareCourseFactory,
    DepartmentFactory,
    PatientFactory,
    StaffMemberFactory,
    history_build,
)

pytestmark = pytest.mark.django_db


def test_the_factories_make_rows_that_pass_validation():
    department = DepartmentFactory()
    doctor = StaffMemberFactory(department=department)
    patients = PatientFactory.create_batch(25)
    for patient in patients:
        assert parse_cpr(patient.cpr).birth_date == patient.birth_date
        patient.full_clean()
    course = CareCourseFactory(patient=patients[0], department=department)
    course.full_clean()
    assert doctor.active_department == department
    assert list(doctor.departments.all()) == [department]


def test_history_build_gives_a_patient_years_of_record(cast):
    courses = history_build(
        cast.patient,
        department=cast.cardiology,
        author=cast.treating_doctor.staff,
        years=3,
        courses=12,
        notes=60,
        vitals=40,
        results=30,
        diagnoses=True,
    )
    assert len(courses) == 12 and sum(c.ended_at is None for c in courses) == 1
    assert cast.patient.notes.count() == 60
    assert cast.patient.vital_signs.count() == 40
    assert cast.patient.lab_results.count() == 30
    assert cast.patient.diagnoses.count() == 12
    assert set(cast.patient.lab_reports.values_list("department", flat=True)) == {
        cast.cardiology.pk
    }
