"""Laboratory results: the inbox of raw messages, kept exactly as they arrived."""

import ipaddress
import uuid

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import F, Q
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


# Diagnostic service sections (HL7 table 0074 and FHIR categories) that are imaging.
IMAGING_SECTIONS = frozenset({"RAD", "CT", "MR", "RX", "US", "NMR", "NMS", "CUS", "XR", "IMG"})


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
    # The diagnostic service section (OBR-24 or the FHIR category): RAD, CT, MR, CH, HM, ...
    section = models.CharField(_("section"), max_length=10, blank=True)
    # The DICOM study the report is about, when the sender names it.
    study_uid = models.CharField(_("study instance UID"), max_length=64, blank=True)
    source_message = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, related_name="reports", null=True, blank=True
    )
    # Where the report belongs (the order's department and course, else the patient's course
    # at arrival): a blocking of either hides it, as it hides a note.
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("care course"),
    )
    ordered_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ordering clinician"),
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

    @property
    def is_imaging(self) -> bool:
        """Whether this is a radiology report rather than a laboratory one."""
        return self.section in IMAGING_SECTIONS or bool(self.study_uid)


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
    # True when the flag was computed from our catalogue because the sender sent none.
    flag_computed = models.BooleanField(_("flag computed"), default=False)
    is_critical = models.BooleanField(_("critical value"), default=False)
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


