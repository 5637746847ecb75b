"""Results and notes reach the citizen by the release rules: a result before its time is on no
portal page (the citizen sees that it exists and when it will be shown), at its time it is;
pathology waits 7 days, an inpatient's result the discharge; the rules are kept in admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from journal.models import NoteType
from journal.services import note_correct, note_create, note_draft_save, note_sign
from labresults.models import LabReport, LabResult
from patients.access.policy import access_decide
from portal.models import NoteReleaseRule, ResultReleaseRule
from portal.release import released_report_ids
from tests.portal.conftest import mitid_sign_in
from tests.portal.test_sweep import citizen_routes
from tests.test_access_sweep import build_url

NOW = timezone.now()


def report(cast, *, number, days_ago, section="CH", value="987.65", course=None, flag="H"):
    reported = NOW - timedelta(days=days_ago)
    made = LabReport.objects.create(
        patient=cast.patient, sender="KBA", filler_order_number=number,
        service_name=f"Prøve {number}", status="final",
        observed_at=reported - timedelta(hours=2), reported_at=reported,
        section=section, care_course=course, department=cast.cardiology,
    )  # fmt: skip
    LabResult.objects.create(
        report=made, patient=cast.patient, code="NPU01370", name="Kreatinin", unit="µmol/L",
        value_text=value, value_numeric=Decimal(value), reference_range="60-105", flag=flag,
        status="final", observed_at=made.observed_at,
    )  # fmt: skip
    return made


def citizen_pages(client):
    """Every portal page without a parameter, and the trend of the analysis used here."""
    pages = [
        build_url(route, {}, {}) for route, _n, converters in citizen_routes() if not converters
    ]
    pages.append(reverse("portal:result_trend", kwargs={"code": "NPU01370"}))
    return "\n".join(client.get(url).content.decode() for url in pages)


def outpatient_only(cast):
    """The cast's patient without the open admission (which would hold every result)."""
    cast.course.kind = "outpatient"
    cast.course.save(update_fields=["kind"])


