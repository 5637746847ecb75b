"""DICOM objects: files as received, their metadata, key-image thumbnails."""

import uuid

import pghistory
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from labresults.models.results import Origin
from outbox.models import DurableJob


def dicom_file_name(instance, filename: str) -> str:
    """A random stored name for a DICOM file; the original name is kept on the row."""
    return f"dicom/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.dcm"


def dicom_thumbnail_name(instance, filename: str) -> str:
    """A random stored name for a key-image thumbnail."""
    return f"dicom-thumbs/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.png"


@pghistory.track()
class DicomObject(Origin, DurableJob, BaseModel):
    """One DICOM file (an image, a series' instance, a structured report) and what it says.

    The file is kept as received; metadata and a key-image thumbnail are read by a task.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        READING = "reading", _("Being read")
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
