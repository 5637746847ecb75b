"""Laboratory results: the inbox of raw messages, kept exactly as they arrived."""

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


class InboundMessage(BaseModel):
    """One message as a laboratory sent it; stored and committed before the ACK goes out.

    The raw bytes are never changed. Processing reads them, and a sweeper re-reads any row left
    `received`, so a lost queue message or a killed worker loses nothing.
    """

    class Transport(models.TextChoices):
        MLLP = "mllp", _("HL7 v2 over MLLP")
        HTTP = "http", _("HTTP")
        PULL = "pull", _("FHIR pull")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        UNMATCHED = "unmatched", _("Patient not matched")
        FAILED = "failed", _("Failed")

    raw = models.BinaryField(_("message as received"))
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    sender = models.CharField(_("sender"), max_length=200, blank=True)
    control_id = models.CharField(_("message control id"), max_length=100, blank=True)
    message_type = models.CharField(_("message type"), max_length=30, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    error = models.TextField(_("why it failed"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    # Set by staff in the queues: the patient matched by hand, and a corrected text. The raw
    # bytes as received are kept unchanged beside them.
    matched_patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("patient matched by hand"),
    )
    fixed_text = models.TextField(_("corrected message"), blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]
        constraints = [
            # A re-sent message (same sender, same MSH-10) is acknowledged, not stored twice.
            models.UniqueConstraint(
                fields=["sender", "control_id"],
                condition=~Q(control_id=""),
                name="labresults_inbound_unique_control_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="labresults_inbound_status"),
        ]

    def __str__(self) -> str:
        return f"{self.message_type or '?'} {self.control_id or self.public_id} ({self.status})"

    def text_to_process(self) -> bytes:
        """The corrected text when staff fixed it, else the bytes as received."""
        return self.fixed_text.encode("utf-8") if self.fixed_text else bytes(self.raw)

    def raw_text(self) -> str:
        """The bytes as received, readable (Latin-1 never fails)."""
        data = bytes(self.raw)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")


class ResultStatus(models.TextChoices):
    """Where a result is in its life: preliminary, final, corrected or cancelled."""

    PRELIMINARY = "preliminary", _("Preliminary")
    FINAL = "final", _("Final")
    CORRECTED = "corrected", _("Corrected")
    CANCELLED = "cancelled", _("Cancelled")


@pghistory.track()
class LabReport(BaseModel):
    """A laboratory's answer to one order (OBR), keyed by sender and filler order number."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_reports"
    )
    sender = models.CharField(_("sender"), max_length=200)
    filler_order_number = models.CharField(_("filler order number"), max_length=100)
    placer_order_number = models.CharField(_("placer order number"), max_length=100, blank=True)
    service_code = models.CharField(_("analysis or panel code"), max_length=60, blank=True)
    service_name = models.CharField(_("analysis or panel"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ResultStatus.choices)
    observed_at = models.DateTimeField(_("sampled"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    source_message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, related_name="reports", null=True, blank=True
    )

    class Meta:
        verbose_name = _("laboratory report")
        verbose_name_plural = _("laboratory reports")
        ordering = ["-observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "filler_order_number"], name="labresults_report_stable_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_name or self.service_code} {self.filler_order_number}"


@pghistory.track()
class LabResult(BaseModel):
    """One measured value (OBX), keyed by its report and analysis code; corrected in place.

    The history (pghistory) keeps every earlier value of a corrected result.
    """

    report = models.ForeignKey(LabReport, on_delete=models.PROTECT, related_name="results")
    # Copied from the report so the cumulative table reads one table by patient and time.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_results"
    )
    code = models.CharField(_("analysis code"), max_length=60)
    name = models.CharField(_("analysis"), max_length=200, blank=True)
    coding_system = models.CharField(_("coding system"), max_length=30, blank=True)
    value_numeric = models.DecimalField(
        _("value"), max_digits=18, decimal_places=6, null=True, blank=True
    )
    value_text = models.TextField(_("value as sent"), blank=True)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    reference_range = models.CharField(_("reference interval"), max_length=60, blank=True)
    flag = models.CharField(_("flag"), max_length=10, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ResultStatus.choices)
    observed_at = models.DateTimeField(_("sampled"), null=True, blank=True)

    class Meta:
        verbose_name = _("laboratory result")
        verbose_name_plural = _("laboratory results")
        ordering = ["-observed_at"]
        constraints = [
            models.UniqueConstraint(fields=["report", "code"], name="labresults_result_stable_key"),
        ]
        indexes = [
            models.Index(
                fields=["patient", "code", "-observed_at"], name="labresults_result_series"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.code}: {self.value_text} {self.unit}".strip()


class SystemClient(BaseModel):
    """A laboratory system allowed to post results over HTTP; only a hash of its token is kept."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("system client")
        verbose_name_plural = _("system clients")

    def __str__(self) -> str:
        return self.name
