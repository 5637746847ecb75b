"""Writes of labresults: taking in messages from laboratories."""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from labresults.hl7.ack import build_ack
from labresults.hl7.oru import extract_results
from labresults.hl7.parser import Hl7Error, parse
from labresults.models import InboundMessage


@dataclass(frozen=True)
class Receipt:
    """What the receiver answers: the ACK bytes, and the row (None for a duplicate)."""

    ack: bytes
    code: str
    message: InboundMessage | None
    duplicate: bool = False


def inbound_message_receive(*, raw: bytes, transport: str) -> Receipt:
    """Store one HL7 v2 message and commit; only then build the ACK that says so.

    AA when stored for processing, AA for a duplicate of a stored one, AE/AR with the reason
    when it cannot be taken; a refused message is stored too (status failed), so nothing is lost.
    """
    try:
        message = parse(raw)
    except Hl7Error as error:
        row = InboundMessage.objects.create(
            raw=raw, transport=transport, status=InboundMessage.Status.FAILED, error=error.reason
        )
        return Receipt(build_ack(None, error.code, error.reason), error.code, row)

    reason, code = "", "AA"
    try:
        extract_results(message)
    except Hl7Error as error:
        reason, code = error.reason, error.code
    fields = {
        "raw": raw,
        "transport": transport,
        "sender": message.sender[:200],
        "control_id": message.control_id[:100],
        "message_type": message.message_type[:30],
        "status": InboundMessage.Status.FAILED if reason else InboundMessage.Status.RECEIVED,
        "error": reason,
    }
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(**fields)
            if row.status == InboundMessage.Status.RECEIVED:
                # Only once the row is committed may a worker look for it.
                transaction.on_commit(lambda: _enqueue(row.pk))
    except IntegrityError:
        # The same sender sent this control id before: it is safe with us already.
        return Receipt(build_ack(message, "AA", "Duplicate; already received"), "AA", None, True)
    return Receipt(build_ack(message, code, reason), code, row)


def _enqueue(message_id: int) -> None:
    from labresults.tasks import process_inbound_message

    try:
        process_inbound_message.delay(message_id)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweeper picks the row up
        import logging

        logging.getLogger(__name__).warning("could not enqueue message %s", message_id)
