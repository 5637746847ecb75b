"""Every write to the journal: notes and their versions, diagnoses, vital signs.

Each service takes the `PatientAccess` the gate granted, owns its transaction, and writes its
access event inside it; django-pghistory records the row change with the same request context.
"""

import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from journal.models import (
    Diagnosis,
    Note,
    NoteStatus,
    NoteTemplate,
    NoteType,
    SksCode,
    VitalSigns,
)
from journal.news2 import news2
from journal.selectors import templates_for
from organisation.models import Role, StaffMember
from patients.access import PatientAccess, access_change_record
from patients.models import CareCourse
from patients.services import entry_mark_error


def _writer(access: PatientAccess) -> StaffMember:
    """The staff member behind a write; administration and patients do not write the journal."""
    if access.staff is None or not access.staff.is_clinical:
        raise PermissionDenied(_("Only clinical staff write in the journal."))
    return access.staff


# Who records what, as Danish hospitals divide the work: secretaries code diagnoses (from the
# doctor's dictation) but do not measure; nurses measure but do not diagnose.
DIAGNOSIS_ROLES = frozenset({Role.LAEGE, Role.SEKRETAER})
VITALS_ROLES = frozenset({Role.LAEGE, Role.SYGEPLEJERSKE})


def _writer_in(access: PatientAccess, roles) -> StaffMember:
    staff = _writer(access)
    if staff.role not in roles:
        raise PermissionDenied(_("Your role does not record this."))
    return staff


def _course_of_patient(access: PatientAccess, care_course: CareCourse | None):
    if care_course is not None and care_course.patient_id != access.patient.pk:
        raise ValidationError({"care_course": _("The course belongs to another patient.")})
    return care_course


def _department_for(staff: StaffMember, care_course: CareCourse | None):
    department_id = staff.active_department_id or (care_course and care_course.department_id)
    if not department_id:
        raise ValidationError(_("Choose your active department before writing."))
    return department_id


def _macro_text(access: PatientAccess, name: str) -> str | None:
    from patients.registry import text_macros

    macro = text_macros.get(name)
    return macro.expand(access) if macro else None


def unfinished_parts(text: str) -> list[str]:
    """What a note may not be signed with: a template hint left «as it was», or a `.macro`
    typed but never expanded."""
    from patients.registry import text_macros

    found = [f"«{hint}»" for hint in re.findall(r"«([^»\n]*)»", text)]
    names = "|".join(re.escape(m.name) for m in text_macros.all())
    if names:
        found += [f".{m}" for m in re.findall(rf"(?<![\w.]){re.escape('.')}({names})\b", text)]
    return found


def sections_signed(text: str, sections) -> str:
    """The text a note from a template is signed with: a required section (by its heading line,
    "Heading:") that is empty or gone refuses signing, naming it; an empty section that is not
    required is left out, heading and all, so no empty heading reaches a signed note."""
    by_heading = {f"{section.heading.strip()}:": section for section in sections}
    lines = text.split("\n")

    def heading_of(line: str) -> str:
        """The section heading a line starts with ("Forløb:" or "Forløb: Ukompliceret.")."""
        head = line.strip().split(":", 1)[0] + ":"
        return head if ":" in line and head in by_heading else ""

    starts: list[int] = []
    for i, line in enumerate(lines):
        # A macro may repeat its section's heading ("Diagnoser:" under "Diagnoser:"): content.
        head = heading_of(line)
        if head and not (starts and heading_of(lines[starts[-1]]) == head):
            starts.append(i)
    found: set[int] = set()
    empty: list[str] = []
    drop: set[int] = set()
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        section = by_heading[heading_of(lines[start])]
        found.add(section.pk)
        on_its_line = lines[start].split(":", 1)[1]
        if (on_its_line + "\n".join(lines[start + 1 : end])).strip():
            continue
        if section.required:
            empty.append(section.heading)
        else:
            drop.update(range(start, end))
    empty += [s.heading for s in sections if s.required and s.pk not in found]
    if empty:
        raise ValidationError(
            {"text": _("Write the required section %(sections)s before signing.")
             % {"sections": ", ".join(f"«{heading}»" for heading in empty)}}
        )  # fmt: skip
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    return re.sub(r"\n{3,}", "\n\n", kept).strip()


