"""Reads of patient data. Every function here is called with what the access gate granted."""

import re
from datetime import datetime

from django.contrib.postgres.search import TrigramWordSimilarity
from django.core.exceptions import ValidationError
from django.db.models import F, Q, Subquery
from django.db.models.functions import Greatest
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AccessEvent, LegalBasis
from common.prepared import builder, objects_for
from patients.access import PatientAccess, staff_for
from patients.cpr import format_cpr, looks_like_cpr, parse_cpr
from patients.models import BreakGlass, CareCourse, CaveEntry, Patient, Proxy

SEARCH_LIMIT = 25
_DATE = re.compile(r"^\s*(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})\s*$")


def _parse_date(text: str):
    match = _DATE.match(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day).date()
    except ValueError:
        return None


def object_get_for_patient(
    access: PatientAccess,
    model_or_queryset,
    public_id,
    *,
    department="department_id",
    care_course="care_course_id",
):
    """One object of the granted patient by its public id, or 404; blocked ones are not found.

    The one way a view reaches an object of its patient (`<entity>_get_for_patient` call it);
    `department` and `care_course` name the fields a blocking is checked on (None: neither).
    """
    queryset = (
        model_or_queryset.objects.all()
        if hasattr(model_or_queryset, "objects")
        else model_or_queryset
    )
    queryset = access.unblocked(
        queryset.filter(patient=access.patient), department=department, care_course=care_course
    )
    found = queryset.filter(public_id=public_id).first() if _is_uuid(public_id) else None
    if found is None:
        raise Http404(_("Not found."))
    return found


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def cave_entry_get_for_patient(access: PatientAccess, public_id) -> CaveEntry:
    """One CAVE entry of the patient (CAVE is never blocked: it keeps the patient safe)."""
    return object_get_for_patient(access, CaveEntry, public_id, department=None, care_course=None)


def blocking_get_for_patient(access: PatientAccess, public_id):
    """One blocking of the patient (for the patient and administration)."""
    from patients.models import Blocking

    return object_get_for_patient(access, Blocking, public_id, department=None, care_course=None)


def break_glass_get_for_review(*, reviewer, public_id) -> BreakGlass:
    """A grant in the reviewer's queue, or 404."""
    grant = break_glass_review_queue(reviewer=reviewer, include_reviewed=True).filter(
        public_id=public_id if _is_uuid(public_id) else None
    )
    found = grant.first()
    if found is None:
        raise Http404(_("Not found."))
    return found


def patient_by_cpr(raw: str) -> Patient:
    """The patient with this CPR number (with or without the dash, or a replacement number).

    The one way from a CPR number to a patient: processing of results, DICOM imports, the lab
    queues and the search use it. Raises ValidationError saying why: not a CPR number, or no
    patient with it. It finds the person without deciding access (the gate does that next).
    """
    value = parse_cpr(raw).value
    patient = Patient.objects.filter(cpr=value).first()
    if patient is None:
        raise ValidationError(
            _("No patient with CPR number %(cpr)s.") % {"cpr": format_cpr(value)}, code="unknown"
        )
    return patient


def patients_by_cpr(raws) -> dict[str, Patient]:
    """The known patients among these CPR numbers, in one query: {number as given: patient}.

    For a batch of laboratory messages. A number that is no CPR number, or nobody's, is simply
    absent; `patient_by_cpr` says why for the one that needs a reason.
    """
    values: dict[str, str] = {}
    for raw in raws:
        try:
            values[raw] = parse_cpr(raw).value
        except ValidationError:
            continue
    found = {p.cpr: p for p in Patient.objects.filter(cpr__in=set(values.values()))}
    return {raw: found[value] for raw, value in values.items() if value in found}


def patient_search(*, user, query: str) -> list[Patient]:
    """Search by exact CPR (with or without the dash), by its first six digits or a birth date
    (D.M.YYYY), or by name (trigram, typo tolerant).

    An exact CPR finds the person even without a care relation, because the clinician then
    needs to break the glass; names and dates search only the patients the user may open.
    The view logs what it shows (`patient_search_record`); a selector never logs.
    """
    query = (query or "").strip()
    staff = staff_for(user)
    results: list[Patient] = []
    if query and staff is not None:
        base = Patient.objects.only(
            "id",
            "public_id",
            "cpr",
            "given_names",
            "family_name",
            "birth_date",
            "sex",
            "deceased_date",
            "protected_address",
        )
        if looks_like_cpr(query):
            try:
                results = [patient_by_cpr(query)]
            except ValidationError:  # a malformed or unknown CPR simply finds no one
                results = []
        elif re.fullmatch(r"\d{6}-?", query):
            # The first six digits of a CPR number (DDMMYY): the user's own patients born then.
            results = list(
                base.visible_to(user)
                .filter(cpr__startswith=query[:6])
                .order_by("cpr")[:SEARCH_LIMIT]
            )
        elif (birth_date := _parse_date(query)) is not None:
            results = list(base.visible_to(user).filter(birth_date=birth_date)[:SEARCH_LIMIT])
        elif len(query) >= 2:
            results = list(
                base.visible_to(user)
                .annotate(
                    score=Greatest(
                        TrigramWordSimilarity(query, "family_name"),
                        TrigramWordSimilarity(query, "given_names"),
                    )
                )
                .filter(
                    Q(family_name__trigram_word_similar=query)
                    | Q(given_names__trigram_word_similar=query)
                    | Q(family_name__istartswith=query)
                )
                .order_by(F("score").desc(nulls_last=True), "family_name", "given_names")[
                    :SEARCH_LIMIT
                ]
            )
    return results


