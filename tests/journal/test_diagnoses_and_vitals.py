"""SKS diagnoses per course and vital signs with the early-warning score."""

from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import translation

from journal import selectors, services
from journal.models import Diagnosis, SksCode, VitalSigns


def patient_url(view, patient):
    return reverse(f"journal:{view}", kwargs={"patient_id": patient.public_id})


def test_the_bundled_catalogue_has_at_least_500_codes_with_danish_texts(cast):
    assert SksCode.objects.count() >= 500
    assert SksCode.objects.get(code="DI489").text == "Atrieflimren og atrieflagren, uspecificeret"


@pytest.mark.parametrize(
    "query, expected",
    [("DI48", "DI480"), ("i48", "DI480"), ("atrieflimren", "DI480"), ("lungebetændelse", None)],
)
def test_the_catalogue_is_searched_by_code_prefix_or_words(cast, query, expected):
    codes = [c.code for c in selectors.sks_search(query)]
    if expected:
        assert expected in codes
    else:
        assert all(c.startswith("D") for c in codes)


def test_search_as_you_type_returns_options(cast, client):
    client.force_login(cast.nurse)
    response = client.get(reverse("journal:sks_search"), {"q": "pneumoni"})
    assert response.status_code == 200
    assert "DJ189 Pneumoni, uspecificeret" in response.content.decode()


def test_a_new_action_diagnosis_makes_the_old_one_secondary(cast, client, grant):
    access = grant(cast.treating_doctor, cast.patient)
    services.diagnosis_add(
        access=access, care_course=cast.course, code=SksCode.objects.get(code="DR002"), kind="A"
    )
    client.force_login(cast.treating_doctor)
    response = client.post(
        patient_url("diagnoses", cast.patient),
        {"care_course": cast.course.public_id, "code": "DI480 Paroksystisk", "kind": "A"},
    )
    assert response.status_code == 302, response.context["form"].errors
    kinds = dict(Diagnosis.objects.values_list("code__code", "kind"))
    assert kinds == {"DR002": "B", "DI480": "A"}


def test_the_database_refuses_two_action_diagnoses_on_one_course(cast):
    staff = cast.treating_doctor.staff
    code = SksCode.objects.get(code="DI480")
    fields = {"patient": cast.patient, "care_course": cast.course, "code": code, "kind": "A"}
    from django.utils import timezone

    Diagnosis.objects.create(**fields, recorded_at=timezone.now(), recorded_by=staff)
    with pytest.raises(IntegrityError):
        Diagnosis.objects.create(**fields, recorded_at=timezone.now(), recorded_by=staff)


def test_an_unknown_code_is_named_in_the_form_error(cast, client):
    client.force_login(cast.treating_doctor)
    response = client.post(
        patient_url("diagnoses", cast.patient),
        {"care_course": cast.course.public_id, "code": "DX999", "kind": "B"},
    )
    assert response.status_code == 400
    assert "DX999 er ikke en kode i SKS-kataloget" in response.content.decode() or (
        "DX999 is not a code in the SKS catalogue" in response.content.decode()
    )


def test_a_diagnosis_entered_in_error_keeps_who_and_why(cast, client, grant):
    access = grant(cast.treating_doctor, cast.patient)
    diagnosis = services.diagnosis_add(
        access=access, care_course=cast.course, code=SksCode.objects.get(code="DI10"), kind="B"
    )
    client.force_login(cast.treating_doctor)
    client.post(
        reverse(
            "journal:diagnosis_change",
            kwargs={
                "patient_id": cast.patient.public_id,
                "diagnosis_id": diagnosis.public_id,
                "change": "error",
            },
        ),
        {"reason": "Forkert patient"},
    )
    diagnosis.refresh_from_db()
    assert (diagnosis.status, diagnosis.error_reason) == ("entered_in_error", "Forkert patient")


VITALS = {
    "respiration_rate": "22",
    "spo2": "94",
    "systolic": "105",
    "diastolic": "60",
    "pulse": "112",
    "consciousness": "A",
    "temperature": "38.4",
}


