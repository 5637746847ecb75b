"""The medication tab and the overview panel: the page never waits on FMK, a worker reads the
card, and when FMK cannot be reached the last card is shown with its age, in words."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import AccessEvent, DataKind
from medicinkort import selectors
from medicinkort.models import CardRead, CardSnapshot
from patients.access import access_decide
from tests.conftest import force_login_with_second_factor

pytestmark = pytest.mark.django_db(transaction=True)


def finished(read_id: int, timeout: float = 30, worker=None) -> CardRead:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        read = CardRead.objects.get(pk=read_id)
        if read.status not in (CardRead.Status.PENDING, CardRead.Status.READING):
            return read
        time.sleep(0.1)
    log = worker.output()[-3000:] if worker else ""
    raise AssertionError(f"the read {read_id} was still pending after {timeout} s\n{log}")


@pytest.fixture
def doctor_client(client, cast):
    force_login_with_second_factor(client, cast.treating_doctor)
    return client


def tab(cast):
    return reverse("medicinkort:medication", kwargs={"patient_id": cast.patient.public_id})


def test_the_tab_answers_at_once_and_a_worker_reads_the_card(
    cast, fmksim, celery_worker, doctor_client
):
    fmksim.seed(cast.patient.cpr)
    fmksim.mode("up", delay=3.0)  # FMK answers slowly: the page must not wait for it
    response = doctor_client.get(tab(cast))
    assert response.status_code == 200
    assert b'data-testid="fmk-pending"' in response.content
    read = CardRead.objects.get(patient=cast.patient)
    assert read.status in ("pending", "reading") and read.requested_by == cast.treating_doctor

    live = reverse("medicinkort:card_live", kwargs={"patient_id": cast.patient.public_id})
    marker = selectors.card_marker(access_decide(
        user=cast.treating_doctor, patient=cast.patient, data_kind="medication"))  # fmt: skip
    assert marker.endswith(("-pending", "-reading"))
    assert doctor_client.get(live, {"since": marker}).status_code == 204  # nothing new yet
    assert finished(read.pk, worker=celery_worker).status == CardRead.Status.DONE

    fresh = doctor_client.get(live, {"since": marker})
    assert fresh.status_code == 200
    expected = fmksim.card(cast.patient.cpr)
    for line in expected["drug_medications"]:
        assert line["name"].replace('"', "&quot;").encode() in fresh.content
    snapshot = CardSnapshot.objects.get(patient=cast.patient)
    assert snapshot.version == expected["version"]
    assert snapshot.lines.count() == len(expected["drug_medications"])
    # The read of the card was a disclosure by the doctor who asked: one event, with the basis.
    [event] = AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind=DataKind.FMK_CARD)
    assert event.user_id == cast.treating_doctor.pk and event.legal_basis == "treatment"
    assert event.object_id == str(snapshot.public_id)


def test_when_fmk_cannot_be_reached_the_last_card_is_shown_with_its_time_and_version(
    cast, fmksim, celery_worker, doctor_client
):
    fmksim.seed(cast.patient.cpr)
    doctor_client.get(tab(cast))
    finished(CardRead.objects.get(patient=cast.patient).pk)
    snapshot = CardSnapshot.objects.get(patient=cast.patient)

    fmksim.mode("refuse")
    refresh = reverse("medicinkort:card_refresh", kwargs={"patient_id": cast.patient.public_id})
    assert doctor_client.post(refresh).status_code == 302
    read = finished(CardRead.objects.filter(patient=cast.patient).latest("created_at").pk)
    assert read.status == CardRead.Status.UNREACHABLE

    page = doctor_client.get(tab(cast), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    with translation.override("da"):
        local = timezone.localtime(snapshot.fetched_at)
        made = timezone.localtime(snapshot.modified_at or snapshot.fetched_at)
    # The card is named by when FMK made it, not by its 19-digit version.
    assert (
        f"FMK kan ikke nås – viser kortet hentet kl. {local:%H:%M} (kortet fra {made:%d.%m. %H:%M})"
        in page
    )
    assert 'data-testid="fmk-line"' in page  # the card is still there to work from
    # The overview panel says the same, with the card.
    overview = doctor_client.get(
        reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert "FMK kan ikke nås" in overview and 'data-testid="panel-medication-line"' in overview


def test_an_admission_reads_the_card_as_the_responsible_clinician(
    cast, fmksim, celery_worker, settings
):
    from patients.models import CareCourse
    from patients.services import care_course_create

    settings.SUNDHED_FMK_READ_ON_ADMISSION = True
    fmksim.seed(cast.stranger.cpr)
    care_course_create(
        patient=cast.stranger,
        department=cast.cardiology,
        kind=CareCourse.Kind.ADMISSION,
        title="Brystsmerter",
        started_at=timezone.now(),
        responsible=cast.treating_doctor.staff,
    )
    read = CardRead.objects.get(patient=cast.stranger)
    assert read.occasion == CardRead.Occasion.ADMISSION
    assert finished(read.pk).status == CardRead.Status.DONE
    assert (
        AccessEvent.objects.filter(
            patient_id=cast.stranger.pk, data_kind=DataKind.FMK_CARD, user=cast.treating_doctor
        ).count()
        == 1
    )


def test_a_secretary_sees_the_card_but_cannot_read_fmk_and_is_told_why(
    cast, fmksim, celery_worker, client
):
    force_login_with_second_factor(client, cast.secretary)
    client.get(tab(cast))
    read = finished(CardRead.objects.get(patient=cast.patient).pk)
    assert read.status == CardRead.Status.REFUSED
    assert "autoriseret" in read.reason
    page = client.get(tab(cast)).content.decode()
    assert 'data-testid="fmk-refused"' in page


def test_a_recent_read_is_not_repeated_when_the_tab_opens_again(
    cast, fmksim, celery_worker, doctor_client
):
    CardRead.objects.create(
        patient=cast.patient,
        requested_by=cast.treating_doctor,
        occasion=CardRead.Occasion.TAB,
        status=CardRead.Status.DONE,
        finished_at=timezone.now(),
    )
    doctor_client.get(tab(cast))
    assert CardRead.objects.filter(patient=cast.patient).count() == 1
    CardRead.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    doctor_client.get(tab(cast))
    assert CardRead.objects.filter(patient=cast.patient).count() == 2
    finished(CardRead.objects.latest("created_at").pk)  # the worker is done before the flush


def test_a_stranger_without_a_care_relation_gets_no_card_and_no_read(cast, client):
    force_login_with_second_factor(client, cast.other_doctor)
    response = client.get(tab(cast))
    assert response.status_code == 403
    assert not CardRead.objects.exists()
