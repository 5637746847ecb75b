"""Every write to patients, care courses, CAVE, blockings and break-the-glass grants."""

import functools
import re
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import Action, DataKind, LegalBasis
from patients.access import (
    BREAK_GLASS_ROLES,
    PatientAccess,
    access_change_record,
    access_decide,
    staff_for,
)
from patients.cpr import parse_cpr
from patients.models import Blocking, BreakGlass, CareCourse, CaveEntry, Patient

_WORD = re.compile(r"[^\W\d_]{2,}")


def reason_is_real_words(reason: str) -> bool:
    """A reason of real words: at least three different words and twenty characters."""
    words = {w.lower() for w in _WORD.findall(reason or "")}
    return len(words) >= 3 and len((reason or "").strip()) >= 20


def phone_normalise(raw: str) -> str:
    """A phone number in E.164 (+4512345678); a number without country code is Danish."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(raw, "DK")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            {"phone": _("%(phone)s is not a valid phone number.") % {"phone": raw}}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def patient_create(
    *, cpr: str, given_names: str, family_name: str, created_by=None, **fields
) -> Patient:
    """Register a patient; birth date and sex come from the CPR number where it is one."""
    parsed = parse_cpr(cpr)
    if "phone" in fields:
        fields["phone"] = phone_normalise(fields["phone"])
    patient = Patient(
        cpr=parsed.value,
        is_replacement_cpr=parsed.is_replacement,
        given_names=given_names,
        family_name=family_name,
        birth_date=fields.pop("birth_date", None) or parsed.birth_date,
        sex=fields.pop("sex", None) or parsed.sex,
        **fields,
    )
    patient.full_clean()
    patient.save()
    return patient


def break_glass_create(*, user, patient: Patient, reason: str, at=None) -> BreakGlass:
    """Værdispring: grant time-limited access with a reason, flagged for review.

    The grant and its access event commit together; without a reason of real words, no grant.
    """
    staff = staff_for(user)
    if staff is None or staff.role not in BREAK_GLASS_ROLES:
        raise ValidationError(_("Your role may not break the glass."), code="role")
    if not reason_is_real_words(reason):
        raise ValidationError(
            {
                "reason": _(
                    "Write the reason in words (at least three words), so it can be reviewed."
                )
            }
        )
    at = at or timezone.now()
    with transaction.atomic():
        grant = BreakGlass.objects.create(
            patient=patient,
            user=user,
            department=staff.active_department,
            reason=reason.strip(),
            started_at=at,
            expires_at=at + timedelta(hours=settings.SUNDHED_BREAK_THE_GLASS_HOURS),
        )
        # The new grant is now the basis: the event is flagged for review like every use of it.
        access = access_decide(user=user, patient=patient, data_kind=DataKind.BREAK_GLASS, at=at)
        access_change_record(
            access,
            data_kind=DataKind.BREAK_GLASS,
            action=Action.CREATE,
            obj=grant,
            reason=grant.reason,
        )
    return grant


def break_glass_review(*, grant: BreakGlass, reviewer, note: str = "") -> BreakGlass:
    """Mark a grant as reviewed. Holds a row lock so two reviewers do not overwrite each other."""
    with transaction.atomic():
        grant = BreakGlass.objects.select_for_update().get(pk=grant.pk)
        if grant.reviewed_at:
            raise ValidationError(_("This event has already been reviewed."), code="reviewed")
        if grant.user_id == reviewer.pk:
            raise ValidationError(_("No one reviews their own break-the-glass."), code="self")
        grant.reviewed_at = timezone.now()
        grant.reviewed_by = reviewer
        grant.review_note = note
        grant.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    return grant


def cave_entry_create(*, access: PatientAccess, **fields) -> CaveEntry:
    """Record a CAVE entry for the patient the caller was granted."""
    with transaction.atomic():
        entry = CaveEntry(patient=access.patient, recorded_by=access.user, **fields)
        entry.full_clean()
        entry.save()
        access_change_record(access, data_kind=DataKind.CAVE, action=Action.CREATE, obj=entry)
    return entry


def entry_mark_error(
    *, access: PatientAccess, obj, reason: str, data_kind: str, live: Q | None = None
):
    """Mark a clinical entry (note, diagnosis, vital signs, CAVE) as entered in error, once.

    Who (the clinician), when and why are kept; the row is never deleted. `live` narrows which
    rows may still be marked (a conditional UPDATE is the lock): an entry already marked, or
    outside `live`, is refused with a message. The change and its access event commit together.
    """
    if access.staff is None or not access.staff.is_clinical:
        raise PermissionDenied(_("Only clinical staff mark entries as entered in error."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the entry is wrong.")})
    model = type(obj)
    rows = model.objects.filter(pk=obj.pk, patient=access.patient).exclude(
        status="entered_in_error"
    )
    if live is not None:
        rows = rows.filter(live)
    with transaction.atomic():
        changed = rows.update(
            status="entered_in_error",
            error_at=timezone.now(),
            error_by=access.staff,
            error_reason=reason,
            updated_at=timezone.now(),
        )
        if not changed:
            raise ValidationError(
                _("The entry is already marked as entered in error."), code="marked"
            )
        access_change_record(
            access, data_kind=data_kind, action=Action.UPDATE, obj=obj, reason=reason
        )
    obj.refresh_from_db()
    return obj


def cave_entry_mark_error(*, access: PatientAccess, entry: CaveEntry, reason: str) -> CaveEntry:
    """Mark a CAVE entry as entered in error, with who and why; it is never deleted."""
    return entry_mark_error(access=access, obj=entry, reason=reason, data_kind=DataKind.CAVE)


def _blocking_authority_check(access: PatientAccess, *, requested_by_patient: bool) -> None:
    """Only the patient, or administration on the patient's written request, blocks or lifts."""
    if access.legal_basis == LegalBasis.SELF:
        return
    if access.legal_basis != LegalBasis.ADMINISTRATION:
        raise PermissionDenied(
            _("Only the patient, or administration on the patient's request, may do this.")
        )
    if not requested_by_patient:
        raise ValidationError(
            {
                "requested_by_patient": _(
                    "Administration acts only on the patient's written request."
                )
            }
        )