def test_recording_vital_signs_computes_and_shows_the_score(cast, client):
    client.force_login(cast.nurse)
    response = client.post(patient_url("vitals", cast.patient), VITALS)
    assert response.status_code == 302
    vitals = VitalSigns.objects.get(patient=cast.patient)
    # RF 22 → 2, SAT 94 → 1, BT 105 → 1, P 112 → 2, T 38.4 → 1: 7, high.
    assert (vitals.score, vitals.risk) == (7, "high")
    assert vitals.temperature == Decimal("38.4")
    page = client.get(patient_url("vitals", cast.patient)).content.decode()
    assert 'class="badge news2-high" data-testid="news2-score"' in page
    assert 'id="vitals-data"' in page
    # One chart per unit, on a time axis: no series shares an axis with another unit.
    charts = client.get(patient_url("vitals", cast.patient)).context["chart"]["charts"]
    assert [[s["key"] for s in c["series"]] for c in charts] == [
        ["systolic", "diastolic"], ["pulse", "respiration_rate"], ["spo2"], ["temperature"],
        ["score"],
    ]  # fmt: skip
    assert charts[3]["series"][0]["points"][0][1] == 38.4


def test_an_impossible_value_is_refused_with_the_field_named(cast, client):
    client.force_login(cast.nurse)
    response = client.post(
        patient_url("vitals", cast.patient), {**VITALS, "spo2": "140", "diastolic": "120"}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"spo2", "diastolic"}
    assert not VitalSigns.objects.exists()


def test_the_secretary_may_not_record_vital_signs(cast, client):
    client.force_login(cast.secretary)
    response = client.post(patient_url("vitals", cast.patient), VITALS)
    assert response.status_code == 403
    assert not VitalSigns.objects.exists()


def test_a_high_score_is_said_in_words_and_never_green(cast, client):
    client.force_login(cast.nurse)
    response = client.post(patient_url("vitals", cast.patient), VITALS, follow=True)
    page = response.content.decode()
    alert = page.split('class="alert alert-')[1].split('"')[0]
    assert alert.startswith("danger")  # NEWS2 7: emergency response, not a green success
    assert "NEWS2 er 7: høj risiko: akut respons, tilkald lægen straks." in page
    timeline = client.get(
        reverse("chart:timeline", kwargs={"patient_id": cast.patient.public_id})
    ).content.decode()
    badge = timeline.split('data-testid="timeline-risk">')[1].split("<")[0]
    assert badge == "Høj"


def test_diag_lists_only_diagnoses_of_open_courses_and_says_which(cast, grant):
    from datetime import timedelta

    from django.utils import timezone

    from journal.macros import expand_diagnoses
    from patients.models import CareCourse
    from patients.services import care_course_create

    access = grant(cast.treating_doctor, cast.patient)
    old = care_course_create(
        patient=cast.patient, department=cast.cardiology, kind=CareCourse.Kind.ADMISSION,
        title="Pneumoni 2019", started_at=timezone.now() - timedelta(days=2500),
        ended_at=timezone.now() - timedelta(days=2490),
    )  # fmt: skip
    services.diagnosis_add(
        access=access, care_course=old, code=SksCode.objects.get(code="DR002"), kind="A"
    )
    services.diagnosis_add(
        access=access, care_course=cast.course, code=SksCode.objects.get(code="DI480"), kind="A"
    )
    text = expand_diagnoses(access)
    assert "DI480" in text and "DR002" not in text
    assert "KAR" in text  # which course: the department and when it started


@pytest.mark.parametrize("written", ["38,6", "38.6"])
def test_the_temperature_takes_the_danish_decimal_comma(cast, client, written):
    client.force_login(cast.nurse)
    response = client.post(
        patient_url("vitals", cast.patient), {**VITALS, "temperature": written},
        HTTP_ACCEPT_LANGUAGE="da",
    )  # fmt: skip
    assert response.status_code == 302
    assert VitalSigns.objects.get(patient=cast.patient).temperature == Decimal("38.6")


