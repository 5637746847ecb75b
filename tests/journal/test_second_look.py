"""Holes found by a second look at the journal (one test each)."""

import pydicom
import pytest
from django.urls import reverse

from audit.models import AccessEvent
from patients.access import access_decide

pytestmark = pytest.mark.django_db
CT = pydicom.__file__.rsplit("/", 1)[0] + "/data/test_files/CT_small.dcm"


def events(cast):
    return AccessEvent.objects.filter(patient_id=cast.patient.pk)


def test_a_draft_autosave_writes_one_event(cast, client):
    from journal import services
    from journal.models import NoteType

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    draft = services.note_create(access=access, note_type=NoteType.CONTINUATION, text="Start")
    client.force_login(cast.treating_doctor)
    before = events(cast).count()
    url = reverse("journal:note_autosave", kwargs={"note_id": draft.public_id})
    assert client.post(url, {"text": "Mere tekst", "title": "Stuegang"}).status_code == 200
    assert events(cast).count() - before == 1
