"""Taking in what laboratories send: store first, answer after the commit, never lose a message."""

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop

from audit.models import Action, DataKind, LegalBasis
from labresults.fhir_bundle import (
    FHIR,
    bundle_identity,
    bundle_parse,
    extract_fhir_results,
)
from labresults.hl7.ack import build_ack
from labresults.hl7.oru import extract_results
from labresults.hl7.parser import Hl7Error, Message, Reason, parse
from labresults.hl7.siu import extract_schedule, is_schedule
from labresults.kinds import INBOUND as INBOUND_KIND
from labresults.models import (
    FhirSource,
    InboundMessage,
    MllpSender,
    SystemClient,
)
from outbox import engine
from outbox.models import reason_columns
from patients.access import access_events_for_list
from patients.selectors import patient_by_cpr


@dataclass(frozen=True)
class Receipt:
    """What the receiver answers: the ACK bytes, and the row (None for a duplicate)."""

    ack: bytes
    code: str
    message: InboundMessage | None
    duplicate: bool = False


def fhir_bundle_receive(*, raw: bytes, transport: str, sender: str) -> Receipt:
    """Store one FHIR R4 Bundle and commit; the same answers as for HL7 v2, in words.

    A bundle that is not valid FHIR, or holds no report, is stored as failed with the reason.
    """
    fields = {
        "raw": raw,
        "transport": transport,
        "sender": _storable(sender, 200),
        "message_type": FHIR,
        "content_digest": InboundMessage.digest_of(raw),
    }
    try:
        bundle = bundle_parse(raw)
        fields["control_id"] = _storable(bundle_identity(bundle), 100)
        extract_fhir_results(raw)
    except Hl7Error as error:
        row = InboundMessage(**fields)
        row.reason_set(InboundMessage.Status.FAILED, error.why)
        row.save(force_insert=True)
        return Receipt(b"", error.code, row)
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(**fields, status=InboundMessage.Status.RECEIVED)
            engine.dispatch_on_commit(INBOUND_KIND, row.pk)
    except IntegrityError:
        return Receipt(b"", "AA", None, True)
    return Receipt(b"", "AA", row)


def _storable(text: str, limit: int) -> str:
    """Header text as PostgreSQL can store it: a NUL byte becomes U+FFFD (the raw bytes keep it)."""
    return text.replace("\x00", "\ufffd")[:limit]


def _failed(reason: Reason) -> dict:
    """A stored message's fields for a failure: its status and why (translatable)."""
    return {"status": InboundMessage.Status.FAILED, **reason_columns(reason)}


def mllp_sender_refusal(
    sender: str, *, address, certificate_subject, known: dict | None = None
) -> Reason | None:
    """Why an MLLP message from this sender and address is refused, or None when it is known.

    `known` remembers the registrations already looked up (one group of messages)."""
    if not settings.SUNDHED_MLLP_REQUIRE_REGISTERED:
        return None
    if known is None or sender not in known:
        application, _at, facility = sender.partition("@")
        registration = MllpSender.objects.filter(
            application=application, facility=facility, is_active=True
        ).first()
        if known is None:
            known = {}
        known[sender] = registration
    registration = known[sender]
    if registration is None:
        return Reason(
            _noop("Unknown sender %(sender)s: register it as an MLLP sender."),
            sender=sender or Reason(_noop("(none)")),
        )
    if not registration.allows(address, certificate_subject):
        return Reason(
            _noop(
                "Sender %(sender)s may not send from %(address)s (see its MLLP sender "
                "registration)."
            ),
            sender=sender,
            address=address or Reason(_noop("an unknown address")),
        )
    return None


@dataclass(frozen=True)
class Incoming:
    """One HL7 v2 message as it arrived: the bytes and where from."""

    raw: bytes
    transport: str
    address: str | None = None
    certificate_subject: str | None = None
    check_sender: bool = False


@dataclass
class _Reading:
    """A message read before it is stored: its row's fields and what the ACK will say."""

    fields: dict
    message: Message | None
    code: str
    reason: str

    def receipt(self, row: InboundMessage | None) -> Receipt:
        if row is None:
            ack = build_ack(self.message, "AA", "Duplicate; already received")
            return Receipt(ack, "AA", None, True)
        return Receipt(build_ack(self.message, self.code, self.reason), self.code, row)