def test_the_timeline_and_vitale_write_the_temperature_the_danish_way(cast, client, grant):
    from journal.macros import expand_vitals

    client.force_login(cast.nurse)
    client.post(patient_url("vitals", cast.patient), VITALS)
    with translation.override("da"):
        assert "T 38,4 °C" in expand_vitals(grant(cast.nurse, cast.patient))
    timeline = client.get(
        reverse("chart:timeline", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert "T 38,4" in timeline and "T 38.4" not in timeline


def test_vital_signs_entered_after_the_round_keep_when_they_were_measured(cast, client):
    from django.utils import timezone

    client.force_login(cast.nurse)
    earlier = timezone.localtime() - timezone.timedelta(hours=2)
    response = client.post(
        patient_url("vitals", cast.patient),
        {**VITALS, "measured_at": earlier.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    measured = timezone.localtime(VitalSigns.objects.get(patient=cast.patient).measured_at)
    assert measured.strftime("%Y-%m-%d %H:%M") == earlier.strftime("%Y-%m-%d %H:%M")
    future = timezone.localtime() + timezone.timedelta(hours=2)
    refused = client.post(
        patient_url("vitals", cast.patient),
        {**VITALS, "measured_at": future.strftime("%Y-%m-%dT%H:%M")},
    )
    assert refused.status_code == 400 and "measured_at" in refused.context["form"].errors


def test_a_partial_set_is_kept_and_its_news2_marked_incomplete_not_guessed(cast, client):
    client.force_login(cast.nurse)
    partial = {"pulse": "118", "systolic": "95", "diastolic": "60", "consciousness": ""}
    response = client.post(
        patient_url("vitals", cast.patient), partial, follow=True, HTTP_ACCEPT_LANGUAGE="da"
    )
    vitals = VitalSigns.objects.get(patient=cast.patient)
    # BT 95 → 2, P 118 → 2: at least 4, and no band can be given without the rest.
    assert (vitals.score, vitals.risk, vitals.is_complete) == (4, "incomplete", False)
    assert (vitals.pulse, vitals.temperature, vitals.consciousness) == (118, None, "")
    page = response.content.decode()
    alert = page.split('class="alert alert-')[1].split("</div>")[0]
    assert alert.startswith("warning")
    assert "NEWS2 mindst 4, ufuldstændig (ikke målt:" in alert and "temperatur" in alert
    badge = page.split('data-testid="news2-score"')[1].split("</span>")[0]
    assert badge.endswith(">≥ 4")
    overview = client.get(
        reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id}),
        HTTP_ACCEPT_LANGUAGE="da",
    ).content.decode()
    assert "NEWS2 ≥ 4" in overview and "news2-incomplete" in overview


def test_what_was_measured_still_raises_the_alarm(cast, client):
    client.force_login(cast.nurse)
    # RF 30 → 3, BT 85 → 3, P 135 → 3, responds to voice → 3: at least 12, without SAT and T.
    red = {"respiration_rate": "30", "systolic": "85", "diastolic": "50", "pulse": "135",
           "consciousness": "V"}  # fmt: skip
    response = client.post(
        patient_url("vitals", cast.patient), red, follow=True, HTTP_ACCEPT_LANGUAGE="da"
    )
    vitals = VitalSigns.objects.get(patient=cast.patient)
    assert (vitals.score, vitals.risk, vitals.is_complete) == (12, "high", False)
    alert = response.content.decode().split('class="alert alert-')[1].split("</div>")[0]
    assert alert.startswith("danger") and "høj risiko" in alert and "mindst 12" in alert
    page = client.get(reverse("chart:worklist"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "NEWS2 ≥ 12" in page and "news2-high" in page


def test_an_empty_set_or_half_a_blood_pressure_is_refused(cast, client):
    client.force_login(cast.nurse)
    # The untouched form: consciousness is "not assessed", not a silently assumed "Alert".
    page = client.get(patient_url("vitals", cast.patient)).content.decode()
    assert 'value="" class="acvpu" id="id_consciousness_0" checked' in page
    empty = client.post(patient_url("vitals", cast.patient), {"consciousness": ""})
    assert empty.status_code == 400 and empty.context["form"].non_field_errors()
    half = client.post(patient_url("vitals", cast.patient), {"systolic": "120"})
    assert half.status_code == 400 and "diastolic" in half.context["form"].errors
    assert not VitalSigns.objects.exists()


def test_news2_is_never_computed_from_a_missing_value():
    from journal.news2 import news2

    score = news2(
        respiration_rate=30, spo2=None, on_oxygen=False, systolic=85, pulse=135,
        consciousness="V", temperature=None,
    )  # fmt: skip
    assert (score.total, score.risk) == (12, "high")  # a lower bound, and already high
    assert score.missing == ("spo2", "temperature")
    calm = news2(
        respiration_rate=16, spo2=None, on_oxygen=False, systolic=130, pulse=70,
        consciousness="A", temperature=None,
    )  # fmt: skip
    assert (calm.total, calm.risk) == (0, "incomplete")  # never "low" on half the facts


def test_the_error_action_is_one_folded_box_per_row_only_when_asked(cast, client):
    client.force_login(cast.nurse)
    for _ in range(3):
        client.post(patient_url("vitals", cast.patient), VITALS)
    page = client.get(patient_url("vitals", cast.patient)).content.decode()
    assert page.count('data-testid="row-action"') == 3
    # The reason boxes sit inside closed <details>: none is shown until the row's link is used.
    assert page.count('name="reason"') == page.count("<details") == 3
    assert "<details open" not in page
