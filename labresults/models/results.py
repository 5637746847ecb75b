"""Reports and their results, keyed by stable keys; corrected in place with history."""

import uuid

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from labresults.models.intake import InboundMessage

# Diagnostic service sections (HL7 table 0074 and FHIR categories) that are imaging.
IMAGING_SECTIONS = frozenset({"RAD", "CT", "MR", "RX", "US", "NMR", "NMS", "CUS", "XR", "IMG"})


class ResultStatus(models.TextChoices):
    """Where a result is in its life: preliminary, final, corrected or cancelled."""

    PRELIMINARY = "preliminary", _("Preliminary")
    FINAL = "final", _("Final")
    CORRECTED = "corrected", _("Corrected")
    CANCELLED = "cancelled", _("Cancelled")


class Origin(models.Model):
    """Where a report or an image belongs: a department and a course of the patient.

    A blocking of either hides the row from other departments, as it hides a note; set when
    the row arrives (the order's department and course, else the patient's course then).
    """

    # Not indexed: rows are always found by patient first (the blockings exclude by these
    # within one patient's rows), and every index costs every insert of a busy table.
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        db_index=False,
    )
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("care course"),
        db_index=False,
    )

    class Meta:
        abstract = True


def _history_reference(to: str, *, null: bool = True):
    """A reference in a history table without an index: history is read by its object
    (`pgh_obj`), and an index per reference cost every result's insert (pghistory indexes them
    all by default)."""
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        related_query_name="+",
        null=null,
        blank=null,
    )


@pghistory.track(
    attrs={
        name: _history_reference(to)
        for name, to in [
            ("department", "organisation.Department"),
            ("care_course", "patients.CareCourse"),
            ("source_message", "labresults.InboundMessage"),
            ("ordered_by", "organisation.StaffMember"),
        ]
    }
    | {"patient": _history_reference("patients.Patient", null=False)}
)
class LabReport(Origin, BaseModel):
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
    # The diagnostic service section (OBR-24 or the FHIR category): RAD, CT, MR, CH, HM, ...
    section = models.CharField(_("section"), max_length=10, blank=True)
    # The DICOM study the report is about, when the sender names it.
    study_uid = models.CharField(_("study instance UID"), max_length=64, blank=True)
    source_message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, related_name="reports", null=True, blank=True
    )
    ordered_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ordering clinician"),
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)  # not indexed: never looked up by it

    class Meta:
        verbose_name = _("laboratory report")
        verbose_name_plural = _("laboratory reports")
        ordering = ["-observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "filler_order_number"], name="labresults_report_stable_key"
            ),
            # What each result's `arrived_at` refers to (migration 0019): the arrival cannot
            # differ from its report's, nor change under its results.
            models.UniqueConstraint(fields=["id", "created_at"], name="labresults_report_arrival"),
        ]

    def __str__(self) -> str:
        return f"{self.service_name or self.service_code} {self.filler_order_number}"

    @property
    def is_imaging(self) -> bool:
        """Whether this is a radiology report rather than a laboratory one."""
        return self.section in IMAGING_SECTIONS or bool(self.study_uid)


@pghistory.track(
    # The arrival never changes (the database refuses a change): nothing to keep a history of.
    exclude=["arrived_at"],
    attrs={
        "patient": _history_reference("patients.Patient", null=False),
        "report": _history_reference("labresults.LabReport", null=False),
    },
)
class LabResult(BaseModel):
    """One measured value (OBX), keyed by its report and analysis code; corrected in place.

    The history (pghistory) keeps every earlier value of a corrected result.

    The table is partitioned by year of `arrived_at`, the arrival of the result's report
    (migration 0019, docs/scaling.md). The sample time cannot be the key: it may be missing and
    may be corrected. The arrival belongs to the report, so the stable key (report, code,
    arrival) is as strict as (report, code); the database holds it to the report's own
    `created_at` by a foreign key on both.
    """

    # Both found through the composite indexes below (report + code, patient + code + time),
    # so neither needs an index of its own: ten results a message, each index on every insert.
    report = models.ForeignKey(
        LabReport, on_delete=models.PROTECT, related_name="results", db_index=False
    )
    # Copied from the report so the cumulative table reads one table by patient and time.
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_results", db_index=False
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
    # True when the flag was computed from our catalogue because the sender sent none.
    flag_computed = models.BooleanField(_("flag computed"), default=False)
    is_critical = models.BooleanField(_("critical value"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=ResultStatus.choices)
    observed_at = models.DateTimeField(_("sampled"), null=True, blank=True)
    # The partition key: the report's `created_at`, set by `save` or by whoever files in bulk.
    arrived_at = models.DateTimeField(_("report arrived"), editable=False)
    # A unique key must hold the partition key; a version 4 UUID needs no constraint to be
    # unique, and the index finds a result by it.
    public_id = models.UUIDField(default=uuid.uuid4, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)  # not indexed: never looked up by it

    class Meta:
        verbose_name = _("laboratory result")
        verbose_name_plural = _("laboratory results")
        ordering = ["-observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["report", "code", "arrived_at"], name="labresults_result_stable_key"
            ),
        ]
        indexes = [
            models.Index(
                fields=["patient", "code", "-observed_at"], name="labresults_result_series"
            ),
            # The cumulative table's newest sample times, read from the newest down without
            # sorting all of the patient's results (`cumulative_table`).
            models.Index(fields=["patient", "-observed_at"], name="labresults_result_times"),
            # The overview's unacknowledged critical values: a few rows, found without reading
            # the patient's other results (`latest_key_results`).
            models.Index(
                fields=["patient", "-observed_at"],
                condition=models.Q(is_critical=True),
                name="labresults_result_critical",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.code}: {self.value_text} {self.unit}".strip()

    def save(self, *args, **kwargs) -> None:
        if self.arrived_at is None:
            self.arrived_at = self.report.created_at
        super().save(*args, **kwargs)
