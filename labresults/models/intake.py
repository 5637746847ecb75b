"""What arrives from laboratories: raw messages, and who may send them (MLLP, HTTP, FHIR pull)."""

import hashlib
import ipaddress

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from outbox.models import DurableJob, reason_columns


class InboundMessage(DurableJob, BaseModel):
    """One message as a laboratory sent it; stored and committed before the ACK goes out.

    The raw bytes are never changed. It is an inbox of the outbox's engine with a held claim:
    a worker locks waiting (`received`) rows and files them in the same transaction; a killed
    worker's rows wait again, and the sweeper hands over what waits, so a lost queue message or
    a killed worker loses nothing. (`processing` is the claimed status of the engine's
    committed claim, which this inbox does not use.)
    """

    class Transport(models.TextChoices):
        MLLP = "mllp", _("HL7 v2 over MLLP")
        HTTP = "http", _("HTTP")
        PULL = "pull", _("FHIR pull")

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSING = "processing", _("Being processed")
        PROCESSED = "processed", _("Processed")
        UNMATCHED = "unmatched", _("Patient not matched")
        FAILED = "failed", _("Failed")
        # Its report key (sender + filler order number) is another patient's report: nothing
        # is changed in either record until laboratory staff decide.
        CONFLICT = "conflict", _("Report number of another patient")
        REJECTED = "rejected", _("Rejected")

    raw = models.BinaryField(_("message as received"))
    transport = models.CharField(_("transport"), max_length=10, choices=Transport.choices)
    sender = models.CharField(_("sender"), max_length=200, blank=True)
    control_id = models.CharField(_("message control id"), max_length=100, blank=True)
    # SHA-256 of the message with its segment separators normalised: a re-send is the same
    # sender, control id AND content; a reused control id with other content is a new message.
    content_digest = models.CharField(_("content digest"), max_length=64, blank=True)
    message_type = models.CharField(_("message type"), max_length=30, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.RECEIVED
    )
    # Why (`reason`, the English text as the ACK said it; its template and values, so the
    # queues show it in the reader's language) and the attempts are the durable job's.
    # From a sender that is not registered (or not from its addresses): answered AR and kept,
    # but never filed by a click in the queue; the laboratory sends it again once registered.
    sender_refused = models.BooleanField(_("sender refused"), default=False)
    # Set by staff in the queues: the patient matched by hand, and a corrected text. The raw
    # bytes as received are kept unchanged beside them.
    matched_patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("patient matched by hand"),
        db_index=False,
    )
    fixed_text = models.TextField(_("corrected message"), blank=True)
    # A conflict: the patient whose report has the same key, and, when staff file the message
    # as a new report, the suffix that keeps its reports apart from that patient's.
    conflict_patient = models.ForeignKey(
        "patients.Patient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("patient with the same report number"),
        db_index=False,
    )
    report_key_suffix = models.CharField(_("report number suffix"), max_length=20, blank=True)
    # Not indexed: the three references above are empty for nearly every message, and messages
    # are found by status and time; every index costs every insert and status change.
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("handled by"),
        db_index=False,
    )

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-received_at"]
        constraints = [
            # A re-sent message (same sender, same MSH-10) is acknowledged, not stored twice.
            models.UniqueConstraint(
                fields=["sender", "control_id", "content_digest"],
                condition=~Q(control_id=""),
                name="labresults_inbound_unique_control_id",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="labresults_inbound_status"),
            # The engine's claim: the few waiting rows, oldest due first.
            models.Index(
                fields=["due_at"], name="labresults_inbound_waiting",
                condition=Q(status="received"),
            ),
        ]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.message_type or '?'} {self.control_id or self.public_id} ({self.status})"

    @staticmethod
    def digest_of(raw: bytes) -> str:
        """The content digest: segment separators (CR, LF, CRLF) as CR, trailing ones dropped."""
        normal = raw.replace(b"\r\n", b"\r").replace(b"\n", b"\r").rstrip(b"\r")
        return hashlib.sha256(normal).hexdigest()

    # What reason_set changes: for save(update_fields=...).
    REASON_FIELDS = ("status", "reason", "reason_template", "reason_params")

    def reason_set(self, status: str, reason) -> None:
        """Set the status and why: a `Reason` (shown translated) or plain text."""
        self.status = status
        for name, value in reason_columns(reason).items():
            setattr(self, name, value)

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
