"""Queries compiled once (`common.prepared`) answer as the ORM does, for every value: each
user's and patient's own rows, their related objects and annotations, the time they are asked
at; a value that does not reach the SQL is refused when the query is compiled."""

from datetime import timedelta

import pytest
from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from common.prepared import _prepared, builder, objects_for, rows_for
from organisation.models import StaffMember
from patients.models import CareCourse, Patient
from patients.services import care_course_create

pytestmark = pytest.mark.django_db


@builder
def staff_with_department(*, user: int):
    return StaffMember.objects.select_related("active_department__hospital").filter(user_id=user)


@builder
def courses_open_at(kind: str, *, patient: int, at):
    return (
        CareCourse.objects.filter(patient_id=patient, kind=kind, started_at__lte=at)
        .annotate(has_patient=Exists(Patient.objects.filter(pk=OuterRef("patient_id"))))
        .order_by("started_at")
    )


@builder
def course_counts(*, patient: int):
    return CareCourse.objects.filter(patient_id=patient).values("kind").annotate(n=Count("id"))


def test_each_user_gets_their_own_row_with_its_related_objects(cast):
    _prepared.cache_clear()
    for person in (cast.treating_doctor, cast.other_doctor, cast.nurse):
        (staff,) = objects_for(staff_with_department, user=person.pk)
        expected = StaffMember.objects.get(user=person)
        assert staff.pk == expected.pk and staff.role == expected.role
        assert staff.active_department.name == expected.active_department.name
        assert staff.active_department.hospital.pk == expected.active_department.hospital_id
        assert not staff._state.adding  # a row from the database: a save updates it
    assert _prepared.cache_info().misses == 1 and _prepared.cache_info().hits == 2
    assert objects_for(staff_with_department, user=cast.patient_user.pk) == []


def test_a_time_and_a_shape_are_values_like_any_other(cast):
    now = timezone.now()
    care_course_create(
        patient=cast.patient,
        department=cast.orthopaedics,
        kind="outpatient",
        title="Knæ",
        started_at=now - timedelta(days=2),
    )
    found = objects_for(courses_open_at, "outpatient", patient=cast.patient.pk, at=now)
    assert [c.title for c in found] == ["Knæ"]
    assert found[0].has_patient is True
    earlier = objects_for(
        courses_open_at, "outpatient", patient=cast.patient.pk, at=now - timedelta(days=3)
    )
    assert earlier == []
    admissions = courses_open_at("admission", patient=cast.patient.pk, at=now)
    assert objects_for(courses_open_at, "admission", patient=cast.patient.pk, at=now) == list(
        admissions
    )
    assert objects_for(courses_open_at, "outpatient", patient=cast.stranger.pk, at=now) == []


def test_rows_come_as_the_orm_gives_them(cast):
    assert rows_for(course_counts, patient=cast.patient.pk) == list(
        course_counts(patient=cast.patient.pk).values_list("kind", "n")
    )


def test_a_value_that_does_not_reach_the_sql_is_refused(cast):
    @builder
    def ignores_the_user(*, user: int):
        return StaffMember.objects.filter(role="laege")

    with pytest.raises(ValueError, match="user"):
        objects_for(ignores_the_user, user=cast.treating_doctor.pk)


def test_a_value_computed_from_a_marker_is_refused(cast):
    @builder
    def a_day_before(*, patient: int, at):
        return CareCourse.objects.filter(patient_id=patient, started_at__lte=at - timedelta(1))

    with pytest.raises(ValueError, match="computed from a marker"):
        objects_for(a_day_before, patient=cast.patient.pk, at=timezone.now())


def test_what_cannot_be_compiled_faithfully_is_refused(cast):
    @builder
    def with_prefetch(*, patient: int):
        return CareCourse.objects.filter(patient_id=patient).prefetch_related("department")

    @builder
    def locked(*, patient: int):
        return CareCourse.objects.filter(patient_id=patient).select_for_update()

    for build, why in ((with_prefetch, "prefetch"), (locked, "select_for_update")):
        with pytest.raises(ValueError, match=why):
            objects_for(build, patient=cast.patient.pk)


def test_an_unregistered_builder_is_refused(cast):
    def stray(*, patient: int):
        return CareCourse.objects.filter(patient_id=patient)

    with pytest.raises(ValueError, match="not registered"):
        objects_for(stray, patient=cast.patient.pk)


def test_every_registered_builder_gives_the_same_rows_compiled_and_plain(cast, client):
    """The chart's pages as the treating doctor use every builder of the application; each call
    is run again as a plain queryset, and the rows must be the same."""
    from django.urls import reverse

    from common import prepared
    from tests.conftest import force_login_with_second_factor

    force_login_with_second_factor(client, cast.treating_doctor)
    patient = cast.patient.public_id
    prepared.RECORD = []
    try:
        for name in ("chart:overview", "chart:timeline", "medicinkort:medication",
                     "journal:notes", "journal:diagnoses", "journal:vitals"):  # fmt: skip
            assert client.get(reverse(name, args=[patient])).status_code == 200, name
        assert client.get(reverse("chart:timeline", args=[patient]), {"department": [
            str(cast.cardiology.pk)]}).status_code == 200  # fmt: skip
        calls = list(prepared.RECORD)
    finally:
        prepared.RECORD = None
    application = {n for n in prepared.BUILDERS if not n.startswith("tests.")}
    assert {prepared._name(build) for _how, build, _shape, _values in calls} >= application
    for how, build, shape, values in calls:
        plain = build(*shape, **values)
        if how == "rows":
            expected = [tuple(row.values()) if isinstance(row, dict) else row for row in plain]
            assert rows_for(build, *shape, **values) == expected, build.__name__
        else:
            compiled = objects_for(build, *shape, **values)
            fields = [f.attname for f in plain.model._meta.concrete_fields]
            assert [[getattr(o, f) for f in fields] for o in compiled] == [
                [getattr(o, f) for f in fields] for o in plain
            ], build.__name__
