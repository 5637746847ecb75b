"""Reads of the journal. Every function takes what the access gate granted (`PatientAccess`).

Blocked courses and departments are left out in SQL (`access.unblocked`), and drafts are shown
only to their author.
"""

import difflib
import re
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    TrigramWordSimilarity,
)
from django.db.models import Count, F, Q, QuerySet
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from common.prepared import builder, objects_for
from common.urls import url_for_each
from journal.models import (
    VISIBLE_STATUSES,
    Diagnosis,
    Note,
    NoteStatus,
    NoteTemplate,
    SksCode,
    VitalSigns,
)
from patients.access import PatientAccess, without_blocked
from patients.selectors import object_get_for_patient

# Control characters no note contains mark the hits, so the text can be escaped around them.
_MARK_START, _MARK_STOP = "\x02", "\x03"
_CODE_LIKE = re.compile(r"D?[A-Z][0-9]{1,4}[A-Z0-9]*")
_WITH_PREFIX = re.compile(r"D[A-Z][0-9]")
NOTE_LIST_FIELDS = (
    "id",
    "public_id",
    "patient_id",
    "care_course_id",
    "department_id",
    "note_type",
    "title",
    "status",
    "version",
    "written_at",
    "signed_at",
    "author_id",
    "cosign_required",
    "lineage",
)


_RELATED = (
    "author__user__first_name",
    "author__user__last_name",
    "author__title",
    "department__short_name",
    "department__name",
)


def _visible_notes(access: PatientAccess):
    """Current notes this viewer may see: shared ones, and their own drafts."""
    return _notes_visible(*access.blocked_ids, **_viewer(access))


def note_list_for_patient(
    access: PatientAccess, *, note_type: str = "", limit: int = 100
) -> list[Note]:
    """The patient's current notes, newest first, with author and department (one query,
    compiled once per shape: common.prepared)."""
    return objects_for(_note_list_query, note_type, limit, *access.blocked_ids, **_viewer(access))


@builder
def _note_list_query(note_type, limit, departments, courses, *, patient: int, staff=None):
    notes = _notes_visible(departments, courses, patient=patient, staff=staff).select_related(
        "author__user", "department"
    )
    if note_type:
        notes = notes.filter(note_type=note_type)
    return notes.order_by("-written_at", "-id").only(*NOTE_LIST_FIELDS, *_RELATED)[:limit]


def note_versions(access: PatientAccess, note: Note) -> list[Note]:
    """Every version of the note (oldest first), drafts of others left out."""
    versions = Note.objects.filter(patient=access.patient, lineage=note.lineage).select_related(
        "author__user", "signed_by__user", "cosigned_by__user", "error_by__user"
    )
    if access.staff is not None:
        versions = versions.exclude(Q(status=NoteStatus.DRAFT) & ~Q(author=access.staff))
    return list(versions.order_by("version"))


@dataclass(frozen=True)
class DiffLine:
    """One line of a difference between two versions: kind is 'same', 'added' or 'removed'."""

    kind: str
    text: str


def note_diff(old: Note, new: Note) -> list[DiffLine]:
    """The difference between two versions, line by line, as the clinician reads it."""
    lines = []
    for line in difflib.ndiff(old.text.splitlines(), new.text.splitlines()):
        tag, text = line[:2], line[2:]
        if tag == "  ":
            lines.append(DiffLine("same", text))
        elif tag == "- ":
            lines.append(DiffLine("removed", text))
        elif tag == "+ ":
            lines.append(DiffLine("added", text))
    if old.title != new.title:
        lines.insert(0, DiffLine("added", f"{_('Title')}: {new.title}"))
        lines.insert(0, DiffLine("removed", f"{_('Title')}: {old.title}"))
    return lines


def note_search_for_patient(access: PatientAccess, query: str, *, limit: int = 50) -> list[Note]:
    """Full-text search in the patient's notes with Danish stemming; each hit has a headline.

    `websearch` syntax: words, "a phrase", -not. The Danish snowball stemmer joins inflections
    (smerte, smerter, smerterne) but not compounds (brystsmerter).
    """
    query = (query or "").strip()
    if not query:
        return []
    search = SearchQuery(query, config="danish", search_type="websearch")
    hits = list(
        _visible_notes(access)
        .filter(search_vector=search)
        .select_related("author__user", "department")
        .annotate(
            rank=SearchRank(F("search_vector"), search),
            headline=SearchHeadline(
                "text",
                search,
                config="danish",
                start_sel=_MARK_START,
                stop_sel=_MARK_STOP,
                max_fragments=3,
                max_words=25,
                min_words=8,
            ),
        )
        .order_by("-rank", "-written_at")[:limit]
    )
    for hit in hits:
        # The note's own text is escaped; only our markers become <mark>.
        hit.headline = mark_safe(  # noqa: S308 - escaped on the line itself
            escape(hit.headline).replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")
        )
    return hits


