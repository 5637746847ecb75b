"""Patients, care courses, CAVE, blocking and break-the-glass grants."""

from datetime import timedelta

import pghistory
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


class Sex(models.TextChoices):
    """Legal sex as registered in CPR."""

    FEMALE = "F", _("Female")
    MALE = "M", _("Male")
    UNKNOWN = "U", _("Unknown")


class PatientQuerySet(models.QuerySet):
    """Row scoping for patient lists: the one place that decides who appears where."""

    def visible_to(self, user, *, at=None):
        """Patients whose record the user may open now (care relation, glass broken, or self)."""
        from patients.access import visible_patient_filter

        return self.filter(visible_patient_filter(user, at=at or timezone.now())).distinct()


@pghistory.track()
class Patient(BaseModel):
    """A person with a record, identified by CPR (or a replacement number)."""

    cpr = models.CharField(_("CPR number"), max_length=10, unique=True)
    is_replacement_cpr = models.BooleanField(_("replacement number"), default=False)
    given_names = models.CharField(_("given names"), max_length=150)
    family_name = models.CharField(_("family name"), max_length=150)
    birth_date = models.DateField(_("birth date"), null=True, blank=True, db_index=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    address_line = models.CharField(_("address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    gp_name = models.CharField(_("own GP"), max_length=200, blank=True)
    gp_sor_code = models.CharField(_("own GP's SOR code"), max_length=20, blank=True)
    deceased_date = models.DateField(_("date of death"), null=True, blank=True)
    # Navne- og adressebeskyttelse: the address is shown only to those who must know it.
    protected_address = models.BooleanField(_("protected name and address"), default=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
        verbose_name=_("portal user"),
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        ordering = ["family_name", "given_names"]
        constraints = [
            models.CheckConstraint(
                condition=Q(cpr__regex=r"^[0-9]{6}[0-9A-Z][0-9]{3}$"),
                name="patients_patient_cpr_normalised",
            ),
        ]
        indexes = [
            GinIndex(
                fields=["family_name"],
                opclasses=["gin_trgm_ops"],
                name="patients_family_name_trgm",
            ),
            GinIndex(
                fields=["given_names"],
                opclasses=["gin_trgm_ops"],
                name="patients_given_names_trgm",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.cpr_formatted})"

    @property
    def full_name(self) -> str:
        """Given names and family name."""
        return f"{self.given_names} {self.family_name}".strip()

    @property
    def cpr_formatted(self) -> str:
        """The CPR number as people read it: DDMMYY-SSSS."""
        return f"{self.cpr[:6]}-{self.cpr[6:]}"

    def age(self, today=None) -> int | None:
        """Age in whole years today (or at death)."""
        if not self.birth_date:
            return None
        end = self.deceased_date or today or timezone.localdate()
        years = end.year - self.birth_date.year
        return years - ((end.month, end.day) < (self.birth_date.month, self.birth_date.day))


class CareCourseQuerySet(models.QuerySet):
    """Queries on care courses."""

    def giving_relation(self, *, at):
        """Courses that give their department a care relation at the moment `at`."""
        grace = timedelta(days=settings.SUNDHED_CARE_RELATION_GRACE_DAYS)
        return self.filter(started_at__lte=at).filter(
            Q(ended_at__isnull=True) | Q(ended_at__gte=at - grace)
        )

    def open(self):
        """Courses not yet ended."""
        return self.filter(ended_at__isnull=True)


@pghistory.track()
class CareCourse(BaseModel):
    """A forløb: an admission or an outpatient course of a patient in one department."""

    class Kind(models.TextChoices):
        ADMISSION = "admission", _("Admission")
        OUTPATIENT = "outpatient", _("Outpatient course")
        EMERGENCY = "emergency", _("Emergency contact")
        REFERRAL = "referral", _("Referral")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="care_courses")
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="care_courses"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)
    responsible = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_courses",
        verbose_name=_("responsible clinician"),
    )
    # Where the patient lies during an admission ("Stue 3, seng 2"), when the ward knows it.
    location = models.CharField(_("room and bed"), max_length=40, blank=True)

    objects = CareCourseQuerySet.as_manager()

    class Meta:
        verbose_name = _("care course")
        verbose_name_plural = _("care courses")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["department", "ended_at"], name="patients_course_dept_end"),
            models.Index(fields=["patient", "-started_at"], name="patients_course_patient"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="patients_course_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.department.short_name})"

    @property
    def is_open(self) -> bool:
        """Whether the course has not ended."""
        return self.ended_at is None


class EnteredInError(models.Model):
    """Who marked a clinical entry as entered in error, when and why (it is never deleted).

    Notes, diagnoses, vital signs and CAVE entries use it, with the constraint below and the
    one service that marks an entry (`patients.services.entry_mark_error`), once.
    """

    error_at = models.DateTimeField(null=True, blank=True)
    error_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    error_reason = models.TextField(_("why entered in error"), blank=True)

    class Meta:
        abstract = True


def entered_in_error_has_who_and_why(name: str) -> models.CheckConstraint:
    """The database's guarantee that an entry marked in error names who, when and why."""
    return models.CheckConstraint(
        condition=~Q(status="entered_in_error")
        | (Q(error_by__isnull=False) & ~Q(error_reason="") & Q(error_at__isnull=False)),
        name=name,
    )


@pghistory.track()
class CaveEntry(EnteredInError, BaseModel):
    """CAVE: an allergy, intolerance or other critical fact shown on every page of the patient."""

    class Kind(models.TextChoices):
        ALLERGY = "allergy", _("Allergy")
        INTOLERANCE = "intolerance", _("Intolerance")
        OTHER = "other", _("Other critical information")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        HIGH = "high", _("High")
        LIFE_THREATENING = "life_threatening", _("Life-threatening")

    class Source(models.TextChoices):
        PATIENT = "patient", _("Stated by the patient")
        CLINICIAN = "clinician", _("Observed by a clinician")
        RECORD = "record", _("From another record")
        FMK = "fmk", _("From FMK")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        INACTIVE = "inactive", _("Inactive")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="cave_entries")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.ALLERGY)
    substance = models.CharField(_("substance"), max_length=200)
    atc_code = models.CharField(_("ATC code"), max_length=7, blank=True)
    reaction = models.CharField(_("reaction"), max_length=300, blank=True)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("CAVE entry")
        verbose_name_plural = _("CAVE entries")
        ordering = ["-severity", "substance"]
        constraints = [
            entered_in_error_has_who_and_why("patients_cave_error_has_who_and_why"),
            models.CheckConstraint(
                condition=Q(atc_code="")
                | Q(atc_code__regex=r"^[A-Z][0-9]{2}[A-Z]{0,2}[0-9]{0,2}$"),
                name="patients_cave_atc_code_form",
            ),
        ]

    def __str__(self) -> str:
        return self.substance


