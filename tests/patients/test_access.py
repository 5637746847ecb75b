"""The access gate: care relation, break the glass, administration, blocking, fail closed."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent, LegalBasis
from patients.models import BreakGlass, Patient
from patients.services import break_glass_create, care_course_create
from tests.conftest import block

REASON = "Patienten er indlagt akut og bevidstløs på min afdeling"


def detail(patient):
    return reverse("patients:detail", kwargs={"patient_id": patient.public_id})


def events_for(patient):
    return AccessEvent.objects.filter(patient_id=patient.pk)


def test_the_treating_doctor_opens_the_patient_and_one_event_is_written(cast, client):
    client.force_login(cast.treating_doctor)
    before = events_for(cast.patient).count()
    response = client.get(detail(cast.patient))
    assert response.status_code == 200
    assert "Penicillin" in response.content.decode()
    events = list(events_for(cast.patient)[: events_for(cast.patient).count() - before])
    assert len(events) == 1
    event = events[0]
    assert (event.user_id, event.legal_basis, event.role, event.department_code) == (
        cast.treating_doctor.pk,
        LegalBasis.TREATMENT,
        "laege",
        "900000000011",
    )
    assert event.request_id == response["X-Request-ID"]


def test_a_doctor_of_another_department_is_refused_and_nothing_is_shown(cast, client):
    client.force_login(cast.other_doctor)
    response = client.get(detail(cast.patient))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Jensen" not in body and "Penicillin" not in body and "070761" not in body
    assert 'data-testid="break-glass-link"' in body
    assert not events_for(cast.patient).exists()


def test_the_patient_cannot_open_staff_pages_of_their_own_record(cast, client):
    client.force_login(cast.patient_user)
    assert client.get(detail(cast.patient)).status_code == 403


def test_administration_sees_the_access_log_but_not_clinical_pages(cast, client):
    client.force_login(cast.administrator)
    assert client.get(detail(cast.patient)).status_code == 403
    url = reverse("patients:access_log", kwargs={"patient_id": cast.patient.public_id})
    response = client.get(url)
    assert response.status_code == 200
    assert "Penicillin" not in response.content.decode()
    assert events_for(cast.patient).get().legal_basis == LegalBasis.ADMINISTRATION


def test_the_care_relation_lasts_the_grace_period_after_the_course_ends(cast, client, settings):
    settings.SUNDHED_CARE_RELATION_GRACE_DAYS = 30
    cast.course.started_at = timezone.now() - timedelta(days=60)
    cast.course.ended_at = timezone.now() - timedelta(days=29)
    cast.course.save()
    client.force_login(cast.nurse)
    assert client.get(detail(cast.patient)).status_code == 200
    cast.course.ended_at = timezone.now() - timedelta(days=31)
    cast.course.save()
    assert client.get(detail(cast.patient)).status_code == 403


def test_break_the_glass_without_a_reason_of_words_is_refused(cast, client):
    client.force_login(cast.other_doctor)
    url = reverse("patients:break_glass", kwargs={"patient_id": cast.patient.public_id})
    for reason in ["", "asdf", "xxxxxxxxxxxxxxxxxxxxxxxxx", "fordi fordi fordi fordi"]:
        response = client.post(url, {"reason": reason})
        assert response.status_code == 400, reason
        assert 'name="reason"' in response.content.decode()
    assert not BreakGlass.objects.exists()


def test_break_the_glass_opens_the_record_flagged_and_expires(cast, client, settings):
    settings.SUNDHED_BREAK_THE_GLASS_HOURS = 4
    client.force_login(cast.other_doctor)
    url = reverse("patients:break_glass", kwargs={"patient_id": cast.patient.public_id})
    response = client.post(url, {"reason": REASON})
    assert response.status_code == 302
    grant = BreakGlass.objects.get()
    assert grant.expires_at - grant.started_at == timedelta(hours=4)
    response = client.get(detail(cast.patient))
    assert response.status_code == 200
    view = events_for(cast.patient).filter(data_kind="summary").get()
    assert view.legal_basis == LegalBasis.BREAK_GLASS and view.flagged and view.reason == REASON

    BreakGlass.objects.filter(pk=grant.pk).update(
        started_at=timezone.now() - timedelta(hours=5),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert client.get(detail(cast.patient)).status_code == 403


def test_a_broken_glass_appears_in_the_review_queue_of_a_reviewer(cast, client):
    grant = break_glass_create(user=cast.nurse, patient=cast.stranger, reason=REASON)
    client.force_login(cast.other_doctor)  # a reviewer
    response = client.get(reverse("patients:review_queue"))
    assert response.status_code == 200
    assert REASON in response.content.decode()
    response = client.post(
        reverse("patients:review_queue"), {"grant": grant.public_id, "note": "I orden"}
    )
    grant.refresh_from_db()
    assert grant.reviewed_by == cast.other_doctor and grant.review_note == "I orden"
    client.force_login(cast.treating_doctor)  # not a reviewer
    assert client.get(reverse("patients:review_queue")).status_code == 403


def test_blocked_courses_stay_hidden_until_the_glass_is_broken(cast, client):
    other_course = care_course_create(
        patient=cast.patient,
        department=cast.orthopaedics,
        kind="outpatient",
        title="Hemmeligt knæforløb",
        started_at=timezone.now() - timedelta(days=1),
    )
    block(cast, care_course=other_course)

    client.force_login(cast.treating_doctor)
    body = client.get(detail(cast.patient)).content.decode()
    assert "Hemmeligt knæforløb" not in body
    assert 'data-testid="blocked-course"' in body and 'data-testid="blocked-marker"' in body

    break_glass_create(user=cast.treating_doctor, patient=cast.patient, reason=REASON)
    body = client.get(detail(cast.patient)).content.decode()
    assert "Hemmeligt knæforløb" in body
    # Staff of the blocked department itself still see their own course.
    client.force_login(cast.other_doctor)
    assert "Hemmeligt knæforløb" in client.get(detail(cast.patient)).content.decode()


def test_the_access_log_is_append_only_in_the_database(cast, client):
    client.force_login(cast.treating_doctor)
    client.get(detail(cast.patient))
    event = events_for(cast.patient).get()
    for statement in [
        "UPDATE audit_accessevent SET reason = 'changed' WHERE id = %s",
        "DELETE FROM audit_accessevent WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert events_for(cast.patient).get().reason == ""


def test_no_event_means_no_data(cast, client):
    """Fail closed: when the database refuses the event, the page shows nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'audit store down'; END $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_accessevent "
            "FOR EACH ROW EXECUTE FUNCTION refuse_audit();"
        )
    client.force_login(cast.treating_doctor)
    response = client.get(detail(cast.patient))
    assert response.status_code == 503
    assert "Penicillin" not in response.content.decode()


