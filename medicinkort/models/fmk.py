"""Models of medicinkort: what Sundhed has read of each patient's FMK card, and each read."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from outbox.models import DurableJob


class CardSnapshot(BaseModel):
    """One read of a patient's card from FMK: its version, the raw answer, when; never changed.

    The newest snapshot is what every page shows when FMK is slow or down, with its age.
    """

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="fmk_snapshots"
    )
    version = models.CharField(_("card version"), max_length=30)
    previous_version = models.CharField(_("previous version"), max_length=30, blank=True)
    fetched_at = models.DateTimeField(_("fetched"))
    modified_by = models.CharField(_("last changed by"), max_length=300, blank=True)
    modified_at = models.DateTimeField(_("last changed"), null=True, blank=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=300, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    private_count = models.PositiveIntegerField(_("private drug medications"), default=0)
    # FMK says the patient has open dose dispensing prescriptions: a pharmacy packs the
    # medicine for fixed periods, and must be told of changes.
    dose_dispensed = models.BooleanField(_("dose-dispensed"), default=False)
    raw = models.TextField(_("FMK's answer"))

    class Meta:
        verbose_name = _("FMK card snapshot")
        verbose_name_plural = _("FMK card snapshots")
        indexes = [models.Index(fields=["patient", "-fetched_at"], name="mk_snapshot_patient")]

    def __str__(self) -> str:
        return f"FMK {self.version} ({self.fetched_at:%Y-%m-%d %H:%M})"


class CardLine(models.Model):
    """One drug medication (lægemiddelordination) of a snapshot, as read."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    snapshot = models.ForeignKey(CardSnapshot, on_delete=models.CASCADE, related_name="lines")
    identifier = models.CharField(_("FMK identifier"), max_length=30)
    version = models.CharField(_("version"), max_length=30)
    drug_name = models.CharField(_("drug"), max_length=300)
    atc_code = models.CharField(_("ATC"), max_length=10, blank=True)
    atc_text = models.CharField(_("ATC text"), max_length=200, blank=True)
    drug_id = models.CharField(_("drug id"), max_length=20, blank=True)
    form_text = models.CharField(_("form"), max_length=200, blank=True)
    strength_text = models.CharField(_("strength"), max_length=100, blank=True)
    substance = models.CharField(_("active substance"), max_length=300, blank=True)
    form_code = models.CharField(_("form code"), max_length=20, blank=True)
    route_code = models.CharField(_("route code"), max_length=10, blank=True)
    route_text = models.CharField(_("route"), max_length=200, blank=True)
    indication = models.CharField(_("indication"), max_length=500, blank=True)
    dosage_text = models.TextField(_("dosage"), blank=True)
    # FMK's structured dosage read into medicinkort.dosage.Dosage (JSON), where it gave one.
    dosage = models.JSONField(_("structured dosage"), null=True, blank=True)
    start = models.DateField(_("treatment start"), null=True, blank=True)
    end = models.DateField(_("treatment end"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    created_by = models.CharField(_("created by"), max_length=300, blank=True)
    created_org_kind = models.CharField(_("created where"), max_length=50, blank=True)
    created_org_id = models.CharField(_("organisation id"), max_length=50, blank=True)
    modified_by = models.CharField(_("last changed by"), max_length=300, blank=True)
    modified_at = models.DateTimeField(_("last changed"), null=True, blank=True)
    unknown = models.JSONField(_("elements not understood"), default=list, blank=True)
    raw = models.TextField(_("FMK's XML"))

    class Meta:
        verbose_name = _("FMK drug medication")
        verbose_name_plural = _("FMK drug medications")
        ordering = ["snapshot", "drug_name"]

    def __str__(self) -> str:
        return f"{self.drug_name} {self.strength_text}".strip()


class CardRead(DurableJob, BaseModel):
    """A read of the card asked for, and how it went: the durable row before the task.

    A pending read is sent to a worker on commit; the sweeper sends any left pending.
    """

    class Occasion(models.TextChoices):
        ADMISSION = "admission", _("Admission")
        TAB = "tab", _("The medication tab opened")
        DEMAND = "demand", _("Asked for")
        AFTER_WRITE = "after_write", _("After a change sent to FMK")
        SCHEDULE = "schedule", _("Read again while admitted")
        RETRY = "retry", _("Read again when FMK answered again")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        READING = "reading", _("Reading")
        DONE = "done", _("Read")
        UNREACHABLE = "unreachable", _("FMK could not be reached")
        REFUSED = "refused", _("FMK refused")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="fmk_reads"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    occasion = models.CharField(_("occasion"), max_length=20, choices=Occasion.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    snapshot = models.ForeignKey(
        CardSnapshot, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("FMK read")
        verbose_name_plural = _("FMK reads")
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="mk_read_patient"),
            models.Index(
                fields=["created_at"],
                name="mk_read_pending",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_occasion_display()}: {self.get_status_display()}"


class FmkWrite(DurableJob, BaseModel):
    """One change for FMK: the outbox row, committed with the change it comes from.

    Sent in `sequence` order per patient by a task; its `message_id` is the request id FMK sees,
    so a retry after a lost answer is recognised and changes nothing twice. `based_on_version`
    is fixed before the first send and kept for every retry.
    """

    class Operation(models.TextChoices):
        CREATE = "create", _("New drug medication")
        UPDATE = "update", _("Change")
        PAUSE = "pause", _("Pause")
        UNPAUSE = "unpause", _("Resume")
        WITHDRAW = "withdraw", _("Withdraw (seponering)")
        REVIEWED = "reviewed", _("Card reviewed")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        CONFLICT = "conflict", _("The card changed: not sent")
        FAILED = "failed", _("Refused by FMK")

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    reconciliation = models.ForeignKey(
        "medicinkort.Reconciliation", on_delete=models.PROTECT, null=True, blank=True,
        related_name="writes",
    )  # fmt: skip
    sequence = models.PositiveIntegerField(_("order"))
    operation = models.CharField(_("operation"), max_length=20, choices=Operation.choices)
    payload = models.JSONField(_("what to write"), default=dict)
    message_id = models.UUIDField(_("request id"), unique=True)
    based_on_version = models.CharField(_("based on card version"), max_length=30, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    result_version = models.CharField(_("card version after"), max_length=30, blank=True)
    result_identifier = models.CharField(_("FMK identifier"), max_length=30, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("FMK write")
        verbose_name_plural = _("FMK writes")
        ordering = ["patient", "sequence"]
        indexes = [
            models.Index(
                fields=["patient", "sequence"],
                name="mk_write_open",
                condition=models.Q(status__in=["pending", "sending"]),
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["patient", "sequence"], name="mk_write_sequence")
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} ({self.get_status_display()})"