def templates_for(department_id) -> list[NoteTemplate]:
    """Active templates for a department (and those for every department)."""
    return list(
        NoteTemplate.objects.filter(is_active=True)
        .filter(Q(department__isnull=True) | Q(department_id=department_id))
        .order_by("note_type", "name")
    )


def diagnosis_list_for_patient(
    access: PatientAccess, *, active_only: bool = False, limit: int = 200
) -> list[Diagnosis]:
    """The patient's diagnoses with their codes and courses, action diagnoses first. Active
    means active on a course that is still open: a diagnosis of a course ended years ago is
    history, not an active problem."""
    return objects_for(
        _diagnosis_list_query, active_only, limit, *access.blocked_ids, patient=access.patient.pk
    )


@builder
def _diagnosis_list_query(active_only, limit, departments, courses, *, patient: int):
    diagnoses = without_blocked(
        Diagnosis.objects.filter(patient_id=patient),
        department_ids=departments,
        course_ids=courses,
        department="care_course__department_id",
    ).select_related("code", "care_course__department", "recorded_by__user")
    if active_only:
        diagnoses = diagnoses.filter(
            status=Diagnosis.Status.ACTIVE, care_course__ended_at__isnull=True
        )
    return diagnoses.order_by("-care_course__started_at", "kind", "-recorded_at")[:limit]


def vital_signs_list_for_patient(access: PatientAccess, *, limit: int = 200) -> list[VitalSigns]:
    """The latest sets of vital signs, newest first."""
    return list(
        access.unblocked(VitalSigns.objects.filter(patient=access.patient))
        .select_related("recorded_by__user")
        .order_by("-measured_at", "-id")[:limit]
    )


def vital_signs_latest(access: PatientAccess) -> VitalSigns | None:
    """The newest valid set of vital signs, or None."""
    found = objects_for(_vital_signs_latest_query, *access.blocked_ids, patient=access.patient.pk)
    return found[0] if found else None


@builder
def _vital_signs_latest_query(departments, courses, *, patient: int):
    return without_blocked(
        VitalSigns.objects.filter(patient_id=patient, status=VitalSigns.Status.VALID),
        department_ids=departments,
        course_ids=courses,
    ).order_by("-measured_at", "-id")[:1]


def sks_search(query: str, *, limit: int = 20) -> list[SksCode]:
    """Search the SKS catalogue as the clinician types: a code prefix or words of the text."""
    query = (query or "").strip()
    if len(query) < 2:
        return []
    codes = SksCode.objects.filter(is_active=True)
    compact = query.upper().replace(".", "").replace(" ", "")
    if _CODE_LIKE.fullmatch(compact):
        prefix = compact if _WITH_PREFIX.match(compact) else "D" + compact
        return list(codes.filter(code__startswith=prefix).order_by("code")[:limit])
    return list(
        codes.annotate(similarity=TrigramWordSimilarity(query, "text"))
        .filter(Q(text__icontains=query) | Q(similarity__gte=0.4))
        .order_by("-similarity", "code")[:limit]
    )


def unsigned_note_counts(*, patient_ids, department_id) -> dict[int, int]:
    """Unsigned notes (drafts and awaiting co-signature) per patient in a department."""
    rows = (
        Note.objects.filter(
            patient_id__in=patient_ids,
            department_id=department_id,
            status__in=[NoteStatus.DRAFT, NoteStatus.AWAITING_COSIGN],
        )
        .values("patient_id")
        .annotate(count=Count("id"))
    )
    return {row["patient_id"]: row["count"] for row in rows}


def cosign_queue(*, department_id, limit: int = 200) -> list[Note]:
    """Notes of a department that wait for a co-signature, oldest first."""
    return list(
        Note.objects.filter(department_id=department_id, status=NoteStatus.AWAITING_COSIGN)
        .select_related("patient", "author__user")
        .order_by("signed_at")[:limit]
    )


def cosign_count(*, department_id) -> int:
    """How many notes of a department wait for a co-signature (the start page's count)."""
    return Note.objects.filter(
        department_id=department_id, status=NoteStatus.AWAITING_COSIGN
    ).count()