class MllpSender(BaseModel):
    """A laboratory system allowed to send over MLLP: MSH-3 and MSH-4, and where from.

    A message from anyone else is answered AR and stored as failed with the reason.
    """

    name = models.CharField(_("name"), max_length=100)
    application = models.CharField(_("sending application (MSH-3)"), max_length=100)
    facility = models.CharField(_("sending facility (MSH-4)"), max_length=100)
    allowed_addresses = models.TextField(
        _("addresses it may connect from"),
        blank=True,
        help_text=_(
            "One IP address or network (CIDR) per line. Empty: any address, but then only over "
            "TLS with the client certificate named below."
        ),
    )
    certificate_subject = models.CharField(
        _("TLS client certificate common name"),
        max_length=200,
        blank=True,
        help_text=_("When set, the sender must connect over TLS with this certificate."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("MLLP sender")
        verbose_name_plural = _("MLLP senders")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "facility"], name="labresults_mllpsender_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.application}@{self.facility})"

    @property
    def key(self) -> str:
        """As messages name their sender: MSH-3@MSH-4."""
        return f"{self.application}@{self.facility}"

    def allows(self, address: str | None, certificate_subject: str | None) -> bool:
        """Whether a connection from this address (with this client certificate) is it."""
        if self.certificate_subject and self.certificate_subject != certificate_subject:
            return False
        networks = [line.strip() for line in self.allowed_addresses.split() if line.strip()]
        if not networks:
            return bool(self.certificate_subject)
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
            return any(ip in ipaddress.ip_network(n, strict=False) for n in networks)
        except ValueError:
            return False


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


class Analysis(BaseModel):
    """An analysis of the catalogue: NPU code, Danish name, unit, critical limits."""

    code = models.CharField(_("NPU code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=30)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=1)
    is_key = models.BooleanField(
        _("key result"), default=False, help_text=_("Shown on the chart's overview.")
    )
    critical_low = models.DecimalField(
        _("critical below"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    critical_high = models.DecimalField(
        _("critical above"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def interval_for(self, *, sex: str, age: int | None):
        """The reference interval for a patient of this sex and age (from prefetched rows)."""
        candidates = [
            interval
            for interval in self.intervals.all()
            if interval.sex in ("", sex)
            and (age is None or interval.age_from <= age)
            and (age is None or interval.age_to is None or age < interval.age_to)
        ]
        # A sex-specific interval wins over one for both sexes.
        candidates.sort(key=lambda interval: interval.sex == "")
        return candidates[0] if candidates else None


class ReferenceInterval(models.Model):
    """A reference interval of an analysis for a sex and an age band (years, to exclusive)."""

    class Sex(models.TextChoices):
        ANY = "", _("Both")
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="intervals")
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True, default="")
    age_from = models.PositiveSmallIntegerField(_("age from (years)"), default=0)
    age_to = models.PositiveSmallIntegerField(_("age to (years)"), null=True, blank=True)
    low = models.DecimalField(_("lower limit"), max_digits=12, decimal_places=3)
    high = models.DecimalField(_("upper limit"), max_digits=12, decimal_places=3)

    class Meta:
        verbose_name = _("reference interval")
        verbose_name_plural = _("reference intervals")
        ordering = ["analysis", "sex", "age_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(high__gte=F("low")), name="labresults_interval_order"
            ),
            models.CheckConstraint(
                condition=Q(age_to__isnull=True) | Q(age_to__gt=F("age_from")),
                name="labresults_interval_ages",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.low}–{self.high}"


class Panel(BaseModel):
    """A set of analyses ordered together (væsketal, levertal, ...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    analyses = models.ManyToManyField(Analysis, related_name="panels")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("panel")
        verbose_name_plural = _("panels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@pghistory.track()
class LabOrder(BaseModel):
    """A rekvisition: analyses a clinician ordered for a patient; results link by its number."""

    class Priority(models.TextChoices):
        ROUTINE = "routine", _("Routine")
        URGENT = "urgent", _("Urgent")

    class Status(models.TextChoices):
        ORDERED = "ordered", _("Ordered")
        CANCELLED = "cancelled", _("Cancelled")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="lab_orders"
    )
    care_course = models.ForeignKey(
        "patients.CareCourse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="+"
    )
    ordered_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    ordered_at = models.DateTimeField(_("ordered"))
    placer_number = models.CharField(_("order number"), max_length=30, unique=True)
    priority = models.CharField(
        _("priority"), max_length=10, choices=Priority.choices, default=Priority.ROUTINE
    )
    comment = models.CharField(_("comment to the laboratory"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ORDERED
    )
    analyses = models.ManyToManyField(Analysis, related_name="+")
    # When the order message was handed to the laboratory (the outbox task sets it).
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("laboratory order")
        verbose_name_plural = _("laboratory orders")
        ordering = ["-ordered_at"]
        indexes = [models.Index(fields=["patient", "-ordered_at"], name="labresults_order_patient")]

    def __str__(self) -> str:
        return self.placer_number


@pghistory.track()
class InboxItem(BaseModel):
    """A report waiting for a clinician's acknowledgement; critical values escalate until then."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="+")
    report = models.OneToOneField(LabReport, on_delete=models.PROTECT, related_name="inbox_item")
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="+"
    )
    clinician = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ordering clinician"),
    )
    is_critical = models.BooleanField(_("critical"), default=False)
    abnormal_count = models.PositiveSmallIntegerField(_("abnormal values"), default=0)
    arrived_at = models.DateTimeField(_("arrived"))
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("last escalated"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbox item")
        verbose_name_plural = _("inbox items")
        ordering = ["-is_critical", "-arrived_at"]
        indexes = [
            models.Index(
                fields=["department", "-is_critical", "-arrived_at"],
                condition=Q(acknowledged_at__isnull=True),
                name="labresults_inbox_open",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | Q(acknowledged_by__isnull=False),
                name="labresults_inbox_ack_has_who",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report} → {self.department_id}"


class FhirSource(BaseModel):
    """A laboratory's FHIR endpoint that a beat task asks for new reports."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    base_url = models.URLField(_("base address"), help_text=_("For example https://lab/fhir"))
    is_active = models.BooleanField(_("active"), default=True)
    # Reports updated after this moment are asked for next; set only after a successful pull.
    pulled_until = models.DateTimeField(_("pulled until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("FHIR source")
        verbose_name_plural = _("FHIR sources")

    def __str__(self) -> str:
        return self.name


def dicom_file_name(instance, filename: str) -> str:
    """A random stored name for a DICOM file; the original name is kept on the row."""
    return f"dicom/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.dcm"


def dicom_thumbnail_name(instance, filename: str) -> str:
    """A random stored name for a key-image thumbnail."""
    return f"dicom-thumbs/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


@pghistory.track()
class DicomObject(BaseModel):
    """One DICOM file (an image, a series' instance, a structured report) and what it says.

    The file is kept as received; metadata and a key-image thumbnail are read by a task.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        UNMATCHED = "unmatched", _("Patient not matched")
        FAILED = "failed", _("Failed")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded")
        FOLDER = "folder", _("Dropped in the folder")

    # Stored under a random name: never the uploader's name or extension (served only by a
    # gated view, as an attachment).
    file = models.FileField(_("file"), upload_to=dicom_file_name)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RECEIVED
    )
    error = models.TextField(_("why it failed"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("reading attempts"), default=0)
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Where the report belongs (the order's department and course, else the patient's course
    # at arrival): a blocking of either hides it, as it hides a note.
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("care course"),
    )
    patient_id_in_file = models.CharField(_("PatientID in the file"), max_length=64, blank=True)
    study_uid = models.CharField(_("study instance UID"), max_length=64, blank=True, db_index=True)
    series_uid = models.CharField(_("series instance UID"), max_length=64, blank=True)
    sop_uid = models.CharField(_("SOP instance UID"), max_length=64, blank=True)
    accession_number = models.CharField(_("accession number"), max_length=16, blank=True)
    modality = models.CharField(_("modality"), max_length=16, blank=True)
    body_part = models.CharField(_("body part"), max_length=64, blank=True)
    study_description = models.CharField(_("study"), max_length=128, blank=True)
    series_description = models.CharField(_("series"), max_length=128, blank=True)
    study_date = models.DateField(_("study date"), null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    columns = models.PositiveIntegerField(null=True, blank=True)
    frames = models.PositiveIntegerField(null=True, blank=True)
    thumbnail = models.FileField(_("thumbnail"), upload_to=dicom_thumbnail_name, blank=True)
    thumbnail_error = models.CharField(_("why there is no thumbnail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("DICOM object")
        verbose_name_plural = _("DICOM objects")
        ordering = ["-created_at"]
        constraints = [
            # The same instance dropped twice is stored once.
            models.UniqueConstraint(
                fields=["sop_uid"], condition=~Q(sop_uid=""), name="labresults_dicom_sop_unique"
            ),
        ]
        indexes = [models.Index(fields=["patient", "study_uid"], name="labresults_dicom_study")]

    def __str__(self) -> str:
        return self.original_name or self.sop_uid or str(self.public_id)
