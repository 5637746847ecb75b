"""The history functions every history row calls: the same answers as pghistory's and
pgtrigger's own, without a subtransaction per row (audit/history.py)."""

import pghistory
import pgtrigger
import pytest
from django.db import connection

from patients.models import Patient
from sundhed.testing.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _source(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [name])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("name", ["_pgh_attach_context", "_pgtrigger_should_ignore"])
def test_the_function_in_the_database_opens_no_subtransaction(name):
    source = _source(name)
    assert "current_setting" in source
    assert "EXCEPTION" not in source.upper()


def test_history_without_a_context_has_none():
    patient = PatientFactory()
    event = Patient.pgh_event_model.objects.get(pgh_obj_id=patient.pk, pgh_label="insert")
    assert event.pgh_context_id is None


@pytest.mark.django_db(transaction=True)
def test_history_inside_a_context_is_tied_to_it_and_the_next_transaction_is_not():
    # Autocommit: the setting pghistory made for the first insert is empty for the second.
    with pghistory.context(url="/test/", request_id="abc123"):
        inside = PatientFactory()
    after = PatientFactory()
    event = Patient.pgh_event_model.objects.get(pgh_obj_id=inside.pk, pgh_label="insert")
    assert event.pgh_context.metadata["request_id"] == "abc123"
    later = Patient.pgh_event_model.objects.get(pgh_obj_id=after.pk, pgh_label="insert")
    assert later.pgh_context_id is None


def test_an_ignored_trigger_is_still_ignored_and_only_while_asked():
    with pgtrigger.ignore("patients.Patient:insert_insert"):
        quiet = PatientFactory()
    loud = PatientFactory()
    events = Patient.pgh_event_model.objects.filter(pgh_label="insert")
    assert not events.filter(pgh_obj_id=quiet.pk).exists()
    assert events.filter(pgh_obj_id=loud.pk).exists()