def _read(incoming: Incoming, known: dict | None = None) -> _Reading:
    """Parse and check one message; nothing is written."""
    try:
        message = parse(incoming.raw)
    except Hl7Error as error:
        fields = {"raw": incoming.raw, "transport": incoming.transport, **_failed(error.why)}
        return _Reading(fields, None, error.code, error.reason)
    if incoming.check_sender and (
        refusal := mllp_sender_refusal(
            message.sender,
            address=incoming.address,
            certificate_subject=incoming.certificate_subject,
            known=known,
        )
    ):
        # Kept, without its control id: when the sender is registered and sends it again, it
        # must not be taken for a duplicate of this refused copy.
        kept = Reason(
            _noop("%(why)s Control id %(control_id)s."), why=refusal, control_id=message.control_id
        )
        fields = {
            "raw": incoming.raw,
            "transport": incoming.transport,
            "sender": _storable(message.sender, 200),
            "message_type": _storable(message.message_type, 30),
            **_failed(kept),
            "sender_refused": True,
        }
        return _Reading(fields, message, "AR", str(refusal))
    fields = {
        "raw": incoming.raw,
        "transport": incoming.transport,
        "sender": _storable(message.sender, 200),
        "control_id": _storable(message.control_id, 100),
        "content_digest": InboundMessage.digest_of(incoming.raw),
        "message_type": _storable(message.message_type, 30),
        "status": InboundMessage.Status.RECEIVED,
    }
    try:
        if is_schedule(message):  # an appointment of an external scheduling system
            extract_schedule(message)
        else:
            extract_results(message, values=False)
    except Hl7Error as error:
        fields.update(_failed(error.why))
        return _Reading(fields, message, error.code, error.reason)
    return _Reading(fields, message, "AA", "")


def inbound_message_receive(
    *,
    raw: bytes,
    transport: str,
    address: str | None = None,
    certificate_subject: str | None = None,
    check_sender: bool = False,
) -> Receipt:
    """Store one HL7 v2 message and commit; only then build the ACK that says so.

    AA when stored for processing, AA for a duplicate of a stored one, AE/AR with the reason
    when it cannot be taken; a refused message is stored too (status failed), so nothing is lost.
    The MLLP receiver asks `check_sender`: the sender must be registered for the address it
    connects from (AR otherwise).
    """
    incoming = Incoming(raw, transport, address, certificate_subject, check_sender)
    return inbound_messages_receive(messages=[incoming])[0]


def inbound_messages_receive(
    *, messages: list[Incoming], on_stored: Callable[[list[int]], None] | None = None
) -> list[Receipt]:
    """Store a group of messages in one transaction (group commit), then answer each.

    What arrives on all connections while the previous group is being committed is stored
    together: one statement and one commit instead of one of each per message. Every ACK still
    leaves only after its row is committed. A duplicate (the same sender, control id and
    content, stored before or earlier in the group) is left out by the insert itself.

    The rows to process are handed to a worker after the commit, or to `on_stored` (the MLLP
    receiver gathers many groups into one task).
    """
    known: dict = {}
    readings = [_read(incoming, known) for incoming in messages]
    rows = [InboundMessage(**reading.fields) for reading in readings]
    with transaction.atomic():
        _insert_new(rows)
        waiting = [
            row.pk for row in rows if row.pk and row.status == InboundMessage.Status.RECEIVED
        ]
        if waiting:
            # Only once the rows are committed may a worker look for them.
            if on_stored is None:
                engine.dispatch_on_commit(INBOUND_KIND, waiting)
            else:
                transaction.on_commit(lambda: on_stored(waiting))
    return [
        reading.receipt(row if row.pk else None)
        for reading, row in zip(readings, rows, strict=True)
    ]


_INBOUND_FIELDS = [f for f in InboundMessage._meta.concrete_fields if not f.primary_key]


