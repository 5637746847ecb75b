"""Hospital medication: orders (ordinationer), their administrations (the MAR), and the
overridden warnings of the checks at ordering."""

import pghistory
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


@pghistory.track()
class MedicationOrder(BaseModel):
    """An order: drug, dose and unit, route, fixed times or PN (with a maximum a day), start and
    stop, indication, prescriber. Changed orders keep their history (pghistory)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        STOPPED = "stopped", _("Stopped")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    class Schedule(models.TextChoices):
        FIXED = "fixed", _("Fixed times")
        PN = "pn", _("As needed (PN)")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="medication_orders"
    )
    care_course = models.ForeignKey(
        "patients.CareCourse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="+"
    )
    drug = models.ForeignKey(
        "medicinkort.Drug", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    drug_name = models.CharField(_("drug"), max_length=300)
    atc_code = models.CharField(_("ATC"), max_length=7, blank=True)
    strength = models.CharField(_("strength"), max_length=100, blank=True)
    form_text = models.CharField(_("form"), max_length=200, blank=True)
    dose = models.DecimalField(_("dose"), max_digits=10, decimal_places=3, null=True, blank=True)
    dose_unit = models.CharField(_("dose unit"), max_length=30, blank=True)
    dose_text = models.TextField(_("dosage"))
    route_text = models.CharField(_("route"), max_length=100, blank=True)
    schedule = models.CharField(
        _("schedule"), max_length=10, choices=Schedule.choices, default=Schedule.FIXED
    )
    times = ArrayField(models.CharField(max_length=5), default=list, blank=True)
    # The structured dosage (medicinkort.dosage.Dosage as JSON): its periods, rhythm, doses and
    # times. Empty on an order made before it: a dose at each of `times` every day.
    dosage = models.JSONField(_("structured dosage"), null=True, blank=True)
    pn_max_per_day = models.PositiveSmallIntegerField(_("at most a day"), null=True, blank=True)
    indication = models.CharField(_("indication"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("stop"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    prescriber = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    cosign_required = models.BooleanField(_("needs co-signing"), default=False)
    cosigned_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    cosigned_at = models.DateTimeField(_("co-signed"), null=True, blank=True)
    # The FMK drug medication this order continues or was sent as, if any.
    fmk_identifier = models.CharField(_("FMK identifier"), max_length=30, blank=True)
    change_reason = models.TextField(_("reason for the change"), blank=True)

    class Meta:
        verbose_name = _("medication order")
        verbose_name_plural = _("medication orders")
        ordering = ["drug_name"]
        indexes = [models.Index(fields=["patient", "status"], name="mk_order_patient")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(schedule="pn") | Q(pn_max_per_day__gte=1),
                name="medicinkort_order_pn_has_maximum",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                name="medicinkort_order_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.drug_name} {self.strength}: {self.dose_text}".strip()

    @staticmethod
    def not_ended() -> Q:
        """Not past its end: a taper past its last step is over, whatever its status says."""
        from django.utils import timezone

        return Q(ends_at__isnull=True) | Q(ends_at__gt=timezone.now())

    @property
    def awaiting_cosign(self) -> bool:
        return self.cosign_required and self.cosigned_at is None

    def dosage_structure(self):
        """The order's dosage as a structure: its own, else a dose at each time every day from
        its start (an order made before structures)."""
        from django.utils import timezone

        from medicinkort.dosage import Dosage, daily

        return Dosage.from_json(self.dosage) or daily(
            list(self.times), timezone.localtime(self.starts_at).date()
        )

    @property
    def rhythm_text(self) -> str:
        """What the order's schedule column says: its times, or its structure's rhythm."""
        structure = self.dosage_structure()
        if self.schedule == self.Schedule.PN or structure.is_daily_fixed() and not self.dosage:
            return " ".join(self.times)
        return structure.text()


@pghistory.track()
class Administration(BaseModel):
    """One administration (or not) of an order by a nurse: the medication administration record."""

    class Status(models.TextChoices):
        GIVEN = "given", _("Given")
        NOT_GIVEN = "not_given", _("Not given")
        OTHER_DOSE = "other_dose", _("Given at another dose")

    order = models.ForeignKey(
        MedicationOrder, on_delete=models.PROTECT, related_name="administrations"
    )
    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    dose_given = models.DecimalField(
        _("dose given"), max_digits=10, decimal_places=3, null=True, blank=True
    )
    reason = models.TextField(_("reason"), blank=True)
    given_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    given_at = models.DateTimeField(_("recorded"))

    class Meta:
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "due_at"],
                condition=Q(due_at__isnull=False),
                name="medicinkort_administration_once_per_time",
            ),
            models.CheckConstraint(
                condition=Q(status="given") | ~Q(reason=""),
                name="medicinkort_administration_reason_unless_given",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.drug_name}: {self.get_status_display()}"


class CheckOverride(BaseModel):
    """A warning of the checks at ordering (CAVE, interaction, duplicate therapy) that the
    prescriber overrode, with the reason. Never changed."""

    class Kind(models.TextChoices):
        CAVE = "cave", _("CAVE")
        INTERACTION = "interaction", _("Interaction")
        DUPLICATE = "duplicate", _("Duplicate therapy")

    order = models.ForeignKey(MedicationOrder, on_delete=models.PROTECT, related_name="overrides")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    warning = models.TextField(_("warning"))
    reason = models.TextField(_("reason"))
    overridden_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("overridden warning")
        verbose_name_plural = _("overridden warnings")

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.warning[:60]}"