def blocking_create(
    *,
    access: PatientAccess,
    care_course: CareCourse | None = None,
    department=None,
    requested_by_patient: bool = False,
    note: str = "",
) -> Blocking:
    """Block a course or a department's information from other departments (spærring)."""
    _blocking_authority_check(access, requested_by_patient=requested_by_patient)
    if access.legal_basis == LegalBasis.SELF:
        requested_by_patient = True
    if (care_course is None) == (department is None):
        raise ValidationError(_("Block either a care course or a department."), code="target")
    if care_course is not None and care_course.patient_id != access.patient.pk:
        raise ValidationError(_("That course belongs to another patient."), code="course")
    with transaction.atomic():
        blocking = Blocking.objects.create(
            patient=access.patient,
            care_course=care_course,
            department=department,
            requested_by_patient=requested_by_patient,
            created_by=access.user,
            note=note,
        )
        access_change_record(
            access, data_kind=DataKind.BLOCKING, action=Action.CREATE, obj=blocking
        )
    return blocking


def blocking_revoke(
    *, access: PatientAccess, blocking: Blocking, requested_by_patient: bool = False
) -> Blocking:
    """Lift a blocking; the row stays as history."""
    _blocking_authority_check(access, requested_by_patient=requested_by_patient)
    with transaction.atomic():
        blocking = Blocking.objects.select_for_update().get(pk=blocking.pk, patient=access.patient)
        if blocking.revoked_at is None:
            blocking.revoked_at = timezone.now()
            blocking.revoked_by = access.user
            blocking.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
            access_change_record(
                access, data_kind=DataKind.BLOCKING, action=Action.UPDATE, obj=blocking
            )
    return blocking


def care_course_create(
    *,
    patient: Patient,
    department,
    kind: str,
    title: str,
    started_at,
    responsible=None,
    ended_at=None,
) -> CareCourse:
    """Open (or record) a care course; it gives the department a care relation."""
    course = CareCourse(
        patient=patient,
        department=department,
        kind=kind,
        title=title,
        started_at=started_at,
        ended_at=ended_at,
        responsible=responsible,
    )
    course.full_clean()
    course.save()
    if ended_at is None:
        from patients.registry import course_hooks

        for hook in course_hooks.all():
            transaction.on_commit(functools.partial(hook.on_open, course))
    return course


