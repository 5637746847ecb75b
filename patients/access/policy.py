"""The gate's policy: who may see which patient's data, and what stays hidden (spærret).

A decision is one of: care relation (treatment), an active break-the-glass grant (værdispring),
administration (only for administrative kinds of data and the roles that have it), the patient
themself (portal), or refusal. Deciding writes nothing; `patients.access.events` writes the
event and `patients.access.http` adapts both to views.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Subquery, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import DataKind, LegalBasis
from audit.services import Actor
from common.prepared import builder, objects_for
from organisation.models import (
    ADMINISTRATION_ROLES,
    CLINICAL_ROLES,
    Role,
    StaffMember,
)
from organisation.services import staff_member_departments_today
from patients.models import Blocking, BreakGlass, CareCourse, Patient

# Kinds of data that hospital administration may open without a care relation.
ADMINISTRATIVE_KINDS = frozenset({DataKind.DEMOGRAPHICS, DataKind.ACCESS_LOG, DataKind.BLOCKING})
# Roles allowed to break the glass: those who take clinical decisions on their own authority.
BREAK_GLASS_ROLES = frozenset({Role.LAEGE, Role.SYGEPLEJERSKE, Role.BIOANALYTIKER})

STAFF = "staff"
PATIENT = "patient"


class AccessRefused(Exception):
    """The gate said no. `can_break_glass` tells the page whether to offer værdispring."""

    def __init__(self, message, *, patient=None, can_break_glass=False, status=403):
        super().__init__(message)
        self.message = message
        self.patient = patient
        self.can_break_glass = can_break_glass
        self.status = status


# Other apps add sources of care relations (a booking, a referral) in their AppConfig.ready():
# each source takes (department ids, moment) and returns a Q on Patient.
_relation_sources: list[Callable] = []


def relation_source_register(source: Callable) -> Callable:
    """Add a source of care relations; returns it so it can decorate a function."""
    if source not in _relation_sources:
        _relation_sources.append(source)
    return source


def _course_relation(department_ids, at) -> Q:
    courses = CareCourse.objects.giving_relation(at=at).filter(
        patient=OuterRef("pk"), department_id__in=department_ids
    )
    return Q(Exists(courses))


_NOT_FETCHED = object()


def staff_for(user) -> StaffMember | None:
    """The user's staff member row with the active department, or None (patients, systems).

    Fetched once per request object and kept on the user, as `user.staff` would.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    cached = getattr(user, "_sundhed_staff", _NOT_FETCHED)
    if cached is not _NOT_FETCHED:
        return cast("StaffMember | None", cached)
    if user.pk is None:
        return None
    # Compiled once (common.prepared): on every staff request, building it cost 2.5 ms.
    found = objects_for(_staff_query, user=user.pk)
    staff = found[0] if found else None
    user._sundhed_staff = staff
    return staff


@builder
def _staff_query(*, user: int):
    from allauth.mfa.models import Authenticator

    # Whether a second factor is set up rides along: the gate asks on every request.
    return (
        StaffMember.objects.select_related("active_department__hospital")
        .annotate(
            has_second_factor=Exists(Authenticator.objects.filter(user_id=OuterRef("user_id")))
        )
        .filter(user_id=user)
        .order_by("pk")[:1]
    )


def staff_department_ids(staff: StaffMember, *, at=None) -> list[int]:
    """Departments the staff member works in on the given day."""
    day = timezone.localdate(at) if at else timezone.localdate()
    return [d.pk for d in staff_member_departments_today(staff, day=day)]


def care_relation_filter(staff: StaffMember, *, at) -> Q:
    """A Q on Patient: those the staff member has a care relation with at `at`."""
    department_ids = staff_department_ids(staff, at=at)
    relation = _course_relation(department_ids, at)
    for source in _relation_sources:
        relation |= source(department_ids, at)
    return relation


def visible_patient_filter(user, *, at) -> Q:
    """A Q on Patient: those whose record the user may open now. Used by `visible_to`."""
    staff = staff_for(user)
    if staff is not None:
        if staff.role not in CLINICAL_ROLES:
            return Q(pk__in=[])
        glass = BreakGlass.objects.active(at=at).filter(user=user, patient=OuterRef("pk"))
        return care_relation_filter(staff, at=at) | Q(Exists(glass))
    if getattr(user, "is_authenticated", False):
        return Q(user=user)
    return Q(pk__in=[])


def actor_for(user, staff: StaffMember | None = None) -> Actor:
    """The actor as the access log records it: role and department copied at this moment."""
    if staff is None:
        staff = staff_for(user)
    department = staff.active_department if staff else None
    return Actor(
        user_id=user.pk,
        display=(user.get_full_name() or user.get_username()),
        role=staff.role if staff else ("patient" if _is_patient(user) else ""),
        department_code=department.sor_code if department else "",
        department_name=str(department.name) if department else "",
    )


def _is_patient(user) -> bool:
    return Patient.objects.filter(user=user).exists() if user.pk else False


