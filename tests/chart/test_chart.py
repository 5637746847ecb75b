"""The chart: overview panels, the timeline in pages, the work list with unsigned notes."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from journal import services
from journal.models import NoteType, SksCode
from patients.access import access_decide
from patients.services import care_course_create
from sundhed.testing.factories import history_build
from tests.conftest import block


def overview(patient):
    return reverse("chart:overview", kwargs={"patient_id": patient.public_id})


def timeline(patient):
    return reverse("chart:timeline", kwargs={"patient_id": patient.public_id})


def history(cast, *, notes, vitals, courses=1):
    """Give the cast's patient a history, built in bulk like a migrated record."""
    history_build(
        cast.patient,
        department=cast.cardiology,
        author=cast.treating_doctor.staff,
        courses=courses,
        notes=notes,
        vitals=vitals,
        results=notes,
    )


@pytest.mark.parametrize("size", [(5, 5, 1), (300, 300, 40)])
def test_the_overview_costs_the_same_queries_however_long_the_history(
    cast, client, django_assert_max_num_queries, size
):
    notes, vitals, courses = size
    history(cast, notes=notes, vitals=vitals, courses=courses)
    client.force_login(cast.treating_doctor)
    # One query a panel: the medication panel reads the FMK read, its snapshot and lines in one;
    # the contacts panel's appointments are one more.
    with django_assert_max_num_queries(17):
        response = client.get(overview(cast.patient))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="overview-news2"' in page
    assert page.count('aria-labelledby="panel-') == 6


def test_empty_panels_say_so(cast, client):
    client.force_login(cast.treating_doctor)
    page = client.get(overview(cast.patient)).content.decode()
    assert "Ingen vitale værdier registreret." in page or "No vital signs recorded." in page
    assert 'id="panel-medication"' in page


def test_the_overview_shows_diagnoses_and_writes_one_event(cast, client):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="diagnoses")
    services.diagnosis_add(
        access=access, care_course=cast.course, code=SksCode.objects.get(code="DI480"), kind="A"
    )
    client.force_login(cast.treating_doctor)
    before = AccessEvent.objects.count()
    page = client.get(overview(cast.patient)).content.decode()
    assert "DI480" in page
    assert AccessEvent.objects.count() == before + 1


def test_the_timeline_loads_in_pages_with_a_fixed_number_of_queries(
    cast, client, django_assert_max_num_queries
):
    history(cast, notes=200, vitals=200)
    client.force_login(cast.treating_doctor)
    # One query per timeline source (courses, notes, diagnoses, vitals, lab reports, medication,
    # appointments).
    with django_assert_max_num_queries(18):
        first = client.get(timeline(cast.patient))
    page = first.content.decode()
    assert page.count('data-testid="timeline-item"') == 30
    assert 'data-testid="timeline-more"' in page
    next_url = first.context["next_query"]
    with django_assert_max_num_queries(16):
        second = client.get(f"{timeline(cast.patient)}?{next_url}", HTTP_HX_REQUEST="true")
    assert second.content.decode().count('data-testid="timeline-item"') == 30
    assert "<html" not in second.content.decode()
    first_times = [int(t) for t in re.findall(r'data-at="(\d+)"', page)]
    second_times = [int(t) for t in re.findall(r'data-at="(\d+)"', second.content.decode())]
    assert min(first_times) >= max(second_times)
    assert first_times == sorted(first_times, reverse=True)


def test_the_timeline_filters_by_kind(cast, client):
    history(cast, notes=3, vitals=3)
    client.force_login(cast.treating_doctor)
    response = client.get(timeline(cast.patient), {"kind": "vitals"})
    kinds = {item["kind"] for item in response.context["items"]}
    assert kinds == {"vitals"}


def test_a_blocked_course_hides_its_notes_from_other_departments(cast, client):
    other_course = care_course_create(
        patient=cast.patient,
        department=cast.orthopaedics,
        kind="admission",
        title="Hoftenær fraktur",
        started_at=timezone.now() - timedelta(days=1),
    )
    access = access_decide(user=cast.other_doctor, patient=cast.patient, data_kind="journal")
    note = services.note_create(
        access=access,
        note_type=NoteType.CONTINUATION,
        title="Hemmelig",
        text="Ortopædisk notat",
        care_course=other_course,
    )
    services.note_sign(access=access, note=note)
    block(cast, care_course=other_course)
    client.force_login(cast.treating_doctor)
    assert "Hemmelig" not in client.get(timeline(cast.patient)).content.decode()
    note_url = reverse("journal:note", kwargs={"note_id": note.public_id})
    assert client.get(note_url).status_code == 403


def test_the_work_list_marks_unsigned_notes(cast, client):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    services.note_create(access=access, note_type=NoteType.CONTINUATION, text="Kladde")
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("chart:worklist")).content.decode()
    assert 'data-testid="worklist-row"' in page
    assert 'data-testid="unsigned-notes">1<' in page


def test_the_work_list_shows_what_a_ward_round_needs(cast, client):
    from journal import services as journal_services
    from journal.models import NoteType
    from patients.access import access_decide

    def grant(user, patient):
        return access_decide(user=user, patient=patient, data_kind="journal")

    nurse = grant(cast.nurse, cast.patient)
    journal_services.vital_signs_record(
        access=nurse, care_course=cast.course, respiration_rate=22, spo2=94, on_oxygen=False,
        systolic=105, diastolic=60, pulse=112, consciousness="A", temperature="38.4",
    )  # fmt: skip
    junior = grant(cast.junior_doctor, cast.patient)
    note = journal_services.note_create(
        access=junior, note_type=NoteType.CONTINUATION, care_course=cast.course, text="Stabil."
    )
    journal_services.note_sign(access=junior, note=note)
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("chart:worklist")).content.decode()
    row = page.split('data-testid="worklist-row"')[1]
    assert 'data-testid="worklist-news2"' in row and "news2-high" in row and "NEWS2 7" in row
    assert 'data-testid="worklist-cosign"' in row
    assert 'data-testid="worklist-cave"' in row and "Penicillin" in row
