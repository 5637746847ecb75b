"""What clinicians post to the journal goes through forms: a title or reason longer than the
journal keeps is refused with the field named, never cut; a malformed body is no 500."""

from django.urls import reverse

from journal import services
from journal.models import Note, NoteStatus
from tests.journal.test_notes import draft, url  # noqa: F401 - the fixture

__all__ = ["draft"]


def test_a_title_too_long_is_refused_while_typing_and_the_draft_keeps_its_own(cast, client, draft):  # noqa: F811
    client.force_login(cast.treating_doctor)
    answer = client.post(url("note_autosave", draft), {"text": "Ny tekst", "title": "T" * 201})
    assert answer.status_code == 409
    assert "200" in answer.content.decode()
    draft.refresh_from_db()
    assert (draft.title, draft.text) == (
        "Stuegang",
        "Patienten har det bedre.\nFortsat atrieflimren.",
    )
    assert client.post(url("note_autosave", draft), {"title": "T" * 200}).status_code == 200
    draft.refresh_from_db()
    assert draft.title == "T" * 200


def test_a_reason_too_long_is_refused_with_its_field_and_the_note_stays(cast, client, grant, draft):  # noqa: F811
    access = grant(cast.treating_doctor, cast.patient)
    note = services.note_sign(access=access, note=draft)
    client.force_login(cast.treating_doctor)
    page = client.post(
        url("note_mark_error", note), {"reason": "r" * 1001}, follow=True, HTTP_ACCEPT_LANGUAGE="da"
    ).content.decode()
    assert "Begrundelse: " in page  # the field, named in Danish
    note.refresh_from_db()
    assert note.status == NoteStatus.SIGNED
    client.post(url("note_mark_error", note), {"reason": "r" * 1000})
    note.refresh_from_db()
    assert note.status == NoteStatus.ENTERED_IN_ERROR and note.error_reason == "r" * 1000


def test_an_epikrise_for_a_course_that_is_no_id_is_a_404_not_a_500(cast, client):
    client.force_login(cast.treating_doctor)
    new = reverse("journal:epikrise_new", kwargs={"patient_id": cast.patient.public_id})
    assert client.post(new, {"care_course": "nonsense"}).status_code == 404
    assert client.post(new, {}).status_code == 404
    assert not Note.objects.filter(patient=cast.patient).exists()