@builder
def _cave_query(*, patient: int):
    return CaveEntry.objects.filter(patient_id=patient)


@builder
def _banner_courses_query(*, patient: int):
    """Open courses and the newest twenty, in one query: the banner shows the active one and
    the chart's contacts panel reuses the list."""
    newest = CareCourse.objects.filter(patient_id=patient).order_by("-started_at").values("pk")
    return (
        CareCourse.objects.filter(patient_id=patient)
        .select_related("department__hospital")
        .filter(Q(ended_at__isnull=True) | Q(pk__in=Subquery(newest[:20])))
        .order_by("-started_at")
    )


def patient_banner(access: PatientAccess) -> dict:
    """What the banner on every patient page shows: identity, CAVE, blocked marker, course."""
    patient = access.patient
    # Administration sees who the patient is, not their clinical information.
    clinical = access.legal_basis != LegalBasis.ADMINISTRATION
    # Both queries compiled once (common.prepared): they are on every patient page.
    cave = (
        [
            e
            for e in objects_for(_cave_query, patient=patient.pk)
            if e.status == CaveEntry.Status.ACTIVE
        ]
        if clinical
        else None
    )
    courses = objects_for(_banner_courses_query, patient=patient.pk) if clinical else []
    now = timezone.now()
    active = [
        course
        for course in courses
        if course.is_open
        and course.started_at <= now
        and not access.hides(department_id=course.department_id, care_course_id=course.pk)
    ]
    return {
        "patient": patient,
        "age": patient.age(),
        "cave": cave,
        "active_course": active[0] if active else None,
        "courses": courses,
        "has_blocked": access.has_blocked,
        "legal_basis": access.legal_basis,
        "break_glass": access.break_glass,
    }


def care_course_list_for_patient(access: PatientAccess) -> list[dict]:
    """The patient's courses; blocked ones appear only as 'spærret' with no details."""
    rows = []
    for course in access.patient.care_courses.select_related(
        "department__hospital", "responsible__user"
    ).order_by("-started_at"):
        blocked = access.hides(department_id=course.department_id, care_course_id=course.pk)
        rows.append({"course": None if blocked else course, "blocked": blocked})
    return rows


def cave_list_for_patient(access: PatientAccess) -> list[CaveEntry]:
    """All CAVE entries, including inactive and entered in error (shown struck through)."""
    return list(access.patient.cave_entries.select_related("recorded_by", "error_by__user"))


def access_log_for_patient(access: PatientAccess, *, limit: int = 300) -> list[AccessEvent]:
    """Who has looked at this patient, newest first."""
    return list(
        AccessEvent.objects.filter(patient_id=access.patient.pk).order_by("-occurred_at", "-id")[
            :limit
        ]
    )


def break_glass_review_queue(*, reviewer, include_reviewed: bool = False):
    """Break-the-glass grants for a reviewer; unreviewed first. Only reviewers may call this."""
    grants = BreakGlass.objects.select_related(
        "patient", "user", "department", "reviewed_by"
    ).exclude(user=reviewer)
    if not include_reviewed:
        grants = grants.filter(reviewed_at__isnull=True)
    return grants.order_by("reviewed_at", "-started_at")


def worklist_for_department(*, user, department_id, at=None) -> list[CareCourse]:
    """Open courses of a department whose patients the user may open."""
    at = at or timezone.now()
    return list(
        CareCourse.objects.open()
        .filter(department_id=department_id, patient__in=Patient.objects.visible_to(user, at=at))
        .select_related("patient", "responsible__user")
        .order_by("patient__family_name")
    )


@builder
def _timeline_courses_query(limit, chosen, *, patient: int, before):
    courses = CareCourse.objects.filter(patient_id=patient, started_at__lt=before)
    if chosen:
        courses = courses.filter(department_id__in=chosen)
    return courses.select_related("department").order_by("-started_at")[:limit]


