"""The outbox of messages to patients: reminders and offers of freed times, by e-mail and SMS.

Each message is a row first (`OutboundMessage`), written with what causes it. `outbox_send`
claims due rows with SKIP LOCKED in small batches, writes each text from what it concerns as it
is now (a cancelled booking is not reminded, an answered offer not sent), marks the row handed
just before it leaves, sends it outside any transaction and records the outcome.
`outbox_sweep` looks at rows a dead worker left "sending": one never handed over goes back to the
queue; an SMS handed over is sent again with the same reference (the gateway answers with the
first message, nothing is delivered twice); an e-mail handed over is marked uncertain and never
sent again. `delivery_poll` asks the gateway what became of the SMS it accepted.
Every message sent is a disclosure of the patient's appointment, logged by the system.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from booking.models import OfferMessage, OutboundMessage, Reminder

log = logging.getLogger(__name__)
# Small claims: a batch is sent well within SUNDHED_REMINDER_STUCK_AFTER (10 × the 10 s SMTP
# timeout at worst), so the sweeper never takes a live worker's rows.
CLAIM = 10
# A failed SMS is tried this many times in all.
SMS_ATTEMPTS = 3


@dataclass(frozen=True)
class Letter:
    """What one message says, and to whom."""

    patient_id: int
    email: str
    phone: str
    subject: str
    body: str


@dataclass(frozen=True)
class Kind:
    """One kind of message in the outbox: its rows, how its text is written (a Letter, or the
    reason it is not sent), what it is called on the access log."""

    model: type[OutboundMessage]
    related: tuple[str, ...]
    compose: Callable[[OutboundMessage], Letter | str]
    system: str
    object_type: str
    # Only rows whose cause still stands are retried after a failure.
    retry_filter: dict


def kinds() -> list[Kind]:
    from booking.reminders import reminder_letter
    from booking.waiting import offer_letter

    return [
        Kind(
            model=Reminder,
            related=(
                "booking__patient",
                "booking__department__hospital",
                "booking__appointment_type",
            ),  # fmt: skip
            compose=reminder_letter,
            system="Påmindelser",
            object_type="booking.reminder",
            retry_filter={"booking__status": "booked"},
        ),
        Kind(
            model=OfferMessage,
            related=(
                "offer__entry__patient",
                "offer__entry__appointment_type__department__hospital",
            ),  # fmt: skip
            compose=offer_letter,
            system="Venteliste",
            object_type="booking.offermessage",
            retry_filter={"offer__status": "offered"},
        ),
    ]


def _claim(kind: Kind, now) -> list[OutboundMessage]:
    model = kind.model
    with transaction.atomic():
        ids = list(
            model.objects.select_for_update(skip_locked=True)
            .filter(status=model.Status.PENDING, due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:CLAIM]
        )
        model.objects.filter(pk__in=ids).update(
            status=model.Status.SENDING, claimed_at=now, handed_at=None,
            attempts=F("attempts") + 1,
        )  # fmt: skip
    claimed = model.objects.filter(pk__in=ids).select_related(*kind.related)
    return list(claimed.order_by("due_at", "pk"))


def outbox_send(*, now=None) -> dict:
    """Send every due message of every kind; returns counts of sent, failed and skipped."""
    from audit.models import Action, DataKind
    from patients.access import access_patients_as_system

    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for kind in kinds():
        touched = []
        while rows := _claim(kind, now):
            for row in rows:
                outcome, patient_id = _send_one(kind, row)
                counts[outcome] += 1
                if outcome == "sent":
                    touched.append((kind.system, patient_id, str(row.public_id)))
            if len(rows) < CLAIM:
                break
        if touched:
            access_patients_as_system(
                touched=touched, data_kind=DataKind.BOOKING, action=Action.VIEW,
                object_type=kind.object_type,
            )  # fmt: skip
    return counts


def _send_one(kind: Kind, row: OutboundMessage) -> tuple[str, int | None]:
    """Send one claimed row: ("sent" | "failed" | "skipped", the patient it concerns)."""
    letter = kind.compose(row)
    if isinstance(letter, str):
        _finish(row, row.Status.SKIPPED, error=letter[:300])
        return "skipped", None
    to = letter.email if row.channel == row.Channel.EMAIL else letter.phone
    if not to:
        _finish(row, row.Status.SKIPPED, error=_("The patient has no address for this channel."))
        return "skipped", letter.patient_id
    # Handed over from here: a worker that dies after this line may have sent it.
    type(row).objects.filter(pk=row.pk).update(handed_at=timezone.now())
    try:
        if row.channel == row.Channel.EMAIL:
            message = EmailMessage(letter.subject, letter.body, to=[to])
            message.extra_headers["Message-ID"] = f"<{row.public_id}@sundhed>"
            message.send()
            _finish(row, row.Status.SENT, delivery="smtp-accepted")
        else:
            answer = sms_send(
                to=to, text=f"{letter.subject}. {letter.body}", reference=str(row.public_id)
            )
            _finish(
                row, row.Status.SENT, gateway_id=answer.get("id", ""),
                delivery=answer.get("status", ""),
            )  # fmt: skip
        return "sent", letter.patient_id
    except Exception as error:  # noqa: BLE001 (a gateway or SMTP failure is recorded, not raised)
        log.warning("%s %s not sent: %s", type(row).__name__, row.pk, error)
        _finish(row, row.Status.FAILED, error=str(error)[:300])
        return "failed", letter.patient_id


def _finish(row: OutboundMessage, status: str, **fields) -> None:
    type(row).objects.filter(pk=row.pk, status=row.Status.SENDING).update(
        status=status, sent_at=timezone.now() if status == row.Status.SENT else None, **fields
    )


def _gateway(request: urllib.request.Request) -> dict:
    if not settings.SUNDHED_SMS_URL.startswith(("http://", "https://")):
        raise RuntimeError("SUNDHED_SMS_URL must be an http(s) address")
    request.add_header("X-Api-Key", settings.SUNDHED_SMS_API_KEY)
    try:
        with urllib.request.urlopen(request, timeout=settings.SUNDHED_SMS_TIMEOUT) as answer:  # noqa: S310 (the scheme is checked above)
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        detail = error.read()[:200].decode(errors="replace")
        raise RuntimeError(f"SMS gateway {error.code}: {detail}") from None


def sms_send(*, to: str, text: str, reference: str) -> dict:
    """POST one SMS to the gateway; the reference makes a repeated request harmless."""
    return _gateway(
        urllib.request.Request(  # noqa: S310 (the scheme is checked in _gateway)
            settings.SUNDHED_SMS_URL,
            data=json.dumps({"to": to, "text": text, "reference": reference}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    )


def outbox_sweep(*, now=None) -> dict:
    """Rows a dead worker left "sending", and failed SMS tried again while their cause stands."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.SUNDHED_REMINDER_STUCK_AFTER)
    counts = {"requeued": 0, "uncertain": 0, "again": 0, "retried": 0}
    for kind in kinds():
        model = kind.model
        stuck = model.objects.filter(status=model.Status.SENDING, claimed_at__lt=stuck_before)
        counts["requeued"] += stuck.filter(handed_at__isnull=True).update(
            status=model.Status.PENDING
        )
        counts["uncertain"] += stuck.filter(channel=model.Channel.EMAIL).update(
            status=model.Status.UNCERTAIN,
            error=_("The sender stopped while sending; not sent again, so never twice."),
        )
        counts["again"] += stuck.filter(channel=model.Channel.SMS).update(
            status=model.Status.PENDING
        )
        counts["retried"] += model.objects.filter(
            status=model.Status.FAILED, channel=model.Channel.SMS, attempts__lt=SMS_ATTEMPTS,
            **kind.retry_filter,
        ).update(status=model.Status.PENDING)  # fmt: skip
    return counts


def delivery_poll(*, now=None, within_hours: int = 48) -> int:
    """Ask the gateway what became of each SMS it accepted in the last two days and has not yet
    reported delivered or undeliverable; returns how many changed."""
    now = now or timezone.now()
    changed = 0
    for kind in kinds():
        model = kind.model
        open_rows = model.objects.filter(
            channel=model.Channel.SMS, status=model.Status.SENT, delivery="accepted",
            sent_at__gte=now - timedelta(hours=within_hours),
        ).exclude(gateway_id="")[:200]  # fmt: skip
        for row in open_rows:
            url = f"{settings.SUNDHED_SMS_URL.rstrip('/')}/{row.gateway_id}"
            try:
                answer = _gateway(urllib.request.Request(url, method="GET"))  # noqa: S310
            except Exception as error:  # noqa: BLE001 (asked again at the next poll)
                log.warning("delivery of %s not known: %s", row.gateway_id, error)
                continue
            status = str(answer.get("status", ""))[:20]
            changed += (
                model.objects.filter(pk=row.pk)
                .exclude(delivery=status)
                .update(delivery=status, delivery_checked_at=now)
            )
    return changed
