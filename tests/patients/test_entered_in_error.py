"""One behaviour for every clinical entry: marked in error once, by a clinician, with why."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AccessEvent
from patients.access import access_decide
from patients.services import cave_entry_mark_error


def test_a_cave_entry_is_marked_once_with_the_staff_member_and_the_reason(cast):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="cave")
    entry = cast.patient.cave_entries.get()
    entry = cave_entry_mark_error(access=access, entry=entry, reason="Forkert patient")
    assert entry.status == "entered_in_error"
    assert entry.error_by == cast.treating_doctor.staff and entry.error_reason == "Forkert patient"
    with pytest.raises(ValidationError) as again:
        cave_entry_mark_error(access=access, entry=entry, reason="Igen")
    assert again.value.code == "marked"
    entry.refresh_from_db()
    assert entry.error_reason == "Forkert patient"
    assert AccessEvent.objects.filter(data_kind="cave", action="update").count() == 1


def test_administration_cannot_mark_clinical_entries(cast):
    access = access_decide(user=cast.administrator, patient=cast.patient, data_kind="blocking")
    with pytest.raises(PermissionDenied):
        cave_entry_mark_error(access=access, entry=cast.patient.cave_entries.get(), reason="x")


def test_a_reason_is_needed(cast):
    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="cave")
    with pytest.raises(ValidationError) as error:
        cave_entry_mark_error(access=access, entry=cast.patient.cave_entries.get(), reason=" ")
    assert "reason" in error.value.message_dict