def _insert_new(rows: list[InboundMessage]) -> None:
    """Insert the rows in one statement; those the unique key finds stored already (a re-send:
    same sender, control id and content) are skipped and keep no primary key.

    Django's bulk_create cannot skip conflicts and say which rows it inserted; this asks
    PostgreSQL for the ids of the inserted rows by their public ids."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in _INBOUND_FIELDS)
    one_row = "(" + ", ".join(["%s"] * len(_INBOUND_FIELDS)) + ")"
    params = [
        f.get_db_prep_save(f.pre_save(row, True), connection)
        for row in rows
        for f in _INBOUND_FIELDS
    ]
    # Names come from the model, every value is a parameter.
    sql = (
        f"INSERT INTO {quote(InboundMessage._meta.db_table)} ({columns}) VALUES "  # noqa: S608
        f"{', '.join([one_row] * len(rows))} ON CONFLICT DO NOTHING "
        f"RETURNING {quote('id')}, {quote('public_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = {public_id: pk for pk, public_id in cursor.fetchall()}
    for row in rows:
        row.pk = inserted.get(row.public_id)
        if row.pk:
            row._state.adding, row._state.db = False, connection.alias


def inbound_message_reprocess(
    *, message: InboundMessage, user, patient=None, cpr: str = "", fixed_text: str = ""
) -> InboundMessage:
    """Staff matched a patient by hand (or by `cpr`) or fixed the text: queue it again.

    The original bytes stay as received; the fix and the match are stored beside them, with who
    did it, and the access log records the match for the patient. An unknown or malformed CPR
    number is a ValidationError on `cpr`.
    """
    if message.sender_refused:
        raise ValidationError(
            _(
                "The sender of this message is not registered: register it, and the laboratory "
                "sends the message again."
            ),
            code="sender",
        )
    if cpr.strip():
        try:
            patient = patient_by_cpr(cpr)
        except ValidationError as error:
            raise ValidationError({"cpr": error.messages}) from None
    fixed_text = fixed_text.strip()
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if message.status not in (InboundMessage.Status.UNMATCHED, InboundMessage.Status.FAILED):
            return message
        if patient is not None:
            message.matched_patient = patient
        if fixed_text:
            message.fixed_text = fixed_text.replace("\r\n", "\r").replace("\n", "\r")
        message.reason_set(InboundMessage.Status.RECEIVED, "")
        message.handled_by = user
        message.due_at = timezone.now()
        message.save(
            update_fields=[
                *InboundMessage.REASON_FIELDS,
                "due_at",
                "matched_patient",
                "fixed_text",
                "handled_by",
                "updated_at",
            ]
        )
        if patient is not None:
            access_events_for_list(
                user=user,
                patients=[patient],
                data_kind=DataKind.LAB_RESULTS,
                action=Action.UPDATE,
                legal_basis=LegalBasis.ADMINISTRATION,
                reason="Matched a laboratory message by hand",
                obj=message,
            )
        engine.dispatch_on_commit(INBOUND_KIND, message.pk)
    return message


def inbound_message_conflict_resolve(*, message: InboundMessage, user, action: str):
    """Staff decide a report-number conflict: file the message as a new report of its own
    patient (`new_report`: its report numbers get a suffix, so the other patient's report stays
    as it is), or `reject` it. Audited for the message's patient."""
    if action not in ("new_report", "reject"):
        raise ValidationError({"action": _("Choose: file as a new report, or reject.")})
    with transaction.atomic():
        message = InboundMessage.objects.select_for_update().get(pk=message.pk)
        if message.status != InboundMessage.Status.CONFLICT:
            raise ValidationError(_("This message is no longer a conflict."), code="state")
        if action == "new_report":
            message.report_key_suffix = message.public_id.hex[:8]
            message.reason_set(InboundMessage.Status.RECEIVED, "")
        else:
            message.reason_set(
                InboundMessage.Status.REJECTED,
                Reason(
                    _noop("Rejected by %(user)s: report number of another patient."),
                    user=user.get_username(),
                ),
            )
        message.handled_by = user
        message.save(
            update_fields=[
                *InboundMessage.REASON_FIELDS,
                "report_key_suffix",
                "handled_by",
                "updated_at",
            ]
        )
        if message.matched_patient_id:
            access_events_for_list(
                user=user,
                patients=[message.matched_patient_id],
                data_kind=DataKind.LAB_RESULTS,
                action=Action.UPDATE,
                legal_basis=LegalBasis.ADMINISTRATION,
                reason=f"Report-number conflict resolved: {action}",
                obj=message,
            )
        if message.status == InboundMessage.Status.RECEIVED:
            engine.dispatch_on_commit(INBOUND_KIND, message.pk)
    return message


def fhir_source_pull(*, source, timeout: float = 10.0) -> Receipt | None:
    """Ask a FHIR source for reports updated since the last successful pull and store them.

    The moment asked from moves forward only when the answer was stored, so a failed pull is
    simply repeated; re-pulled reports change nothing (the same bundle id is a duplicate, and
    the upsert by stable keys is idempotent anyway).
    """
    started = timezone.now()
    query = {"_include": "DiagnosticReport:result"}
    if source.pulled_until:
        query["_lastUpdated"] = "gt" + source.pulled_until.isoformat()
    url = f"{source.base_url.rstrip('/')}/DiagnosticReport?{urlencode(query)}"
    if not url.startswith(("http://", "https://")):
        FhirSource.objects.filter(pk=source.pk).update(last_error="Only http(s) addresses.")
        return None
    request = Request(url, headers={"Accept": "application/fhir+json"})  # noqa: S310 - checked
    try:
        with urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked above
            raw = response.read()
    except (URLError, OSError) as error:
        FhirSource.objects.filter(pk=source.pk).update(last_error=f"{started:%H:%M:%S} {error}")
        return None
    receipt = None
    if b'"DiagnosticReport"' in raw:
        receipt = fhir_bundle_receive(
            raw=raw, transport=InboundMessage.Transport.PULL, sender=source.name
        )
    # A little overlap: a report stamped while we asked is asked for again, never missed.
    FhirSource.objects.filter(pk=source.pk).update(
        pulled_until=started - timedelta(seconds=5), last_error=""
    )
    return receipt


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def system_client_create(*, name: str) -> tuple[SystemClient, str]:
    """Register a system; return it and its token, which is shown once and never stored."""
    token = secrets.token_urlsafe(32)
    return SystemClient.objects.create(name=name, token_hash=token_hash(token)), token