def test_search_by_cpr_finds_anyone_but_names_only_own_patients(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("patients:search")

    def found(query):
        response = client.get(url, {"q": query}, headers={"HX-Request": "true"})
        return response.content.decode().count('data-testid="search-result"'), response

    count, response = found("150280-8059")
    assert count == 1 and "Holm" in response.content.decode()
    assert found("Holm")[0] == 0
    count, response = found("Jensn")  # a typo still finds her
    assert count == 1 and "Karen" in response.content.decode()
    assert found("7.7.1961")[0] == 1
    searches = AccessEvent.objects.filter(data_kind="search")
    assert searches.count() == 4
    assert set(searches.values_list("patient_id", flat=True)) == {
        cast.patient.pk,
        cast.stranger.pk,
        None,
    }


def test_lists_are_scoped_by_one_queryset_method(cast):
    assert list(Patient.objects.visible_to(cast.treating_doctor)) == [cast.patient]
    assert list(Patient.objects.visible_to(cast.other_doctor)) == []
    assert list(Patient.objects.visible_to(cast.administrator)) == []
    assert list(Patient.objects.visible_to(cast.patient_user)) == [cast.patient]


def test_the_patient_page_needs_few_queries(cast, client, django_assert_max_num_queries):
    client.force_login(cast.treating_doctor)
    with django_assert_max_num_queries(25):
        assert client.get(detail(cast.patient)).status_code == 200


def test_the_start_page_lists_the_departments_patients_and_logs_the_list(
    cast, client, django_assert_max_num_queries
):
    client.force_login(cast.treating_doctor)
    # A fixed number however long the list: the work list's markers cost one query a source
    # (NEWS2 and co-signatures, results, CAVE, FMK not updated), the co-sign count, the count
    # of patients' messages waiting for an answer, and the day's appointments.
    with django_assert_max_num_queries(19):
        body = client.get("/").content.decode()
    assert body.count('data-testid="worklist-row"') == 1 and "Karen Jensen" in body
    listed = AccessEvent.objects.get(data_kind="worklist")
    assert listed.patient_id == cast.patient.pk
    client.force_login(cast.other_doctor)
    assert "Karen Jensen" not in client.get("/").content.decode()


def test_the_api_goes_through_the_same_gate_and_logs_once(cast, client):
    url = reverse("patients_api:detail", kwargs={"patient_id": cast.patient.public_id})
    assert client.get(url).status_code in (401, 403)
    client.force_login(cast.other_doctor)
    refused = client.get(url)
    assert refused.status_code == 403 and "detail" in refused.json()
    client.force_login(cast.treating_doctor)
    response = client.get(url)
    assert response.status_code == 200
    assert response.json()["cave"][0]["substance"] == "Penicillin"
    assert events_for(cast.patient).get().data_kind == "summary"
    missing = client.get(
        reverse(
            "patients_api:cave",
            kwargs={"patient_id": cast.stranger.pk and "00000000-0000-0000-0000-000000000000"},
        )
    )
    assert missing.status_code == 404 and "detail" in missing.json()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("20 30 40 50", "+4520304050"),
        ("+45 20304050", "+4520304050"),
        ("0046701234567", "+46701234567"),
        ("", ""),
    ],
)
def test_phone_numbers_are_stored_in_e164_with_danish_default(raw, e164):
    from patients.services import phone_normalise

    assert phone_normalise(raw) == e164


def test_an_invalid_phone_number_names_the_field():
    from django.core.exceptions import ValidationError

    from patients.services import phone_normalise

    with pytest.raises(ValidationError) as error:
        phone_normalise("123")
    assert "phone" in error.value.message_dict


def test_search_by_the_first_six_digits_finds_own_patients_born_that_day(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("patients:search")

    def found(query):
        response = client.get(url, {"q": query}, headers={"HX-Request": "true"})
        return response.content.decode().count('data-testid="search-result"')

    assert found("070761") == 1  # Karen Jensen, the doctor's patient
    assert found("070761-") == 1
    assert found("0707614048") == 1 and found("070761-4048") == 1
    assert found("150280") == 0  # Lars Holm is nobody's patient here: the full number finds him
