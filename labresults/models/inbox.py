"""The clinicians' inbox of new reports; critical values escalate until acknowledged."""

import pghistory
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from labresults.models.results import LabReport


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
        db_index=False,  # never looked up by it
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(_("last escalated"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)  # not indexed: arrived_at is

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
