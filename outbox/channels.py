"""The channels to patients: e-mail (SMTP) and SMS (the gateway's HTTP API), and notification
kinds that any app registers to tell a patient something through them.

An app registers a `notification_kind` with its table (a `Notification`), how a row's text is
written (`compose(row) -> Letter`, or the reason it is not sent) and what the message discloses
on the access log. The texts carry no health content beyond what the app puts in its letter.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar, cast

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_noop

from audit.models import Action
from common.reasons import Reason
from outbox import engine
from outbox.kinds import Kind, Retry, all_kinds, register
from outbox.models import Notification, reason_columns
from patients.access import access_patients_as_system

log = logging.getLogger(__name__)
STOPPED_WHILE_SENDING = gettext_noop(
    "The sender stopped while sending; not sent again, so never twice."
)


@dataclass(frozen=True)
class Letter:
    """What one message says, and to whom."""

    patient_id: int
    email: str
    phone: str
    subject: str
    body: str


# --- The SMS gateway ---------------------------------------------------------------------------


def _gateway(request: urllib.request.Request) -> dict:
    if not settings.SUNDHED_SMS_URL.startswith(("http://", "https://")):
        raise RuntimeError("SUNDHED_SMS_URL must be an http(s) address")
    request.add_header("X-Api-Key", settings.SUNDHED_SMS_API_KEY or "")
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


def email_send(*, to: str, subject: str, body: str, reference: str) -> None:
    """Hand one e-mail to the mail server, with the row's id as its Message-ID."""
    message = EmailMessage(subject, body, to=[to])
    message.extra_headers["Message-ID"] = f"<{reference}@sundhed>"
    message.send()


# --- Notification kinds -------------------------------------------------------------------------


def _stale_handed(rows: QuerySet) -> dict[str, int]:
    """A dead worker had handed these over: an SMS goes again with its reference (the gateway
    delivers it once); an e-mail cannot be recognised, so it is perhaps sent and never resent."""
    now = timezone.now()
    emails = rows.filter(channel=Notification.Channel.EMAIL).update(
        status=Notification.Status.UNCERTAIN, finished_at=now,
        **reason_columns(Reason(STOPPED_WHILE_SENDING)),
    )  # fmt: skip
    sms = rows.filter(channel=Notification.Channel.SMS).update(
        status=Notification.Status.PENDING, claim_token=None, claimed_at=None, handed_at=None
    )
    return {"uncertain": emails, "again": sms}


N = TypeVar("N", bound=Notification)


def notification_kind(
    *, name: str, model: type[N], compose: Callable[[N], Letter | str],
    system: str, data_kind: str, label: str | Promise = "", related: tuple[str, ...] = (),
) -> Kind:  # fmt: skip
    """Register a kind of message to patients; its rows are sent by e-mail or SMS."""
    kind: Kind

    def perform(rows: list[Notification]) -> None:
        _notifications_send(kind, rows, compose=compose, system=system, data_kind=data_kind)

    kind = register(
        Kind(
            name=name,
            model=model,
            perform=perform,
            label=label or name,
            stale_after_setting="SUNDHED_NOTIFICATION_STALE_AFTER",
            stale_handed=_stale_handed,
            retry=Retry(attempts=3, first=60, longest=900),
            related=related,
        )  # fmt: skip
    )
    return kind


def _notifications_send(kind, rows, *, compose, system, data_kind) -> None:
    touched = []
    for row in rows:
        patient_id = _notification_send(kind, row, compose)
        if patient_id is not None and row.status == Notification.Status.SENT:
            touched.append((system, patient_id, _reference(row)))
    if touched:
        # Each message sent is a disclosure of what it says, by the system.
        access_patients_as_system(
            touched=touched, data_kind=data_kind, action=Action.VIEW,
            object_type=kind.model._meta.label_lower,
        )  # fmt: skip


def _notification_send(kind: Kind, row: Notification, compose) -> int | None:
    """Send one claimed row; returns the patient it concerns (None when not composed)."""
    letter = compose(row)
    if isinstance(letter, str):
        engine.finish(kind, row, Notification.Status.SKIPPED, reason=letter)
        return None
    to = letter.email if row.channel == Notification.Channel.EMAIL else letter.phone
    if not to:
        engine.finish(
            kind, row, Notification.Status.SKIPPED,
            reason=Reason(gettext_noop("The patient has no address for this channel.")),
        )  # fmt: skip
        return letter.patient_id
    # Handed over from here: a worker that dies after this line may have sent it.
    if not engine.hand(kind, row):
        return None
    try:
        if row.channel == Notification.Channel.EMAIL:
            email_send(to=to, subject=letter.subject, body=letter.body, reference=_reference(row))
            engine.finish(kind, row, Notification.Status.SENT, delivery="smtp-accepted")
        else:
            answer = sms_send(
                to=to, text=f"{letter.subject}. {letter.body}", reference=_reference(row)
            )
            engine.finish(
                kind, row, Notification.Status.SENT, gateway_id=answer.get("id", ""),
                delivery=answer.get("status", ""),
            )  # fmt: skip
    except Exception as error:  # noqa: BLE001 (a gateway or SMTP failure is recorded, not raised)
        log.warning("%s %s not sent: %s", kind.name, row.pk, error)
        if row.channel == Notification.Channel.EMAIL:
            # The mail server may have taken it before it failed: never sent twice.
            engine.finish(kind, row, Notification.Status.FAILED, reason=str(error)[:300])
        else:
            engine.retry(kind, row, reason=str(error)[:300])
    return letter.patient_id


def _reference(row: Notification) -> str:
    """The row's public id: the SMS gateway's reference and the e-mail's Message-ID."""
    # Every table of notifications is also a BaseModel, which has the public id.
    return str(row.public_id)  # type: ignore[attr-defined]


def notification_kinds() -> list[Kind]:
    return [kind for kind in all_kinds() if issubclass(kind.model, Notification)]


def delivery_poll(*, now=None, within_hours: int = 48) -> int:
    """Ask the gateway what became of each SMS it accepted in the last two days and has not yet
    reported delivered or undeliverable; returns how many changed."""
    now = now or timezone.now()
    changed = 0
    for kind in notification_kinds():
        model = kind.model
        open_rows = model._default_manager.filter(
            channel=Notification.Channel.SMS, status=Notification.Status.SENT,
            delivery="accepted", finished_at__gte=now - timedelta(hours=within_hours),
        ).exclude(gateway_id="")[:200]  # fmt: skip
        for row in cast(list[Notification], list(open_rows)):
            url = f"{settings.SUNDHED_SMS_URL.rstrip('/')}/{row.gateway_id}"
            try:
                answer = _gateway(urllib.request.Request(url, method="GET"))  # noqa: S310
            except Exception as error:  # noqa: BLE001 (asked again at the next poll)
                log.warning("delivery of %s not known: %s", row.gateway_id, error)
                continue
            status = str(answer.get("status", ""))[:20]
            changed += (
                model._default_manager.filter(pk=row.pk)
                .exclude(delivery=status)
                .update(delivery=status, delivery_checked_at=now)
            )
    return changed