def _viewer(access: PatientAccess) -> dict:
    """The values of a compiled query (common.prepared) that name the patient and the viewer."""
    values = {"patient": access.patient.pk}
    if access.staff is not None:
        values["staff"] = access.staff.pk
    return values


def _notes_visible(departments, courses, *, patient: int, staff=None) -> QuerySet:
    """The notes a viewer may see, from ids: shared ones, and the viewer's own drafts (for
    `_visible_notes` and the queries compiled once)."""
    own_drafts = Q(status=NoteStatus.DRAFT)
    own_drafts &= Q(author_id=staff) if staff is not None else Q(pk__in=[])
    return without_blocked(
        Note.objects.filter(patient_id=patient).filter(Q(status__in=VISIBLE_STATUSES) | own_drafts),
        department_ids=departments,
        course_ids=courses,
    )


def _timeline_rows(build, access: PatientAccess, before, limit, departments, **values) -> list:
    """One timeline source's rows, by a query compiled once per shape: the page's length, the
    departments chosen (in any order) and what the viewer's blockings hide."""
    shape = (limit, tuple(sorted(set(departments))), *access.blocked_ids)
    return objects_for(build, *shape, before=before, **values)


@builder
def _timeline_notes_query(limit, chosen, departments, courses, *, patient, before, staff=None):
    notes = _notes_visible(departments, courses, patient=patient, staff=staff).filter(
        written_at__lt=before
    )
    if chosen:
        notes = notes.filter(department_id__in=chosen)
    return (
        notes.select_related("author__user", "department")
        .only(*NOTE_LIST_FIELDS, *_RELATED)
        .order_by("-written_at", "-id")[:limit]
    )


def timeline_notes(access, *, before, limit, departments):
    """Timeline items: notes (one query, compiled once per shape)."""
    note_url = url_for_each("journal:note", "note_id")
    notes = _timeline_rows(
        _timeline_notes_query, access, before, limit, departments, **_viewer(access)
    )
    return [
        {
            "at": note.written_at,
            "kind": "note",
            "title": note.title,
            "detail": f"{note.get_note_type_display()} · {note.author.user.get_full_name()}",
            "status": note.status,
            "department_id": note.department_id,
            "department": note.department.short_name,
            "care_course_id": note.care_course_id,
            "url": note_url(note.public_id),
        }
        for note in notes
    ]


@builder
def _timeline_diagnoses_query(limit, chosen, departments, courses, *, patient, before):
    diagnoses = without_blocked(
        Diagnosis.objects.filter(patient_id=patient, recorded_at__lt=before),
        department_ids=departments,
        course_ids=courses,
        department="care_course__department_id",
    )
    if chosen:
        diagnoses = diagnoses.filter(care_course__department_id__in=chosen)
    return diagnoses.select_related("code", "care_course__department").order_by(
        "-recorded_at", "-id"
    )[:limit]


def timeline_diagnoses(access, *, before, limit, departments):
    """Timeline items: diagnoses as they were coded (one query, compiled once per shape)."""
    url = reverse("journal:diagnoses", kwargs={"patient_id": access.patient.public_id})
    diagnoses = _timeline_rows(
        _timeline_diagnoses_query, access, before, limit, departments, patient=access.patient.pk
    )
    return [
        {
            "at": d.recorded_at,
            "kind": "diagnosis",
            "title": f"{d.code.code} {d.code.text}",
            "detail": d.get_kind_display(),
            "status": d.status,
            "department_id": d.care_course.department_id,
            "department": d.care_course.department.short_name,
            "care_course_id": d.care_course_id,
            "url": url,
        }
        for d in diagnoses
    ]


def _vitals_detail(v) -> str:
    """The measured values of a set in one line; what was not measured is left out."""
    parts = [
        f"BT {v.blood_pressure}" if v.systolic is not None else "",
        f"P {v.pulse}" if v.pulse is not None else "",
        f"RF {v.respiration_rate}" if v.respiration_rate is not None else "",
        f"SAT {v.spo2} %" if v.spo2 is not None else "",
        f"T {localize(v.temperature)}" if v.temperature is not None else "",
    ]
    return " · ".join(part for part in parts if part)


@builder
def _timeline_vitals_query(limit, chosen, departments, courses, *, patient, before):
    vitals = without_blocked(
        VitalSigns.objects.filter(patient_id=patient, measured_at__lt=before),
        department_ids=departments,
        course_ids=courses,
    )
    if chosen:
        vitals = vitals.filter(department_id__in=chosen)
    return vitals.select_related("department").order_by("-measured_at", "-id")[:limit]