def test_a_result_is_shown_at_its_release_time_and_not_before(cast, client, mitid):
    outpatient_only(cast)
    waiting = report(cast, number="A1", days_ago=1, value="987.65")
    released = report(cast, number="A2", days_ago=4, value="123.4", flag="")
    pathology = report(cast, number="A3", days_ago=4, section="SP", value="555.5")
    mitid_sign_in(client, cast.patient.cpr)
    everything = citizen_pages(client)
    assert "987,65" not in everything and "987.65" not in everything
    assert "555,5" not in everything
    assert "123,4" in everything  # Danish decimal comma
    page = client.get(reverse("portal:results"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert page.count('data-testid="pending-result"') == 2
    shown_from = timezone.localtime(waiting.reported_at + timedelta(days=3)).strftime("%-d.")
    assert "Prøve A1" in page and shown_from in page
    assert "Inden for referenceintervallet" in page
    # At its time, exactly: not a moment before.
    cast.patient.refresh_from_db()
    access = access_decide(
        user=cast.patient.user, patient=cast.patient, data_kind="lab_results", audience="patient"
    )
    due = waiting.reported_at + timedelta(days=3)
    assert waiting.pk not in released_report_ids(access, now=due - timedelta(seconds=1))[0]
    assert waiting.pk in released_report_ids(access, now=due)[0]
    assert (
        pathology.pk
        in released_report_ids(access, now=pathology.reported_at + timedelta(days=7))[0]
    )
    assert released.pk in released_report_ids(access)[0]


def test_the_rules_are_kept_in_admin_and_an_inpatients_results_wait_for_discharge(
    cast, client, mitid
):
    ResultReleaseRule.objects.update_or_create(
        section="CH",
        defaults={"name": "Klinisk biokemi", "delay_days": 0, "inpatient_at_discharge": True},
    )
    # Sampled and reported before the admission began.
    outpatient = report(cast, number="B1", days_ago=3, value="222.2")
    inpatient = report(cast, number="B2", days_ago=10, value="333.3", course=cast.course)
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:results"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "222,2" in page  # 0 days for CH now
    assert "333,3" not in page and "når du bliver udskrevet" in page
    cast.course.ended_at = NOW - timedelta(hours=1)
    cast.course.save(update_fields=["ended_at"])
    page = client.get(reverse("portal:results")).content.decode()
    assert "333,3" in page or "333.3" in page
    assert outpatient.pk and inpatient.pk


def citizen_access(cast, client):
    """Sign the cast's patient in to the portal; the gate's answer for their own results."""
    mitid_sign_in(client, cast.patient.cpr)
    cast.patient.refresh_from_db()
    return access_decide(
        user=cast.patient.user, patient=cast.patient, data_kind="lab_results", audience="patient"
    )


def test_a_result_sampled_during_an_admission_waits_whatever_course_it_names(cast, client, mitid):
    """An outpatient clinic's report, or one that names no course, sampled while the patient is
    admitted, waits for the discharge like the admission's own."""
    from patients.services import care_course_create

    clinic = care_course_create(
        patient=cast.patient, department=cast.cardiology, kind="outpatient", title="Ambulant",
        started_at=NOW - timedelta(days=30),
    )  # fmt: skip
    ResultReleaseRule.objects.update_or_create(
        section="CH", defaults={"name": "Klinisk biokemi", "delay_days": 0}
    )
    named = report(cast, number="D1", days_ago=0, value="444.4", course=clinic)
    unnamed = report(cast, number="D2", days_ago=0, value="666.6")
    before = report(cast, number="D3", days_ago=5, value="777.7", course=clinic)
    access = citizen_access(cast, client)
    shown, waiting = released_report_ids(access)
    assert before.pk in shown
    assert waiting[named.pk] is None and waiting[unnamed.pk] is None
    page = client.get(reverse("portal:results"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "444,4" not in page and "666,6" not in page and "777,7" in page
    assert page.count('data-testid="pending-result"') == 2 and "når du bliver udskrevet" in page
    discharged = NOW - timedelta(minutes=5)
    cast.course.ended_at = discharged
    cast.course.save(update_fields=["ended_at"])
    shown, _waiting = released_report_ids(access)
    assert named.pk in shown and unnamed.pk in shown
    # Never before the discharge, whatever the delay says.
    assert named.pk not in released_report_ids(access, now=discharged - timedelta(seconds=1))[0]


def test_a_final_without_a_report_time_starts_the_clock_when_it_arrives(cast, client, mitid):
    """A preliminary reported long ago, then its final without OBR-22: the final waits its days
    from its arrival, not from the preliminary's age."""
    outpatient_only(cast)
    prelim = report(cast, number="E1", days_ago=10, value="888.8")
    arrived = timezone.now()
    LabReport.objects.filter(pk=prelim.pk).update(
        status="final", reported_at=None, updated_at=arrived
    )
    access = citizen_access(cast, client)
    shown, waiting = released_report_ids(access)
    assert prelim.pk not in shown and waiting[prelim.pk] == arrived + timedelta(days=3)


def test_imaging_by_its_study_and_sections_in_any_case(cast, client, mitid):
    """A report about a DICOM study with no section waits as imaging does (7 days); a rule typed
    in small letters is kept in capitals, and a section sent in small letters meets it."""
    outpatient_only(cast)
    ResultReleaseRule.objects.filter(section="SP").delete()  # the one kept by default
    ResultReleaseRule.objects.create(section="sp ", name="Patologi", delay_days=14)
    assert ResultReleaseRule.objects.get(name="Patologi").section == "SP"
    scan = report(cast, number="F1", days_ago=4, section="", value="1.0")
    LabReport.objects.filter(pk=scan.pk).update(study_uid="1.2.840.113619.2.55.3")
    pathology = report(cast, number="F2", days_ago=10, section="sp", value="2.0")
    chemistry = report(cast, number="F3", days_ago=4, section="ch", value="3.0")
    access = citizen_access(cast, client)
    shown, waiting = released_report_ids(access)
    assert chemistry.pk in shown
    assert waiting[scan.pk] == scan.reported_at + timedelta(days=7)
    assert waiting[pathology.pk] == pathology.reported_at + timedelta(days=14)


@pytest.mark.parametrize("shown", [True, False])
def test_notes_by_their_types_rule_never_a_draft_and_corrected_as_latest(
    cast, client, mitid, shown
):
    NoteReleaseRule.objects.update_or_create(
        note_type=NoteType.NURSING, defaults={"released": shown}
    )
    doctor = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    draft = note_create(
        access=doctor, note_type=NoteType.CONTINUATION, title="Kladde", text="Hemmelig kladde"
    )
    signed = note_create(
        access=doctor, note_type=NoteType.CONTINUATION, title="Stuegang", text="Version ét"
    )
    note_sign(access=doctor, note=signed)
    correction = note_correct(access=doctor, note=signed, reason="Forkert dosis nævnt")
    note_draft_save(access=doctor, note=correction, text="Version to")
    note_sign(access=doctor, note=correction)
    nurse = access_decide(user=cast.nurse, patient=cast.patient, data_kind="journal")
    nursing = note_create(
        access=nurse, note_type=NoteType.NURSING, title="Pleje", text="Sygeplejenotat"
    )
    note_sign(access=nurse, note=nursing)
    mitid_sign_in(client, cast.patient.cpr)
    page = client.get(reverse("portal:notes"), HTTP_ACCEPT_LANGUAGE="da").content.decode()
    assert "Hemmelig kladde" not in page and draft.pk
    assert "Version to" in page and "Version ét" not in page
    assert 'data-testid="note-corrected"' in page
    assert ("Sygeplejenotat" in page) is shown
