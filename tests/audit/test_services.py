"""The access log's writes: one event is one INSERT with every field as given; a list's events
are one statement per 2,000, all or none."""

import pytest
from django.db import DataError

from audit.models import AccessEvent
from audit.services import (
    INSERT_BATCH,
    Actor,
    access_event_record,
    access_events_record_each,
    access_events_record_many,
)
from common.context import request_id_var

pytestmark = pytest.mark.django_db

ACTOR = Actor(
    user_id=None, display="Tove Hjertelæge", role="laege", department_code="1301011",
    department_name="Kardiologisk afdeling",
)  # fmt: skip


def test_one_event_is_written_as_given(cast):
    token = request_id_var.set("req-1")
    try:
        event = access_event_record(
            actor=ACTOR, patient_id=cast.patient.pk, data_kind="journal", action="view",
            legal_basis="treatment", object_type="journal.note", object_id="abc", reason="",
            path="/chart/x/", flagged=True,
        )  # fmt: skip
    finally:
        request_id_var.reset(token)
    stored = AccessEvent.objects.get(pk=event.pk)
    assert not event._state.adding
    assert (stored.user_display, stored.role, stored.department_code) == (
        "Tove Hjertelæge", "laege", "1301011",
    )  # fmt: skip
    assert (stored.patient_id, stored.data_kind, stored.object_id, stored.path) == (
        cast.patient.pk, "journal", "abc", "/chart/x/",
    )  # fmt: skip
    assert stored.flagged and stored.request_id == "req-1"
    assert stored.occurred_at == event.occurred_at


def test_a_long_list_is_written_in_batches_each_event_with_its_id(cast):
    patients = [cast.patient.pk, cast.stranger.pk] * (INSERT_BATCH // 2 + 250)
    events = access_events_record_many(
        actor=ACTOR, patient_ids=patients, data_kind="worklist", action="list",
        legal_basis="treatment",
    )  # fmt: skip
    assert len(events) == len(patients) > INSERT_BATCH
    stored = dict(AccessEvent.objects.filter(data_kind="worklist").values_list("pk", "patient_id"))
    assert [stored[e.pk] for e in events] == patients


def test_a_list_whose_last_batch_fails_writes_nothing(cast):
    events = [(ACTOR, cast.patient.pk, str(i)) for i in range(INSERT_BATCH + 10)]
    events[-1] = (ACTOR, cast.patient.pk, "bad\x00id")  # PostgreSQL refuses a NUL byte
    with pytest.raises((DataError, ValueError)):
        access_events_record_each(
            events=events, data_kind="lab_results", action="create", legal_basis="system"
        )
    assert not AccessEvent.objects.filter(data_kind="lab_results").exists()