def note_create(
    *,
    access: PatientAccess,
    note_type: str,
    title: str = "",
    care_course: CareCourse | None = None,
    template: NoteTemplate | None = None,
    text: str | None = None,
    written_at=None,
) -> Note:
    """Start a draft note, from a template's sections when one is given."""
    author = _writer(access)
    _course_of_patient(access, care_course)
    if template is not None and template.note_type != note_type:
        note_type = template.note_type
    if text is None:
        text = template.body(expand=lambda name: _macro_text(access, name)) if template else ""
    note = Note(
        patient=access.patient,
        care_course=care_course,
        department_id=_department_for(author, care_course),
        note_type=note_type,
        template=template,
        title=(title or (template.name if template else NoteType(note_type).label))[:200],
        text=text,
        author=author,
        written_at=written_at or timezone.now(),
    )
    with transaction.atomic():
        note.full_clean(exclude=["search_vector"])
        note.save()
        access_change_record(access, data_kind=DataKind.JOURNAL, action=Action.CREATE, obj=note)
    return note


def note_draft_save(*, access: PatientAccess, note: Note, text: str, title: str | None = None):
    """Save the text of a draft as the author types; only the author, only while a draft."""
    author = _writer(access)
    fields = {"text": text, "updated_at": timezone.now()}
    if title is not None and title.strip():
        if len(title.strip()) > 200:
            raise ValidationError({"title": _("At most %(n)s characters.") % {"n": 200}})
        fields["title"] = title.strip()
    with transaction.atomic():
        # The conditional UPDATE is the lock: a note signed in another tab is not overwritten.
        changed = Note.objects.filter(
            pk=note.pk, patient=access.patient, author=author, status=NoteStatus.DRAFT
        ).update(**fields)
        if not changed:
            raise ValidationError(_("This note is no longer a draft you can edit."))
        access_change_record(access, data_kind=DataKind.JOURNAL, action=Action.UPDATE, obj=note)
    note.refresh_from_db()
    return note


def note_sign(*, access: PatientAccess, note: Note) -> Note:
    """Sign a draft. A student's or junior doctor's note then waits for a co-signature.

    A signed correction supersedes the version it corrects, in the same transaction.
    """
    signer = _writer(access)
    with transaction.atomic():
        note = Note.objects.select_for_update().get(pk=note.pk, patient=access.patient)
        if note.status != NoteStatus.DRAFT:
            raise ValidationError(_("Only a draft can be signed."))
        if note.author_id != signer.pk:
            raise PermissionDenied(_("Only the author signs a note."))
        if not note.text.strip():
            raise ValidationError({"text": _("An empty note cannot be signed.")})
        unfinished = unfinished_parts(note.text)
        if unfinished:
            raise ValidationError(
                {
                    "text": _(
                        "The note still contains %(parts)s: write the text or delete the hint, "
                        "and expand or delete the macro, before signing."
                    )
                    % {"parts": ", ".join(unfinished[:5])}
                }
            )
        if note.template is not None:
            note.text = sections_signed(note.text, list(note.template.sections.all()))
        now = timezone.now()
        note.signed_at, note.signed_by = now, signer
        note.cosign_required = signer.requires_cosign
        note.status = NoteStatus.AWAITING_COSIGN if signer.requires_cosign else NoteStatus.SIGNED
        note.save(
            update_fields=[
                "text",
                "signed_at",
                "signed_by",
                "cosign_required",
                "status",
                "updated_at",
            ]
        )
        if note.supersedes_id:
            Note.objects.filter(pk=note.supersedes_id).update(
                status=NoteStatus.SUPERSEDED, updated_at=now
            )
        access_change_record(access, data_kind=DataKind.JOURNAL, action=Action.UPDATE, obj=note)
    return note


def note_cosign(*, access: PatientAccess, note: Note) -> Note:
    """Co-sign a note that awaits it: a doctor who needs no co-signature, not the author."""
    cosigner = _writer(access)
    if cosigner.role != Role.LAEGE or cosigner.requires_cosign:
        raise PermissionDenied(_("Only a doctor with full authorisation may co-sign."))
    with transaction.atomic():
        note = Note.objects.select_for_update().get(pk=note.pk, patient=access.patient)
        if note.status != NoteStatus.AWAITING_COSIGN:
            raise ValidationError(_("This note does not await a co-signature."))
        if note.author_id == cosigner.pk:
            raise PermissionDenied(_("You cannot co-sign your own note."))
        note.status = NoteStatus.SIGNED
        note.cosigned_at, note.cosigned_by = timezone.now(), cosigner
        note.save(update_fields=["status", "cosigned_at", "cosigned_by", "updated_at"])
        access_change_record(access, data_kind=DataKind.JOURNAL, action=Action.UPDATE, obj=note)
    return note


