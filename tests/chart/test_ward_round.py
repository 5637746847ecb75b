"""What a ward round needs at hand: where each patient lies, the notes to co-sign counted on the
start page, an epikrise one click from the course and the order form open on the results tab."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from patients.models import CareCourse
from patients.services import care_course_create, patient_create


def location_url(cast, course):
    return reverse(
        "patients:course_location",
        kwargs={"patient_id": course.patient.public_id, "course_id": course.public_id},
    )


def test_the_ward_places_a_patient_and_the_work_list_walks_room_by_room(cast, client):
    other = patient_create(cpr="0101701234", given_names="Bo", family_name="Berg")
    second = care_course_create(
        patient=other, department=cast.cardiology, kind=CareCourse.Kind.ADMISSION,
        title="Hjertesvigt", started_at=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    client.force_login(cast.nurse)
    before = AccessEvent.objects.count()
    response = client.post(location_url(cast, cast.course), {"location": "Stue 10,  seng 1"})
    assert response.status_code == 302
    cast.course.refresh_from_db()
    assert cast.course.location == "Stue 10, seng 1"
    assert AccessEvent.objects.count() == before + 1  # the change is on record, once
    client.post(location_url(cast, second), {"location": "Stue 2, seng 2"})
    page = client.get(reverse("chart:worklist")).content.decode()
    # Room 2 before room 10: the round's order, not the alphabet's.
    assert page.index("Stue 2, seng 2") < page.index("Stue 10, seng 1")
    assert page.index("Bo Berg") < page.index("Karen Jensen")
    banner = client.get(
        reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id})
    ).content.decode()
    assert "Stue 10, seng 1" in banner


def test_only_the_courses_own_department_places_the_patient(cast, client):
    from organisation.models import StaffMember
    from organisation.services import membership_add

    # A doctor who works in cardiology too, but with orthopaedics as the active department: the
    # gate lets him see the patient, the service refuses to place her from another department.
    staff = StaffMember.objects.get(user=cast.other_doctor)
    membership_add(staff=staff, department=cast.cardiology)
    staff.active_department = cast.orthopaedics
    staff.save()
    client.force_login(cast.other_doctor)
    response = client.post(location_url(cast, cast.course), {"location": "Stue 1"})
    assert response.status_code == 403
    cast.course.refresh_from_db()
    assert cast.course.location == ""


def test_a_closed_or_other_patients_course_is_not_placed(cast, client):
    client.force_login(cast.nurse)
    ended = care_course_create(
        patient=cast.patient, department=cast.cardiology, kind=CareCourse.Kind.ADMISSION,
        title="Tidligere", started_at=timezone.now() - timedelta(days=30),
        ended_at=timezone.now() - timedelta(days=20),
    )  # fmt: skip
    client.post(location_url(cast, ended), {"location": "Stue 3"})
    ended.refresh_from_db()
    assert ended.location == ""
    # Another patient's course under this patient's URL is not found.
    other = care_course_create(
        patient=cast.stranger, department=cast.cardiology, kind=CareCourse.Kind.ADMISSION,
        title="Andet", started_at=timezone.now(),
    )  # fmt: skip
    url = reverse(
        "patients:course_location",
        kwargs={"patient_id": cast.patient.public_id, "course_id": other.public_id},
    )
    assert client.post(url, {"location": "Stue 4"}).status_code == 404
    other.refresh_from_db()
    assert other.location == ""


def test_the_start_page_counts_the_notes_waiting_for_a_co_signature(cast, client):
    from journal import services
    from journal.models import NoteType
    from patients.access import access_decide

    access = access_decide(user=cast.junior_doctor, patient=cast.patient, data_kind="journal")
    note = services.note_create(
        access=access, note_type=NoteType.CONTINUATION, title="Stuegang", text="Har det bedre.",
        care_course=cast.course,
    )  # fmt: skip
    services.note_sign(access=access, note=note)
    client.force_login(cast.treating_doctor)
    page = client.get(reverse("home")).content.decode()
    card = page.split('data-testid="dashboard-cosign"')[1].split("</a>")[0]
    assert reverse("journal:cosign_queue") in page
    assert '<span class="fs-5">1</span>' in card


def test_the_epikrise_is_one_click_from_the_course_for_a_doctor(cast, client):
    client.force_login(cast.treating_doctor)
    overview = reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id})
    page = client.get(overview).content.decode()
    assert 'id="write-epikrise"' in page
    client.force_login(cast.nurse)
    assert 'id="write-epikrise"' not in client.get(overview).content.decode()


def test_the_order_form_is_open_on_the_results_tab(cast, client):
    client.force_login(cast.treating_doctor)
    page = client.get(
        reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id})
    ).content.decode()
    # Not folded away in a <details> block: the heading and the form are on the page.
    between = page.split('id="orders"')[1].split('id="order-form"')[0]
    assert 'id="order-title"' in between and "<details" not in between
