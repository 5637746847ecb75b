"""Orders (rekvisitioner) of analyses; results link to them by the order number."""

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from labresults.models.catalogue import Analysis
from outbox.models import DurableJob


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


class LabOrderMessage(DurableJob, BaseModel):
    """The order message (ORM^O01) to the laboratory: the durable row of its sending, written
    with the order when orders go out electronically, sent over MLLP until acknowledged. A
    resend after a worker died carries the same order number, which the laboratory knows."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Acknowledged")
        FAILED = "failed", _("Failed")

    order = models.OneToOneField(LabOrder, on_delete=models.PROTECT, related_name="message")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )

    class Meta:
        verbose_name = _("order message")
        verbose_name_plural = _("order messages")
        indexes = [
            models.Index(
                fields=["due_at"], name="labresults_ordermsg_waiting",
                condition=models.Q(status="pending"),
            )
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.order} ({self.get_status_display()})"