def note_correct(*, access: PatientAccess, note: Note, reason: str) -> Note:
    """Start a correction of a signed note: a new draft version that will supersede it.

    The old version stays as it was until the correction is signed, and is never lost.
    """
    author = _writer(access)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the note is corrected.")})
    with transaction.atomic():
        note = Note.objects.select_for_update().get(pk=note.pk, patient=access.patient)
        if note.status not in (NoteStatus.SIGNED, NoteStatus.AWAITING_COSIGN):
            raise ValidationError(_("Only a signed note can be corrected."))
        pending = Note.objects.filter(supersedes=note).first()
        if pending is not None:
            raise ValidationError(_("A correction of this note is already being written."))
        correction = Note.objects.create(
            patient=note.patient,
            care_course=note.care_course,
            department_id=_department_for(author, note.care_course),
            note_type=note.note_type,
            template=note.template,
            title=note.title,
            text=note.text,
            lineage=note.lineage,
            version=note.version + 1,
            supersedes=note,
            correction_reason=reason,
            author=author,
            written_at=note.written_at,
        )
        access_change_record(
            access, data_kind=DataKind.JOURNAL, action=Action.CREATE, obj=correction, reason=reason
        )
    return correction


def note_mark_error(*, access: PatientAccess, note: Note, reason: str) -> Note:
    """Mark a note as entered in error (wrong patient, wrong time) with who and why.

    Only the current version is marked (not one superseded by a correction); only its author
    discards a draft.
    """
    staff = _writer(access)
    if note.status == NoteStatus.SUPERSEDED:
        raise ValidationError(_("Only the current version can be marked as entered in error."))
    if note.status == NoteStatus.DRAFT and note.author_id != staff.pk:
        raise PermissionDenied(_("Only the author can discard a draft."))
    return entry_mark_error(
        access=access,
        obj=note,
        reason=reason,
        data_kind=DataKind.JOURNAL,
        live=~Q(status=NoteStatus.SUPERSEDED),
    )


def epikrise_create(*, access: PatientAccess, care_course: CareCourse) -> Note:
    """Start a discharge summary that gathers the course and its diagnoses, then free text.
    The author's own draft epikrise of the course is reopened rather than started twice (a
    double click, a second visit)."""
    _course_of_patient(access, care_course)
    if access.staff is not None:
        draft = Note.objects.filter(
            care_course=care_course,
            note_type=NoteType.EPIKRISE,
            status=NoteStatus.DRAFT,
            author=access.staff,
        ).first()
        if draft is not None:
            return draft
    start = timezone.localtime(care_course.started_at)
    end = timezone.localtime(care_course.ended_at) if care_course.ended_at else None
    header = [
        _("Course") + f": {care_course.get_kind_display()}, {care_course.title}",
        _("Department") + f": {care_course.department.name}",
        _("Period") + f": {start:%d.%m.%Y} – " + (f"{end:%d.%m.%Y}" if end else _("ongoing")),
        "",
    ]
    # The department's epikrise template (else the hospital's): the same document as when it
    # is chosen from the templates, its macros (diagnoses, medication at discharge) expanded
    # and its sections to fill in before it can be signed.
    epikriser = [
        t for t in templates_for(care_course.department_id) if t.note_type == NoteType.EPIKRISE
    ]
    template = min(epikriser, key=lambda t: (t.department_id is None, t.name), default=None)
    if template is not None:
        body = template.body(expand=lambda name: _macro_text(access, name))
    else:
        diagnoses = (
            Diagnosis.objects.filter(care_course=care_course, status=Diagnosis.Status.ACTIVE)
            .select_related("code")
            .order_by("kind", "recorded_at")
        )
        body = "\n".join([
            _("Diagnoses") + ":",
            *[f"{d.get_kind_display()}: {d.code.code} {d.code.text}" for d in diagnoses],
            "", _("Course of admission") + ":\n", _("Treatment and results") + ":\n",
            _("Plan and follow-up") + ":\n",
        ])  # fmt: skip
    return note_create(
        access=access,
        note_type=NoteType.EPIKRISE,
        title=_("Discharge summary") + f": {care_course.title}",
        care_course=care_course,
        template=template,
        text="\n".join(header) + "\n" + body,
    )


