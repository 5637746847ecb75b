"""Laboratory results: the inbox of raw messages, kept exactly as they arrived."""

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