@pghistory.track()
class Blocking(BaseModel):
    """The patient's refusal (spærring): a course or a department hidden from other departments."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="blockings")
    care_course = models.ForeignKey(
        CareCourse, on_delete=models.PROTECT, null=True, blank=True, related_name="blockings"
    )
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_by_patient = models.BooleanField(_("entered by the patient"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("blocking")
        verbose_name_plural = _("blockings")
        constraints = [
            models.CheckConstraint(
                condition=Q(care_course__isnull=False, department__isnull=True)
                | Q(care_course__isnull=True, department__isnull=False),
                name="patients_blocking_one_target",
            ),
        ]

    def __str__(self) -> str:
        return str(self.care_course or self.department)


class BreakGlassQuerySet(models.QuerySet):
    """Queries on break-the-glass grants."""

    def active(self, *, at):
        """Grants that still give access at `at`."""
        return self.filter(started_at__lte=at, expires_at__gt=at)


@pghistory.track()
class BreakGlass(BaseModel):
    """Værdispring: a clinician's time-limited access without a care relation, with a reason."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="break_glasses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"))
    started_at = models.DateTimeField(_("from"))
    expires_at = models.DateTimeField(_("until"))
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_note = models.TextField(_("review note"), blank=True)

    objects = BreakGlassQuerySet.as_manager()

    class Meta:
        verbose_name = _("break-the-glass grant")
        verbose_name_plural = _("break-the-glass grants")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["user", "patient", "expires_at"], name="patients_btg_lookup")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("started_at")), name="patients_btg_period"
            ),
            models.CheckConstraint(
                condition=Q(reviewed_at__isnull=True) | Q(reviewed_by__isnull=False),
                name="patients_btg_review_has_reviewer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.patient_id} {self.started_at:%Y-%m-%d %H:%M}"


class Proxy(BaseModel):
    """Someone who may see a patient's record in the portal on their behalf.

    A parent sees a child's record until the child turns 15 (the parent relation, from the CPR
    register, entered by hospital administration); an adult may give another adult power of
    attorney (fuldmagt) for a set time, at most a year at a time, renewed or withdrawn by the
    one who gave it. Every access by a proxy is logged with the legal basis "proxy" and shown
    to the person it concerns.
    """

    class Kind(models.TextChoices):
        PARENT = "parent", _("Parent (child under 15)")
        POWER_OF_ATTORNEY = "fuldmagt", _("Power of attorney (fuldmagt)")

    subject = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="proxies")
    holder = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="proxy_for")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    valid_from = models.DateTimeField(_("from"))
    valid_until = models.DateTimeField(_("until"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("proxy")
        verbose_name_plural = _("proxies")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(subject=models.F("holder")), name="patients_proxy_not_oneself"
            ),
            models.CheckConstraint(
                condition=Q(kind="parent") | Q(valid_until__isnull=False),
                name="patients_fuldmagt_has_an_end",
            ),
        ]
        indexes = [models.Index(fields=["holder", "subject"], name="patients_proxy_holder")]

    def __str__(self) -> str:
        return f"{self.holder} -> {self.subject} ({self.kind})"

    def is_valid(self, at=None) -> bool:
        at = at or timezone.now()
        if self.withdrawn_at is not None or self.valid_from > at:
            return False
        # A proxy ends with the person's death (the relatives ask the hospital, not the portal).
        if self.subject.deceased_date is not None:
            return False
        if self.valid_until is not None and self.valid_until <= at:
            return False
        if self.kind == self.Kind.PARENT:
            age = self.subject.age(today=timezone.localtime(at).date())
            return age is not None and age < 15
        return True
