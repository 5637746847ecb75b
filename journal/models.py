"""The journal: notes and their versions, templates, SKS diagnoses and vital signs."""

import uuid

import pghistory
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from journal.choices import NoteStatus, NoteType
from patients.models import EnteredInError, entered_in_error_has_who_and_why


class NoteTemplate(BaseModel):
    """A note template with sections, maintained by administrators in Django admin."""

    name = models.CharField(_("name"), max_length=100)
    note_type = models.CharField(_("note type"), max_length=20, choices=NoteType.choices)
    department = models.ForeignKey(
        "organisation.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        help_text=_("Empty: offered in every department."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("note template")
        verbose_name_plural = _("note templates")
        ordering = ["note_type", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "note_type"], name="journal_template_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def body(self, expand=None) -> str:
        """The text a new note from this template starts with: one heading per section. A
        prompt that is a macro (`.diag`) is expanded by `expand(name)` (None: left out); any
        other prompt is a hint, written «like this»: a placeholder the writer replaces, which
        signing refuses to keep."""
        parts = []
        for section in self.sections.all():
            prompt = section.prompt.strip()
            if prompt.startswith(".") and " " not in prompt:
                prompt = (expand(prompt[1:]) if expand else None) or ""
            elif prompt:
                prompt = f"{HINT_OPEN}{prompt}{HINT_CLOSE}"
            parts.append(f"{section.heading}:\n{prompt}".rstrip() + "\n")
        return "\n\n".join(parts)


# A template's hint in a new note: «Aftaler, kontrol, opgaver til egen læge».
HINT_OPEN, HINT_CLOSE = "«", "»"


class NoteTemplateSection(models.Model):
    """One section of a template: a heading and the prompt text under it."""

    template = models.ForeignKey(NoteTemplate, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    heading = models.CharField(_("heading"), max_length=100)
    prompt = models.CharField(_("prompt"), max_length=300, blank=True)
    required = models.BooleanField(
        _("required"), default=False,
        help_text=_("A note is not signed with this section empty. An empty section that is "
                    "not required is left out of the signed note."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.heading


# Statuses shown in lists to everyone; drafts only to their author, older versions on the note.
VISIBLE_STATUSES = (NoteStatus.AWAITING_COSIGN, NoteStatus.SIGNED, NoteStatus.ENTERED_IN_ERROR)


@pghistory.track()
class Note(EnteredInError, BaseModel):
    """One version of a journal note. A correction is a new row that supersedes the old one.

    All versions of one note share `lineage`; nothing is ever deleted or overwritten once signed.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="notes")
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("care course"),
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="notes"
    )
    note_type = models.CharField(_("note type"), max_length=20, choices=NoteType.choices)
    template = models.ForeignKey(
        NoteTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=NoteStatus.choices, default=NoteStatus.DRAFT
    )
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    author = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="notes_written"
    )
    # The clinical time the note is about; `created_at` is when the row was made.
    written_at = models.DateTimeField(_("time"))
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    signed_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cosign_required = models.BooleanField(_("needs co-signing"), default=False)
    cosigned_at = models.DateTimeField(_("co-signed"), null=True, blank=True)
    cosigned_by = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    search_vector = models.GeneratedField(
        expression=SearchVector("title", "text", config="danish"),
        output_field=SearchVectorField(),
        db_persist=True,
        editable=False,
    )

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-written_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-written_at"], name="journal_note_patient_time"),
            models.Index(
                fields=["department", "status"],
                condition=Q(status__in=["draft", "awaiting_cosign"]),
                name="journal_note_unsigned",
            ),
            GinIndex(fields=["search_vector"], name="journal_note_search"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lineage", "version"], name="journal_note_one_row_per_version"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "entered_in_error"])
                | (Q(signed_at__isnull=False) & Q(signed_by__isnull=False)),
                name="journal_note_signed_has_signer",
            ),
            entered_in_error_has_who_and_why("journal_note_error_has_who_and_why"),
            models.CheckConstraint(
                condition=Q(version=1, supersedes__isnull=True)
                | (Q(version__gt=1, supersedes__isnull=False) & ~Q(correction_reason="")),
                name="journal_note_correction_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status="awaiting_cosign") | Q(cosign_required=True),
                name="journal_note_cosign_only_when_required",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.written_at:%d.%m.%Y})"

    @property
    def is_editable(self) -> bool:
        """Only a draft can be typed into; a signed note is changed by a correction."""
        return self.status == NoteStatus.DRAFT


class SksCode(models.Model):
    """One diagnosis code of the Danish SKS classification (ICD-10 with the D prefix)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    text = models.CharField(_("text"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SKS diagnosis code")
        verbose_name_plural = _("SKS diagnosis codes")
        ordering = ["code"]
        indexes = [
            GinIndex(fields=["text"], opclasses=["gin_trgm_ops"], name="journal_sks_text_trgm"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^D[A-Z][0-9]{1,4}[A-Z0-9]{0,3}$"),
                name="journal_sks_code_form",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


@pghistory.track()
class Diagnosis(EnteredInError, BaseModel):
    """A diagnosis of a care course: the action diagnosis (A) or a secondary one (B)."""

    class Kind(models.TextChoices):
        ACTION = "A", _("Action diagnosis")
        SECONDARY = "B", _("Secondary diagnosis")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RESOLVED = "resolved", _("Resolved")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="diagnoses"
    )
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        related_name="diagnoses",
        verbose_name=_("care course"),
    )
    code = models.ForeignKey(
        SksCode, on_delete=models.PROTECT, related_name="+", verbose_name=_("SKS code")
    )
    kind = models.CharField(_("kind"), max_length=1, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    note = models.CharField(_("remark"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded"))
    recorded_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        verbose_name = _("diagnosis")
        verbose_name_plural = _("diagnoses")
        ordering = ["kind", "-recorded_at"]
        indexes = [
            models.Index(fields=["patient", "-recorded_at"], name="journal_diag_patient_time"),
        ]
        constraints = [
            # A course has one action diagnosis at a time (the DRG and LPR rule).
            models.UniqueConstraint(
                fields=["care_course"],
                condition=Q(kind="A", status="active"),
                name="journal_diag_one_action_per_course",
            ),
            entered_in_error_has_who_and_why("journal_diag_error_has_who_and_why"),
        ]

    def __str__(self) -> str:
        return f"{self.code.code} ({self.get_kind_display()})"


class Consciousness(models.TextChoices):
    """ACVPU: alert, new confusion, responds to voice, to pain, unresponsive."""

    ALERT = "A", _("Alert")
    CONFUSED = "C", _("New confusion")
    VOICE = "V", _("Responds to voice")
    PAIN = "P", _("Responds to pain")
    UNRESPONSIVE = "U", _("Unresponsive")


class Risk(models.TextChoices):
    """The clinical response band of the early-warning score."""

    LOW = "low", _("Low")
    LOW_MEDIUM = "low_medium", _("Low–medium (a single red parameter)")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    INCOMPLETE = "incomplete", _("Incomplete (not every parameter measured)")


# What each band asks of the ward (NEWS2's clinical response), in the words shown with the score.
RISK_RESPONSE: dict[str, object] = {
    Risk.LOW: _("low risk: continue observations"),
    Risk.LOW_MEDIUM: _("low–medium risk: a registered nurse assesses, consider a doctor"),
    Risk.MEDIUM: _("medium risk: urgent assessment by a doctor"),
    Risk.HIGH: _("high risk: emergency response, call the doctor at once"),
    Risk.INCOMPLETE: _("incomplete: measure the rest before the risk can be judged"),
}


@pghistory.track()
class VitalSigns(EnteredInError, BaseModel):
    """One set of vital signs with its early-warning score (NEWS2), computed by the service."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="vital_signs"
    )
    care_course = models.ForeignKey(
        "patients.CareCourse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="vital_signs",
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="+"
    )
    measured_at = models.DateTimeField(_("measured"))
    recorded_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    respiration_rate = models.PositiveSmallIntegerField(
        _("respiration rate (/min)"), null=True, blank=True, validators=[MaxValueValidator(80)]
    )
    spo2 = models.PositiveSmallIntegerField(
        _("saturation (SpO₂ %)"), null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    on_oxygen = models.BooleanField(_("supplemental oxygen"), default=False)
    systolic = models.PositiveSmallIntegerField(
        _("systolic BP (mmHg)"), null=True, blank=True, validators=[MaxValueValidator(300)]
    )
    diastolic = models.PositiveSmallIntegerField(
        _("diastolic BP (mmHg)"), null=True, blank=True, validators=[MaxValueValidator(250)]
    )
    pulse = models.PositiveSmallIntegerField(
        _("pulse (/min)"), null=True, blank=True, validators=[MaxValueValidator(300)]
    )
    consciousness = models.CharField(
        _("consciousness (ACVPU)"),
        max_length=1,
        choices=Consciousness.choices,
        blank=True,
    )
    temperature = models.DecimalField(
        _("temperature (°C)"),
        max_digits=3,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(25), MaxValueValidator(45)],
    )
    # For an incomplete set, what the measured parameters add up to: a lower bound, shown as
    # "≥ 8". NEWS2 is never completed with guessed values.
    score = models.PositiveSmallIntegerField(_("early-warning score"), null=True, blank=True)
    is_complete = models.BooleanField(_("every parameter measured"), default=True)
    risk = models.CharField(_("risk"), max_length=12, choices=Risk.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.VALID
    )

    class Meta:
        verbose_name = _("vital signs")
        verbose_name_plural = _("vital signs")
        ordering = ["-measured_at", "-id"]
        indexes = [
            models.Index(fields=["patient", "-measured_at"], name="journal_vitals_patient_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(respiration_rate__range=(0, 80)), name="journal_vitals_rr_range"
            ),
            models.CheckConstraint(condition=Q(spo2__range=(0, 100)), name="journal_vitals_spo2"),
            models.CheckConstraint(
                condition=Q(systolic__range=(0, 300)) & Q(diastolic__range=(0, 250)),
                name="journal_vitals_bp_range",
            ),
            models.CheckConstraint(
                condition=Q(pulse__range=(0, 300)), name="journal_vitals_pulse_range"
            ),
            models.CheckConstraint(
                condition=Q(temperature__range=(25, 45)), name="journal_vitals_temp_range"
            ),
            # A score on every set; "incomplete" only as the band of an incomplete set.
            models.CheckConstraint(
                condition=Q(score__isnull=False) & (Q(is_complete=False) | ~Q(risk="incomplete")),
                name="journal_vitals_band_fits_completeness",
            ),
            entered_in_error_has_who_and_why("journal_vitals_error_has_who_and_why"),
        ]

    def __str__(self) -> str:
        return f"{self.measured_at:%d.%m.%Y %H:%M} NEWS2 {self.score_text}"

    @property
    def score_text(self) -> str:
        """The score; for an incomplete set the lower bound, "≥ 8"."""
        if self.score is None:
            return "–"
        return str(self.score) if self.is_complete else f"≥ {self.score}"

    @property
    def blood_pressure(self) -> str:
        if self.systolic is None:
            return "–"
        return f"{self.systolic}/{self.diastolic if self.diastolic is not None else '–'}"

    @property
    def missing(self) -> list[str]:
        """The labels of the NEWS2 parameters not measured in this set."""
        from journal.news2 import PARAMETERS

        return [
            str(getattr(self._meta.get_field(name), "verbose_name", name))
            for name in PARAMETERS
            if getattr(self, name) in (None, "")
        ]

    @property
    def response(self) -> str:
        """The band's clinical response in words ("high risk: emergency response, ...")."""
        return str(RISK_RESPONSE.get(self.risk, ""))


class MessageThread(BaseModel):
    """A secure conversation between a citizen (or their proxy) and a department, started by
    the citizen in the portal and answered by the department's staff from the chart. Part of
    the record: nothing in it is ever deleted."""

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="message_threads"
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="message_threads"
    )
    subject = models.CharField(_("subject"), max_length=200)
    # Waiting for the department: the newest message is the citizen's and nobody has answered.
    awaiting_department = models.BooleanField(_("awaiting the department"), default=True)
    last_message_at = models.DateTimeField(_("last message"))

    class Meta:
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")
        ordering = ["-last_message_at"]
        indexes = [
            models.Index(
                fields=["department", "-last_message_at"],
                condition=Q(awaiting_department=True),
                name="journal_thread_awaiting",
            ),
            models.Index(fields=["patient", "-last_message_at"], name="journal_thread_patient"),
        ]

    def __str__(self) -> str:
        return self.subject


class Message(BaseModel):
    """One message of a thread, by the citizen or by staff; read by the other side at `read_at`."""

    class Sender(models.TextChoices):
        CITIZEN = "citizen", _("The patient")
        STAFF = "staff", _("The department")

    thread = models.ForeignKey(MessageThread, on_delete=models.PROTECT, related_name="messages")
    sender = models.CharField(_("from"), max_length=10, choices=Sender.choices)
    author = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("written by")
    )
    staff = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    text = models.TextField(_("message"), max_length=5000)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sender="citizen", staff__isnull=True)
                | Q(sender="staff", staff__isnull=False),
                name="journal_message_staff_names_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_sender_display()} {self.created_at:%Y-%m-%d %H:%M}"


class MessageAttachment(BaseModel):
    """A file sent with a message: PDF, JPEG or PNG up to 10 MB, its type read from its content."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(upload_to="messages/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.name
