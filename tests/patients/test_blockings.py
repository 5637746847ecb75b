"""A blocking (spærring) is the patient's: only administration on request sets or lifts it."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from patients.access import access_decide
from patients.models import Blocking
from patients.services import blocking_create, blocking_revoke, care_course_create
from tests.conftest import block


@pytest.fixture
def blocked(cast):
    """A cardiology course (the cast's) blocked from other departments."""
    return block(cast, care_course=cast.course)


def blockings_page(cast):
    return reverse("patients:blockings", kwargs={"patient_id": cast.patient.public_id})


def revoke_url(cast, blocking):
    return reverse(
        "patients:blocking_revoke",
        kwargs={"patient_id": cast.patient.public_id, "blocking_id": blocking.public_id},
    )


def orthopaedic_course(cast):
    return care_course_create(
        patient=cast.patient,
        department=cast.orthopaedics,
        kind="outpatient",
        title="Knæ",
        started_at=timezone.now() - timedelta(days=1),
    )


def test_a_clinician_of_the_blocked_out_side_sees_that_something_is_blocked_not_what(
    cast, client, blocked
):
    orthopaedic_course(cast)
    client.force_login(cast.other_doctor)
    response = client.get(blockings_page(cast))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="blocking-hidden"' in body
    assert "Atrieflimren" not in body and "Kardiologisk" not in body
    # No lift button and no form to add one.
    assert revoke_url(cast, blocked) not in body and 'name="target"' not in body


def test_a_clinician_cannot_lift_a_blocking_not_even_by_posting(cast, client, blocked):
    orthopaedic_course(cast)
    for who in (cast.other_doctor, cast.treating_doctor):
        client.force_login(who)
        response = client.post(revoke_url(cast, blocked), {"requested_by_patient": "on"})
        assert response.status_code == 403
    blocked.refresh_from_db()
    assert blocked.revoked_at is None
    assert not AccessEvent.objects.filter(data_kind="blocking", action="update").exists()


def test_a_clinician_cannot_add_a_blocking(cast, client):
    client.force_login(cast.treating_doctor)
    response = client.post(
        blockings_page(cast),
        {"target": f"course:{cast.course.public_id}", "requested_by_patient": "on"},
    )
    assert response.status_code == 403
    assert not Blocking.objects.exists()


def test_the_services_refuse_a_clinician_whatever_the_caller(cast, blocked):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="blocking")
    with pytest.raises(PermissionDenied):
        blocking_revoke(access=access, blocking=blocked, requested_by_patient=True)
    with pytest.raises(PermissionDenied):
        blocking_create(access=access, department=cast.cardiology, requested_by_patient=True)


def test_administration_blocks_and_lifts_on_the_patients_written_request(cast, client):
    client.force_login(cast.administrator)
    target = f"course:{cast.course.public_id}"
    refused = client.post(blockings_page(cast), {"target": target})
    assert refused.status_code == 400
    assert "skriftlige anmodning" in refused.content.decode()  # the Danish page names why
    assert not Blocking.objects.exists()
    response = client.post(blockings_page(cast), {"target": target, "requested_by_patient": "on"})
    assert response.status_code == 302
    blocking = Blocking.objects.get()
    assert blocking.requested_by_patient and blocking.care_course == cast.course
    client.post(revoke_url(cast, blocking))  # without the request: nothing happens
    blocking.refresh_from_db()
    assert blocking.revoked_at is None
    client.post(revoke_url(cast, blocking), {"requested_by_patient": "on"})
    blocking.refresh_from_db()
    assert blocking.revoked_at is not None and blocking.revoked_by == cast.administrator


def test_breaking_the_glass_is_the_clinicians_way_past_a_blocking(cast, client, blocked):
    from patients.services import break_glass_create

    orthopaedic_course(cast)
    break_glass_create(
        user=cast.other_doctor,
        patient=cast.patient,
        reason="Akut indlagt, skal se kardiologisk forløb for behandling",
    )
    client.force_login(cast.other_doctor)
    body = client.get(reverse("patients:detail", kwargs={"patient_id": cast.patient.public_id}))
    assert "Atrieflimren" in body.content.decode()
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="summary").last()
    assert event.flagged and event.legal_basis == "break_glass"