@dataclass
class PatientAccess:
    """What the gate granted: the patient, on which basis, and what stays hidden (spærret)."""

    patient: Patient
    user: Any
    staff: StaffMember | None
    legal_basis: str
    data_kind: str
    actor: Actor
    break_glass: BreakGlass | None = None
    blocked_course_ids: frozenset = field(default_factory=frozenset)
    blocked_department_ids: frozenset = field(default_factory=frozenset)
    # Set by a view that shows one object, so the event names it.
    object_type: str = ""
    object_id: str = ""
    recorded: bool = False

    def hides(self, *, department_id=None, care_course_id=None) -> bool:
        """Whether an item from this department or course is blocked for this viewer."""
        return (care_course_id is not None and care_course_id in self.blocked_course_ids) or (
            department_id is not None and department_id in self.blocked_department_ids
        )

    @property
    def blocked_ids(self) -> tuple[tuple, tuple]:
        """The blocked department ids and course ids, sorted: the shape of a query compiled
        once (common.prepared), where they are part of the SQL."""
        return tuple(sorted(self.blocked_department_ids)), tuple(sorted(self.blocked_course_ids))

    @property
    def has_blocked(self) -> bool:
        """Whether anything of the patient is hidden from this viewer."""
        return bool(self.blocked_course_ids or self.blocked_department_ids)

    def unblocked(self, queryset, *, department="department_id", care_course="care_course_id"):
        """The queryset without the rows this viewer may not see (blocked course or department)."""
        return without_blocked(
            queryset,
            department_ids=self.blocked_department_ids,
            course_ids=self.blocked_course_ids,
            department=department,
            care_course=care_course,
        )

    def disclose(self, obj) -> None:
        """Name the object this response shows, for the access event."""
        self.object_type = obj._meta.label_lower
        self.object_id = str(getattr(obj, "public_id", obj.pk))


def without_blocked(
    queryset,
    *,
    department_ids,
    course_ids,
    department="department_id",
    care_course="care_course_id",
):
    """`queryset` without the rows of blocked departments and courses (`PatientAccess.unblocked`,
    and the queries built once per shape in `common.prepared`, which know only the ids)."""
    if department_ids and department:
        queryset = queryset.exclude(**{f"{department}__in": sorted(department_ids)})
    if course_ids and care_course:
        queryset = queryset.exclude(**{f"{care_course}__in": sorted(course_ids)})
    return queryset


def _blocked_for(patient: Patient, staff: StaffMember | None, *, at) -> tuple[frozenset, frozenset]:
    """Blocked courses and departments, except those of the viewer's own departments."""
    blockings = list(
        Blocking.objects.filter(patient=patient, revoked_at__isnull=True).select_related(
            "care_course"
        )
    )
    if not blockings:
        return frozenset(), frozenset()
    own = set(staff_department_ids(staff, at=at)) if staff else set()
    courses, departments = set(), set()
    for blocking in blockings:
        course = blocking.care_course
        if course is not None and course.department_id not in own:
            courses.add(course.pk)
        if blocking.department_id and blocking.department_id not in own:
            departments.add(blocking.department_id)
    return frozenset(courses), frozenset(departments)


def proxy_valid(*, user, patient: Patient, at=None) -> bool:
    """Whether the user (as a patient of ours) holds a valid proxy for this patient: a parent
    of a child under 15, or a power of attorney not withdrawn and not expired."""
    from patients.models import Proxy

    at = at or timezone.now()
    candidates = Proxy.objects.filter(
        subject=patient, holder__user=user, withdrawn_at__isnull=True, valid_from__lte=at
    ).select_related("subject")
    return any(proxy.is_valid(at) for proxy in candidates)


def access_decide(*, user, patient: Patient, data_kind: str, audience: str = STAFF, at=None):
    """Decide, without writing anything; return a PatientAccess or raise AccessRefused."""
    at = at or timezone.now()

    def grant(staff, legal_basis, **extra) -> PatientAccess:
        return PatientAccess(
            patient=patient,
            user=user,
            staff=staff,
            legal_basis=legal_basis,
            data_kind=data_kind,
            actor=actor_for(user, staff),
            **extra,
        )

    if not getattr(user, "is_authenticated", False):
        raise AccessRefused(_("Sign in to see this."), patient=patient, status=401)
    if audience == PATIENT:
        if patient.user_id == user.pk:
            return grant(None, LegalBasis.SELF)
        if proxy_valid(user=user, patient=patient, at=at):
            return grant(None, LegalBasis.PROXY)
        raise AccessRefused(_("This is not your record."), patient=patient)

    staff = staff_for(user)
    if staff is None:
        raise AccessRefused(_("Only hospital staff may open patient records."), patient=patient)
    if staff.role in ADMINISTRATION_ROLES:
        if data_kind in ADMINISTRATIVE_KINDS:
            return grant(staff, LegalBasis.ADMINISTRATION)
        raise AccessRefused(_("Administration may not open clinical information."), patient=patient)
    if staff.role not in CLINICAL_ROLES:
        raise AccessRefused(_("Your role gives no access to patient records."), patient=patient)

    # One query answers: an active glass? a care relation? anything blocked?
    found = (
        Patient.objects.filter(pk=patient.pk)
        .annotate(
            glass_id=Subquery(
                BreakGlass.objects.active(at=at)
                .filter(user=user, patient=OuterRef("pk"))
                .order_by("-expires_at")
                .values("pk")[:1]
            ),
            related=Case(
                When(care_relation_filter(staff, at=at), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            has_blockings=Exists(
                Blocking.objects.filter(patient=OuterRef("pk"), revoked_at__isnull=True)
            ),
        )
        .values("glass_id", "related", "has_blockings")
        .first()
    )
    # A broken glass shows the whole record, blocked items included, relation or not.
    if found and found["glass_id"]:
        return grant(
            staff,
            LegalBasis.BREAK_GLASS,
            break_glass=BreakGlass.objects.get(pk=found["glass_id"]),
        )
    if found and found["related"]:
        # A care relation shows what the patient has not blocked from this department.
        courses, departments = (
            _blocked_for(patient, staff, at=at)
            if found["has_blockings"]
            else (frozenset(), frozenset())
        )
        return grant(
            staff,
            LegalBasis.TREATMENT,
            blocked_course_ids=courses,
            blocked_department_ids=departments,
        )
    raise AccessRefused(
        _("You have no care relation with this patient."),
        patient=patient,
        can_break_glass=staff.role in BREAK_GLASS_ROLES,
    )