def diagnosis_add(
    *,
    access: PatientAccess,
    care_course: CareCourse,
    code: SksCode,
    kind: str,
    note: str = "",
) -> Diagnosis:
    """Code a diagnosis on a course. A new action diagnosis turns the old one into a secondary."""
    staff = _writer_in(access, DIAGNOSIS_ROLES)
    _course_of_patient(access, care_course)
    if not code.is_active:
        raise ValidationError({"code": _("This SKS code is no longer in use.")})
    with transaction.atomic():
        if kind == Diagnosis.Kind.ACTION:
            for previous in Diagnosis.objects.select_for_update().filter(
                care_course=care_course, kind=Diagnosis.Kind.ACTION, status=Diagnosis.Status.ACTIVE
            ):
                previous.kind = Diagnosis.Kind.SECONDARY
                previous.save(update_fields=["kind", "updated_at"])
        diagnosis = Diagnosis.objects.create(
            patient=access.patient,
            care_course=care_course,
            code=code,
            kind=kind,
            note=note,
            recorded_at=timezone.now(),
            recorded_by=staff,
        )
        access_change_record(
            access, data_kind=DataKind.DIAGNOSES, action=Action.CREATE, obj=diagnosis
        )
    return diagnosis


def diagnosis_resolve(*, access: PatientAccess, diagnosis: Diagnosis) -> Diagnosis:
    """Mark an active diagnosis as resolved (no longer an active problem)."""
    _writer(access)
    with transaction.atomic():
        changed = Diagnosis.objects.filter(
            pk=diagnosis.pk, patient=access.patient, status=Diagnosis.Status.ACTIVE
        ).update(status=Diagnosis.Status.RESOLVED, resolved_at=timezone.now())
        if not changed:
            raise ValidationError(_("Only an active diagnosis can be resolved."))
        access_change_record(
            access, data_kind=DataKind.DIAGNOSES, action=Action.UPDATE, obj=diagnosis
        )
    diagnosis.refresh_from_db()
    return diagnosis


def diagnosis_mark_error(*, access: PatientAccess, diagnosis: Diagnosis, reason: str):
    """Mark a diagnosis as entered in error with who and why."""
    _writer(access)
    return entry_mark_error(
        access=access,
        obj=diagnosis,
        reason=reason,
        data_kind=DataKind.DIAGNOSES,
        live=Q(status__in=[Diagnosis.Status.ACTIVE, Diagnosis.Status.RESOLVED]),
    )


VITAL_PARAMETERS = (
    "respiration_rate",
    "spo2",
    "systolic",
    "diastolic",
    "pulse",
    "consciousness",
    "temperature",
)


def vital_signs_record(
    *,
    access: PatientAccess,
    care_course: CareCourse | None = None,
    measured_at=None,
    **values,
) -> VitalSigns:
    """Record a set of vital signs; the early-warning score is computed here, never typed."""
    staff = _writer_in(access, VITALS_ROLES)
    _course_of_patient(access, care_course)
    # A partial set is allowed; NEWS2 is then "incomplete", never computed from guesses.
    score = news2(
        respiration_rate=values.get("respiration_rate"),
        spo2=values.get("spo2"),
        on_oxygen=values.get("on_oxygen", False),
        systolic=values.get("systolic"),
        pulse=values.get("pulse"),
        consciousness=values.get("consciousness") or None,
        temperature=values.get("temperature"),
    )
    values["consciousness"] = values.get("consciousness") or ""
    measured = [name for name in VITAL_PARAMETERS if values.get(name) not in (None, "")]
    if not measured:
        raise ValidationError(_("Enter at least one measured value."))
    if (values.get("systolic") is None) != (values.get("diastolic") is None):
        raise ValidationError(
            {"systolic": _("The blood pressure needs both the systolic and diastolic value.")}
        )
    vitals = VitalSigns(
        patient=access.patient,
        care_course=care_course,
        department_id=_department_for(staff, care_course),
        measured_at=measured_at or timezone.now(),
        recorded_by=staff,
        score=score.total,
        risk=score.risk,
        is_complete=not score.missing,
        **values,
    )
    with transaction.atomic():
        vitals.full_clean()
        vitals.save()
        access_change_record(access, data_kind=DataKind.VITALS, action=Action.CREATE, obj=vitals)
    return vitals


def vital_signs_mark_error(*, access: PatientAccess, vitals: VitalSigns, reason: str):
    """Mark a set of vital signs as entered in error with who and why."""
    _writer(access)
    return entry_mark_error(
        access=access,
        obj=vitals,
        reason=reason,
        data_kind=DataKind.VITALS,
        live=Q(status=VitalSigns.Status.VALID),
    )
