"""The citizen blocks a course from the portal; a doctor of another department then sees only
that something is blocked; the citizen lifts it again."""

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from patients.models import Blocking
from patients.services import care_course_create
from tests.portal.conftest import mitid_sign_in


def test_a_citizen_blocks_a_course_and_another_department_sees_it_blocked(cast, client, mitid):
    care_course_create(
        patient=cast.patient, department=cast.orthopaedics, kind="outpatient",
        title="Knæsmerter", started_at=timezone.now() - timezone.timedelta(days=2),
    )  # fmt: skip
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:blockings"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Atrieflimren" in page and "Knæsmerter" in page  # the citizen's own courses
    # A form error names the field.
    refused = client.post(reverse("portal:blockings"), {"target": "course:nonsense"})
    assert refused.status_code == 400 and "form-error-message" in refused.content.decode()
    client.post(reverse("portal:blockings"), {"target": f"course:{cast.course.public_id}"})
    blocking = Blocking.objects.get(patient=cast.patient)
    assert blocking.requested_by_patient and blocking.care_course == cast.course
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="blocking").latest(
        "id"
    )
    assert event.legal_basis == "self"

    orthopaedist = Client()
    orthopaedist.force_login(cast.other_doctor)
    detail = reverse("patients:detail", kwargs={"patient_id": cast.patient.public_id})
    seen = orthopaedist.get(detail).content.decode()
    assert 'data-testid="blocked-course"' in seen and "Atrieflimren" not in seen
    # The citizen lifts it; the course shows again.
    client.post(reverse("portal:blocking_lift", kwargs={"blocking_id": blocking.public_id}))
    assert Blocking.objects.get(pk=blocking.pk).revoked_at is not None
    assert "Atrieflimren" in orthopaedist.get(detail).content.decode()


def test_a_citizen_cannot_lift_another_citizens_blocking(cast, client, mitid):
    from patients.access.policy import access_decide
    from patients.services import blocking_create

    lars_course = care_course_create(
        patient=cast.stranger, department=cast.cardiology, kind="outpatient", title="Lars",
        started_at=timezone.now() - timezone.timedelta(days=2),
    )  # fmt: skip
    lars = Client()
    mitid_sign_in(lars, cast.stranger.cpr)
    cast.stranger.refresh_from_db()
    access = access_decide(user=cast.stranger.user, patient=cast.stranger, data_kind="blocking",
                           audience="patient")  # fmt: skip
    blocking = blocking_create(access=access, care_course=lars_course)
    mitid_sign_in(client, cast.patient.cpr)
    answer = client.post(
        reverse("portal:blocking_lift", kwargs={"blocking_id": blocking.public_id})
    )
    assert answer.status_code == 404
    assert Blocking.objects.get(pk=blocking.pk).revoked_at is None