def timeline_courses(access: PatientAccess, *, before, limit, departments) -> list[dict]:
    """Timeline items: the start of each care course (blocked ones as 'spærret')."""
    items = []
    for course in objects_for(
        _timeline_courses_query,
        limit,
        tuple(sorted(set(departments))),
        patient=access.patient.pk,
        before=before,
    ):
        blocked = access.hides(department_id=course.department_id, care_course_id=course.pk)
        items.append(
            {
                "at": course.started_at,
                "kind": "course",
                "title": _("Blocked (spærret)")
                if blocked
                else f"{course.get_kind_display()}: {course.title}",
                "detail": ""
                if blocked
                else (
                    f"{timezone.localtime(course.started_at):%d.%m.%Y}"
                    + (
                        f" – {timezone.localtime(course.ended_at):%d.%m.%Y}"
                        if course.ended_at
                        else ""
                    )
                ),
                "status": "blocked" if blocked else ("open" if course.is_open else "ended"),
                "department_id": course.department_id,
                "department": "" if blocked else course.department.short_name,
                "care_course_id": course.pk,
                "url": "",
            }
        )
    return items


def blocking_may_manage(access: PatientAccess) -> bool:
    """Whether this viewer may create or lift blockings: the patient, or administration.

    A blocking is the patient's right (sundhedsloven § 41): only the patient, or hospital
    administration acting on the patient's written request, sets or lifts one. A clinician
    of the blocked-out side can only break the glass.
    """
    return access.legal_basis in {LegalBasis.SELF, LegalBasis.ADMINISTRATION}


def blocking_list_for_patient(access: PatientAccess) -> list[dict]:
    """The patient's blockings; one that hides data from this viewer shows no title or place.

    A clinician on the blocked-out side learns only that something is blocked, and when.
    """
    rows = []
    blockings = access.patient.blockings.select_related(
        "care_course__department", "department", "created_by", "revoked_by"
    ).order_by("-created_at")
    for blocking in blockings:
        hidden = blocking.revoked_at is None and access.hides(
            department_id=blocking.department_id, care_course_id=blocking.care_course_id
        )
        rows.append({"blocking": blocking, "hidden": hidden})
    return rows


def blocking_targets_for_patient(access: PatientAccess):
    """What may be blocked: the patient's courses and the departments that treated them."""
    from organisation.models import Department

    if not blocking_may_manage(access):
        return CareCourse.objects.none(), Department.objects.none()
    courses = access.patient.care_courses.select_related("department__hospital")
    departments = Department.objects.filter(care_courses__patient=access.patient).distinct()
    return courses, departments


def cave_worklist_markers(courses, department_id) -> dict[int, list[tuple[str, str, str]]]:
    """Work list markers: CAVE, with the first substance, as the banner shows it to everyone who
    may open the patient. One query for the whole list."""
    entries = (
        CaveEntry.objects.filter(
            patient_id__in={c.patient_id for c in courses}, status=CaveEntry.Status.ACTIVE
        )
        .order_by("patient_id", "-severity", "substance")
        .values_list("patient_id", "substance")
    )
    first: dict[int, str] = {}
    for patient_id, substance in entries:
        first.setdefault(patient_id, substance)
    return {
        course.pk: [(f"CAVE: {first[course.patient_id]}"[:40], "worklist-cave", "text-bg-danger")]
        for course in courses
        if course.patient_id in first
    }


def proxies_of(person: Patient) -> dict:
    """Whom the person may act for now (`mine`), and the powers of attorney they have given
    (`given`), newest first."""
    now = timezone.now()
    return {
        "now": now,
        "mine": [
            p for p in Proxy.objects.filter(holder=person).select_related("subject")
            if p.is_valid(now)
        ],
        "given": list(
            Proxy.objects.filter(subject=person, kind=Proxy.Kind.POWER_OF_ATTORNEY)
            .select_related("holder")
            .order_by("-valid_from")
        ),
    }  # fmt: skip


def power_of_attorney_given(person: Patient, public_id) -> Proxy | None:
    """A power of attorney (or other proxy) the person gave, by its public id; None if not."""
    if not _is_uuid(public_id):
        return None
    return Proxy.objects.filter(subject=person, public_id=public_id).first()


def patient_by_public_id(public_id) -> Patient | None:
    """The patient with this public id; None for an unknown or malformed one."""
    return Patient.objects.filter(public_id=public_id).first() if _is_uuid(public_id) else None


def patient_with_cpr(cpr: str) -> Patient | None:
    """The patient with this (valid, normalised) CPR number, if any."""
    return Patient.objects.filter(cpr=cpr).first()