def timeline_vitals(access, *, before, limit, departments):
    """Timeline items: sets of vital signs with their score (one query, compiled once)."""
    url = reverse("journal:vitals", kwargs={"patient_id": access.patient.public_id})
    vitals = _timeline_rows(
        _timeline_vitals_query, access, before, limit, departments, patient=access.patient.pk
    )
    return [
        {
            "at": v.measured_at,
            "kind": "vitals",
            "title": _("NEWS2 %(score)s") % {"score": v.score_text},
            "detail": _vitals_detail(v),
            "status": v.status,
            "risk": v.risk,
            "risk_label": v.get_risk_display(),
            "department_id": v.department_id,
            "department": v.department.short_name,
            "care_course_id": v.care_course_id,
            "url": url,
        }
        for v in vitals
    ]


def care_courses_for_patient(access: PatientAccess):
    """The patient's courses this viewer may see (a blocked one is left out), newest first."""
    return access.unblocked(
        access.patient.care_courses.select_related("department"), care_course="id"
    ).order_by("-started_at")


def care_course_get_for_patient(access: PatientAccess, public_id):
    """One course of the patient, or 404 (also when blocked for the viewer)."""
    from patients.models import CareCourse

    return object_get_for_patient(
        access, CareCourse, public_id, department="department_id", care_course="id"
    )


def diagnosis_get_for_patient(access: PatientAccess, public_id) -> Diagnosis:
    """One diagnosis of the patient, or 404 (also when its course is blocked for the viewer)."""
    return object_get_for_patient(
        access, Diagnosis, public_id, department="care_course__department_id"
    )


def vital_signs_get_for_patient(access: PatientAccess, public_id) -> VitalSigns:
    """One set of vital signs of the patient, or 404 (also when blocked for the viewer)."""
    return object_get_for_patient(access, VitalSigns, public_id)


def diagnoses_active_for_course(access: PatientAccess, course) -> list[Diagnosis]:
    """The active diagnoses of one course of the patient (for the epikrise's print view)."""
    if course is None or course.patient_id != access.patient.pk:
        return []
    return list(
        course.diagnoses.filter(status=Diagnosis.Status.ACTIVE)
        .select_related("code")
        .order_by("kind", "recorded_at")
    )


def worklist_markers(courses, department_id) -> dict[int, list[tuple[str, str, str]]]:
    """Work list markers: the newest NEWS2 the department recorded, with its band's colour, and
    notes awaiting co-signature. Two queries for the whole list."""
    patient_ids = {c.patient_id for c in courses}
    latest = (
        VitalSigns.objects.filter(
            patient_id__in=patient_ids,
            department_id=department_id,
            status=VitalSigns.Status.VALID,
        )
        .order_by("patient_id", "-measured_at")
        .distinct("patient_id")
        .values_list("patient_id", "score", "risk", "is_complete")
    )
    scores = {pid: (score, risk, complete) for pid, score, risk, complete in latest}
    cosign = dict(
        Note.objects.filter(
            patient_id__in=patient_ids,
            department_id=department_id,
            status=NoteStatus.AWAITING_COSIGN,
        )
        .values("patient_id")
        .annotate(n=Count("id"))
        .values_list("patient_id", "n")
    )
    found: dict[int, list[tuple[str, str, str]]] = {}
    for course in courses:
        markers = []
        if course.patient_id in scores:
            score, risk, complete = scores[course.patient_id]
            text = f"NEWS2 {score}" if complete else f"NEWS2 ≥ {score}"
            markers.append((text, "worklist-news2", f"news2-{risk}"))
        if cosign.get(course.patient_id):
            markers.append(
                (
                    _("%(n)s to co-sign") % {"n": cosign[course.patient_id]},
                    "worklist-cosign",
                    "text-bg-warning",
                )
            )
        if markers:
            found[course.pk] = markers
    return found


def signed_notes_for_patient(access: PatientAccess, *, since=None, limit: int = 200) -> list[Note]:
    """The patient's signed notes (a corrected note as its latest version), newest first, with
    their department and signer, without what is blocked: what a citizen's release rules
    choose from."""
    notes = Note.objects.filter(patient=access.patient, status=NoteStatus.SIGNED)
    if since is not None:
        notes = notes.filter(signed_at__gte=since)
    return list(
        access.unblocked(notes)
        .select_related("department__hospital", "signed_by")
        .order_by("-signed_at")[:limit]
    )
