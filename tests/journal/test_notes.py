"""Notes: drafts saved as typed, signing, co-signing, corrections with a visible difference,
entered in error, templates and macros, Danish full-text search, and the print view."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AccessEvent, Action
from journal import services
from journal.models import Note, NoteStatus, NoteTemplate, NoteType


def url(name, note):
    return reverse(f"journal:{name}", kwargs={"note_id": note.public_id})


def patient_url(view, patient, **kwargs):
    return reverse(f"journal:{view}", kwargs={"patient_id": patient.public_id, **kwargs})


@pytest.fixture
def draft(cast, grant):
    return services.note_create(
        access=grant(cast.treating_doctor, cast.patient),
        note_type=NoteType.CONTINUATION,
        title="Stuegang",
        care_course=cast.course,
        text="Patienten har det bedre.\nFortsat atrieflimren.",
    )


def test_a_note_starts_from_its_template_with_one_heading_per_section(cast, client):
    template = NoteTemplate.objects.get(name="Indlæggelsesnotat")
    client.force_login(cast.treating_doctor)
    response = client.post(
        patient_url("note_new", cast.patient),
        {
            "note_type": "admission",
            "template": template.public_id,
            "care_course": cast.course.public_id,
        },
    )
    note = Note.objects.get(patient=cast.patient)
    assert response.status_code == 302
    assert response["Location"] == url("note_edit", note)
    assert note.status == NoteStatus.DRAFT
    assert note.text.startswith("Kontaktårsag:\n")
    assert "Objektiv undersøgelse:" in note.text
    assert note.department == cast.cardiology


def test_the_draft_is_saved_as_the_author_types_and_nobody_else_may(cast, client, draft):
    client.force_login(cast.treating_doctor)
    response = client.post(url("note_autosave", draft), {"text": "Ny tekst", "title": "Stuegang"})
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.text == "Ny tekst"
    client.force_login(cast.nurse)
    response = client.post(url("note_autosave", draft), {"text": "Overskrevet"})
    assert response.status_code == 409
    draft.refresh_from_db()
    assert draft.text == "Ny tekst"


def test_another_clinician_does_not_see_a_draft(cast, client, draft):
    client.force_login(cast.nurse)
    assert client.get(url("note", draft)).status_code == 404
    listing = client.get(patient_url("notes", cast.patient)).content.decode()
    assert "Stuegang" not in listing


def test_signing_makes_the_note_visible_and_locks_it(cast, client, draft):
    client.force_login(cast.treating_doctor)
    response = client.post(
        url("note_edit", draft), {"title": "Stuegang", "text": draft.text, "sign": "1"}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == NoteStatus.SIGNED
    assert draft.signed_by == cast.treating_doctor.staff
    client.force_login(cast.nurse)
    assert "Fortsat atrieflimren" in client.get(url("note", draft)).content.decode()
    assert client.post(url("note_autosave", draft), {"text": "x"}).status_code == 409


def test_a_junior_doctors_note_waits_for_a_seniors_cosignature(cast, client, grant):
    note = services.note_create(
        access=grant(cast.junior_doctor, cast.patient),
        note_type=NoteType.ADMISSION,
        title="Indlæggelse",
        text="Indlagt med hjertebanken.",
    )
    note = services.note_sign(access=grant(cast.junior_doctor, cast.patient), note=note)
    assert note.status == NoteStatus.AWAITING_COSIGN
    with pytest.raises(PermissionDenied):
        services.note_cosign(access=grant(cast.nurse, cast.patient), note=note)
    client.force_login(cast.treating_doctor)
    response = client.post(url("note_cosign", note))
    assert response.status_code == 302
    note.refresh_from_db()
    assert (note.status, note.cosigned_by) == (NoteStatus.SIGNED, cast.treating_doctor.staff)


def test_a_correction_is_a_new_version_and_the_old_one_is_kept_with_the_difference(
    cast, client, grant, draft
):
    access = grant(cast.treating_doctor, cast.patient)
    original = services.note_sign(access=access, note=draft)
    client.force_login(cast.treating_doctor)
    response = client.post(url("note_correct", original), {"reason": "Forkert rytme angivet"})
    correction = Note.objects.get(supersedes=original)
    assert response["Location"] == url("note_edit", correction)
    client.post(
        url("note_edit", correction),
        {"title": "Stuegang", "text": "Patienten har det bedre.\nNu sinusrytme.", "sign": "1"},
    )
    original.refresh_from_db()
    correction.refresh_from_db()
    assert (original.status, correction.status) == (NoteStatus.SUPERSEDED, NoteStatus.SIGNED)
    assert (correction.version, correction.lineage) == (2, original.lineage)
    assert original.text.endswith("Fortsat atrieflimren.")
    page = client.get(url("note", correction)).content.decode()
    assert "Forkert rytme angivet" in page
    assert '<span class="diff-removed">- Fortsat atrieflimren.</span>' in page
    assert '<span class="diff-added">+ Nu sinusrytme.</span>' in page
    assert page.count('data-testid="version-row"') == 2


def test_a_correction_needs_a_reason(cast, grant, draft):
    access = grant(cast.treating_doctor, cast.patient)
    services.note_sign(access=access, note=draft)
    with pytest.raises(ValidationError) as error:
        services.note_correct(access=access, note=draft, reason=" ")
    assert "reason" in error.value.message_dict


def test_entered_in_error_keeps_the_note_with_who_and_why(cast, client, grant, draft):
    services.note_sign(access=grant(cast.treating_doctor, cast.patient), note=draft)
    client.force_login(cast.treating_doctor)
    client.post(url("note_mark_error", draft), {"reason": "Skrevet på forkert patient"})
    draft.refresh_from_db()
    assert draft.status == NoteStatus.ENTERED_IN_ERROR
    assert (draft.error_by, draft.error_reason) == (
        cast.treating_doctor.staff,
        "Skrevet på forkert patient",
    )
    page = client.get(url("note", draft)).content.decode()
    assert "Skrevet på forkert patient" in page


def test_every_change_is_in_the_history_and_the_access_log(cast, grant, draft):
    access = grant(cast.treating_doctor, cast.patient)
    services.note_sign(access=access, note=draft)
    history = list(Note.pgh_event_model.objects.filter(pgh_obj_id=draft.pk).order_by("pgh_id"))
    assert [e.status for e in history] == ["draft", "signed"]
    actions = list(
        AccessEvent.objects.filter(patient_id=cast.patient.pk, data_kind="journal")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [Action.CREATE, Action.UPDATE]


def test_macros_insert_current_data_from_the_chart(cast, client, grant):
    client.force_login(cast.treating_doctor)
    response = client.get(patient_url("macro", cast.patient, name="cave"))
    assert response.json()["text"] == "CAVE: Penicillin (Udslæt og åndenød)"
    response = client.get(patient_url("macro", cast.patient, name="vitale"))
    assert (
        "ingen registreret" in response.json()["text"] or "none recorded" in response.json()["text"]
    )
    assert client.get(patient_url("macro", cast.patient, name="nonsense")).status_code == 404
    client.force_login(cast.other_doctor)
    assert client.get(patient_url("macro", cast.patient, name="cave")).status_code == 403


def test_search_finds_inflected_danish_words_and_highlights_them(cast, client, grant):
    access = grant(cast.treating_doctor, cast.patient)
    for title, text in [
        ("Smerter", "Patienten har haft smerterne i tre dage. <b>fed</b>"),
        ("Kontrol", "Ingen klager, velbefindende."),
    ]:
        note = services.note_create(
            access=access, note_type=NoteType.CONTINUATION, title=title, text=text
        )
        services.note_sign(access=access, note=note)
    client.force_login(cast.treating_doctor)
    page = client.get(patient_url("search", cast.patient), {"q": "smerte"}).content.decode()
    assert page.count('data-testid="journal-hit"') == 1
    assert "<mark>smerterne</mark>" in page
    assert "<b>fed</b>" not in page


def test_the_epikrise_gathers_the_course_and_diagnoses_and_prints(cast, client, grant):
    from journal.models import SksCode

    access = grant(cast.treating_doctor, cast.patient)
    services.diagnosis_add(
        access=access, care_course=cast.course, code=SksCode.objects.get(code="DI480"), kind="A"
    )
    client.force_login(cast.treating_doctor)
    response = client.post(
        patient_url("epikrise_new", cast.patient), {"care_course": cast.course.public_id}
    )
    note = Note.objects.get(note_type=NoteType.EPIKRISE)
    assert "DI480 Paroksystisk atrieflimren" in note.text
    assert response["Location"] == url("note_edit", note)
    # The button makes the template's document: medication at discharge, the whole period,
    # and sections that must be filled in before it is signed.
    template = NoteTemplate.objects.get(name="Epikrise")
    by_template = services.note_create(
        access=access, note_type="epikrise", template=template, care_course=cast.course
    )
    assert "Medicin ved udskrivelse:" in note.text and ".med" not in note.text
    for heading in [line for line in by_template.text.splitlines() if line.endswith(":")]:
        assert heading in note.text, heading
    assert "Periode: " in note.text and " – " in note.text.split("Periode: ")[1].splitlines()[0]
    with pytest.raises(ValidationError):
        services.note_sign(access=access, note=note)  # its placeholders are still there
    import re

    services.note_draft_save(
        access=access, note=note, text=re.sub(r"«[^»]*»", "Udfyldt.", note.text)
    )
    note.refresh_from_db()
    services.note_sign(access=access, note=note)
    page = client.get(url("note_print", note)).content.decode()
    assert "0707614048"[:6] + "-" + "4048" in page
    assert "DI480" in page
    event = AccessEvent.objects.filter(patient_id=cast.patient.pk).latest("id")
    assert event.action == Action.PRINT


def test_the_note_list_costs_a_fixed_number_of_queries(
    cast, client, grant, django_assert_max_num_queries
):
    access = grant(cast.treating_doctor, cast.patient)
    for i in range(30):
        note = services.note_create(
            access=access, note_type=NoteType.CONTINUATION, title=f"Notat {i}", text="Tekst"
        )
        services.note_sign(access=access, note=note)
    client.force_login(cast.treating_doctor)
    with django_assert_max_num_queries(18):
        response = client.get(patient_url("notes", cast.patient))
    assert response.content.decode().count('data-testid="note-row"') == 30


def test_an_epikrise_expands_its_macros_and_cannot_be_signed_with_its_hints(cast, grant):
    access = grant(cast.treating_doctor, cast.patient)
    template = NoteTemplate.objects.get(name="Epikrise")
    note = services.note_create(
        access=access, note_type="epikrise", template=template, care_course=cast.course
    )
    assert ".diag" not in note.text and ".med" not in note.text  # expanded when inserted
    assert "Diagnoser:\n" in note.text and "Medicin ved udskrivelse:\n" in note.text
    assert "«Aftaler, kontrol, opgaver til egen læge»" in note.text  # a placeholder
    with pytest.raises(ValidationError, match="Aftaler, kontrol"):
        services.note_sign(access=access, note=note)
    services.note_draft_save(
        access=access, note=note, text=note.text.replace(
            "«Aftaler, kontrol, opgaver til egen læge»", "Kontrol i ambulatoriet om 3 måneder."
        ).replace("«Indlæggelsesforløb, undersøgelser og fund»", "Ukompliceret forløb."),
    )  # fmt: skip
    note.refresh_from_db()
    assert services.note_sign(access=access, note=note).status == NoteStatus.SIGNED


def test_an_epikrise_names_an_empty_required_section_and_signs_without_empty_headings(
    cast, grant, client
):
    """A required section left empty (or deleted) stops signing with its name; an empty section
    that is not required never reaches the signed note, nor the citizen."""
    access = grant(cast.treating_doctor, cast.patient)
    template = NoteTemplate.objects.get(name="Epikrise")
    note = services.note_create(
        access=access, note_type="epikrise", template=template, care_course=cast.course
    )
    filled = note.text.replace(
        "«Aftaler, kontrol, opgaver til egen læge»", "Kontrol hos egen læge."
    )
    for text, named in [
        (filled.replace("«Indlæggelsesforløb, undersøgelser og fund»", ""), "«Forløb»"),
        (filled.replace("Forløb:\n«Indlæggelsesforløb, undersøgelser og fund»", ""), "«Forløb»"),
    ]:
        services.note_draft_save(access=access, note=note, text=text)
        note.refresh_from_db()
        with pytest.raises(ValidationError, match=named):
            services.note_sign(access=access, note=note)
    assert "Behandling:\n\n" in filled  # an optional section, left empty
    services.note_draft_save(access=access, note=note, text=filled.replace(
        "«Indlæggelsesforløb, undersøgelser og fund»", "Ukompliceret forløb."))  # fmt: skip
    note.refresh_from_db()
    signed = services.note_sign(access=access, note=note)
    assert signed.status == NoteStatus.SIGNED
    assert "Behandling:" not in signed.text and "\n\n\n" not in signed.text
    for heading in ("Diagnoser:", "Forløb:", "Medicin ved udskrivelse:", "Opfølgning:"):
        assert heading in signed.text, heading
    assert "Behandling:" not in Note.objects.get(pk=note.pk).text
    # Text written on the heading's own line is the section's text.
    other = services.note_create(
        access=access, note_type="epikrise", template=template, care_course=cast.course
    )
    inline = other.text.replace(
        "«Aftaler, kontrol, opgaver til egen læge»", "Kontrol hos egen læge."
    ).replace("Forløb:\n«Indlæggelsesforløb, undersøgelser og fund»", "Forløb: Ukompliceret.")
    services.note_draft_save(access=access, note=other, text=inline)
    other.refresh_from_db()
    assert "Forløb: Ukompliceret." in services.note_sign(access=access, note=other).text


def test_a_note_with_a_macro_typed_but_not_expanded_is_not_signed(cast, grant):
    access = grant(cast.treating_doctor, cast.patient)
    note = services.note_create(
        access=access, note_type="continuation", care_course=cast.course,
        text="Status: bedre.\n.diag\nPlan: udskrives i morgen (pt.diag er uændret).",
    )  # fmt: skip
    with pytest.raises(ValidationError, match=r"\.diag"):
        services.note_sign(access=access, note=note)


def test_one_choice_starts_a_note_and_suggests_what_the_clinician_writes_now(cast, client):
    nurse_form = client
    nurse_form.force_login(cast.nurse)
    page = nurse_form.get(patient_url("notes", cast.patient))
    chosen = page.context["form"]["template"].value()
    sygepleje = NoteTemplate.objects.get(name="Sygeplejenotat")
    assert chosen == str(sygepleje.public_id)
    client.force_login(cast.treating_doctor)
    page = client.get(patient_url("notes", cast.patient))
    admission = NoteTemplate.objects.get(name="Indlæggelsesnotat")
    assert page.context["form"]["template"].value() == str(admission.public_id)
    response = client.post(
        patient_url("note_new", cast.patient),
        {"template": "type:continuation", "care_course": cast.course.public_id},
    )
    assert response.status_code == 302
    note = Note.objects.get(patient=cast.patient)
    assert (note.note_type, note.template) == ("continuation", None)
