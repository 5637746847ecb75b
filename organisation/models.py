"""Regions, hospitals, departments (with SOR codes), staff members, roles and memberships."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


class Region(BaseModel):
    """A Danish region (Region Hovedstaden, Region Sjælland, ...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.CharField(_("region code"), max_length=10, unique=True)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Hospital(BaseModel):
    """A hospital, identified nationally by its SOR code."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="hospitals")
    name = models.CharField(_("name"), max_length=150)
    short_name = models.CharField(_("short name"), max_length=20)
    sor_code = models.CharField(_("SOR code"), max_length=20, unique=True)

    class Meta:
        verbose_name = _("hospital")
        verbose_name_plural = _("hospitals")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(BaseModel):
    """A department (afdeling) of a hospital, identified by its SOR code."""

    class Kind(models.TextChoices):
        WARD = "ward", _("Ward")
        OUTPATIENT = "outpatient", _("Outpatient clinic")
        EMERGENCY = "emergency", _("Emergency department")
        LABORATORY = "laboratory", _("Laboratory")
        RADIOLOGY = "radiology", _("Radiology")
        ADMINISTRATION = "administration", _("Administration")

    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(_("name"), max_length=150)
    short_name = models.CharField(_("short name"), max_length=30)
    sor_code = models.CharField(_("SOR code"), max_length=20, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.WARD)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["hospital__name", "name"]

    def __str__(self) -> str:
        return f"{self.name}, {self.hospital.short_name}"


class Role(models.TextChoices):
    """What a staff member is; decides what the access gate lets them do."""

    LAEGE = "laege", _("Doctor")
    SYGEPLEJERSKE = "sygeplejerske", _("Nurse")
    SEKRETAER = "sekretaer", _("Medical secretary")
    BIOANALYTIKER = "bioanalytiker", _("Biomedical laboratory scientist")
    ADMINISTRATOR = "administrator", _("Administrator")


# Roles that treat patients and so may hold a care relation or break the glass.
CLINICAL_ROLES = frozenset({Role.LAEGE, Role.SYGEPLEJERSKE, Role.SEKRETAER, Role.BIOANALYTIKER})
# Roles that may open a patient's administrative data (demographics, access log) without a care
# relation, as hospital administration.
ADMINISTRATION_ROLES = frozenset({Role.ADMINISTRATOR})


class StaffMember(BaseModel):
    """A person employed by the hospital, with a role, an authorisation id and departments."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    title = models.CharField(_("title"), max_length=100, blank=True)
    # Autorisations-ID from the Danish Patient Safety Authority; empty for roles without one.
    authorisation_id = models.CharField(_("authorisation id"), max_length=10, blank=True)
    # Students and junior doctors write notes that a senior must co-sign.
    requires_cosign = models.BooleanField(_("notes require co-signing"), default=False)
    is_access_reviewer = models.BooleanField(_("reviews break-the-glass events"), default=False)
    departments: models.ManyToManyField = models.ManyToManyField(
        Department, through="Membership", related_name="staff_members"
    )
    active_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("active department"),
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["user__last_name", "user__first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["authorisation_id"],
                condition=~Q(authorisation_id=""),
                name="organisation_staff_authorisation_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_full_name()} ({self.get_role_display()})"

    @property
    def is_clinical(self) -> bool:
        """Whether the role treats patients."""
        return self.role in CLINICAL_ROLES


class Membership(BaseModel):
    """A staff member's employment in a department, from a date, possibly to a date."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="memberships")
    valid_from = models.DateField(_("from"))
    valid_to = models.DateField(_("to"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "department"], name="organisation_membership_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="organisation_membership_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} @ {self.department}"