def care_course_set_location(*, access: PatientAccess, course: CareCourse, location: str):
    """Say where an admitted patient lies (room and bed); staff of the course's department do."""
    staff = access.staff
    if staff is None or staff.active_department_id != course.department_id:
        raise PermissionDenied(_("Only the course's own department places the patient."))
    if course.patient_id != access.patient.pk or not course.is_open:
        raise ValidationError(_("Only an open course of this patient has a room and bed."))
    course.location = " ".join((location or "").split())
    with transaction.atomic():
        course.full_clean()
        course.save(update_fields=["location", "updated_at"])
        access_change_record(
            access, data_kind=DataKind.CARE_COURSE, action=Action.UPDATE, obj=course
        )
    return course


def care_course_end(*, course: CareCourse, ended_at=None) -> CareCourse:
    """End a course; the care relation lasts the configured grace period after."""
    with transaction.atomic():
        course = CareCourse.objects.select_for_update().get(pk=course.pk)
        if course.ended_at is None:
            course.ended_at = ended_at or timezone.now()
            course.save(update_fields=["ended_at", "updated_at"])
    return course


# --- proxies (fuldmagt) -------------------------------------------------------------------------
FULDMAGT_DAYS = 365
# From 15 a citizen decides over their own health information, and may let someone see it.
GIVER_AGE = 15
ONLY_THEMSELF = gettext_lazy("Only the person themself gives or withdraws a power of attorney.")


def _own(access: PatientAccess) -> None:
    if access.legal_basis != LegalBasis.SELF:
        raise PermissionDenied(ONLY_THEMSELF)


def proxy_grant(*, access: PatientAccess, holder: Patient, days: int = FULDMAGT_DAYS):
    """The patient gives another adult power of attorney to see their record, for a year (or
    less); a valid one to the same person is renewed instead."""
    from patients.models import Proxy

    _own(access)
    days = max(1, min(days, FULDMAGT_DAYS))
    giver_age = access.patient.age()
    if giver_age is None or giver_age < GIVER_AGE:
        raise ValidationError(
            {
                "cpr": _("You must be %(age)d or older to give power of attorney.")
                % {"age": GIVER_AGE}
            }
        )
    if holder.pk == access.patient.pk:
        raise ValidationError({"cpr": _("You cannot give yourself power of attorney.")})
    age = holder.age()
    if age is None or age < 18:
        raise ValidationError({"cpr": _("Power of attorney can only be given to an adult.")})
    now = timezone.now()
    with transaction.atomic():
        existing = (
            Proxy.objects.select_for_update()
            .filter(
                subject=access.patient,
                holder=holder,
                kind=Proxy.Kind.POWER_OF_ATTORNEY,
                withdrawn_at__isnull=True,
                valid_until__gt=now,
            )  # fmt: skip
            .first()
        )
        if existing is not None:
            existing.valid_until = now + timedelta(days=days)
            existing.save(update_fields=["valid_until", "updated_at"])
            proxy = existing
        else:
            proxy = Proxy.objects.create(
                subject=access.patient, holder=holder, kind=Proxy.Kind.POWER_OF_ATTORNEY,
                valid_from=now, valid_until=now + timedelta(days=days), granted_by=access.user,
            )  # fmt: skip
        access_change_record(access, data_kind=DataKind.PROXY, action=Action.CREATE, obj=proxy)
    return proxy


def proxy_withdraw(*, access: PatientAccess, proxy) -> None:
    """The patient withdraws a power of attorney they gave; the row stays as history."""
    _own(access)
    if proxy.subject_id != access.patient.pk or proxy.kind != proxy.Kind.POWER_OF_ATTORNEY:
        raise PermissionDenied(ONLY_THEMSELF)
    with transaction.atomic():
        if proxy.withdrawn_at is None:
            proxy.withdrawn_at = timezone.now()
            proxy.save(update_fields=["withdrawn_at", "updated_at"])
            access_change_record(access, data_kind=DataKind.PROXY, action=Action.UPDATE, obj=proxy)
