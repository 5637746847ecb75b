"""The waiting list: a freed time is offered to the first in line by e-mail and SMS, with a link
valid for a while; accepted, it is booked; declined or expired, the next in line is offered it.

A freed time (cancelled, moved, declined, expired) is a durable row (`FreedTime`) that the
outbox's engine hands to a worker, which offers it (`freed_times_offer`); beat's
`booking.expire_offers` expires the offers nobody answered. An offer and its e-mail and SMS are
written in one transaction and the messages leave through the outbox's channels. The patient
answers through the link's token, without signing in, as letters with an answer link have
always worked. What an
offer shows and what its answer books is on the patient's access log, by the system
("Venteliste").
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import Action, DataKind
from booking.models import (
    ACTIVE_STATUSES,
    AppointmentType,
    FreedTime,
    OfferMessage,
    SlotOffer,
    WaitingListEntry,
)
from booking.services.bookings import FREED_KIND, SlotTaken, book_slot, freed_time_record
from booking.slots import free_slots
from outbox import engine, kinds
from outbox.channels import Letter, notification_kind
from patients.access import PatientAccess, access_change_record, access_patient_as_system

SYSTEM = "Venteliste"
KIND = "booking.offermessage"
log = logging.getLogger(__name__)


def waiting_list_add(
    *, access: PatientAccess, appointment_type: AppointmentType, note=""
) -> WaitingListEntry:
    """Put the patient on the waiting list for an earlier time of this type."""
    if access.staff is None:
        raise ValidationError(_("Only staff put a patient on the waiting list."))
    if len(note) > 300:
        raise ValidationError({"note": _("At most %(n)s characters.") % {"n": 300}})
    if WaitingListEntry.objects.filter(
        patient=access.patient, appointment_type=appointment_type,
        status__in=[WaitingListEntry.Status.WAITING, WaitingListEntry.Status.OFFERED],
    ).exists():  # fmt: skip
        raise ValidationError(_("The patient is already on the waiting list for this."))
    try:
        with transaction.atomic():
            entry = WaitingListEntry.objects.create(
                patient=access.patient, appointment_type=appointment_type,
                added_by=access.user, note=note,
            )  # fmt: skip
            access_change_record(
                access, data_kind=DataKind.BOOKING, action=Action.CREATE, obj=entry
            )
    except IntegrityError:  # the same form sent twice at once
        raise ValidationError(_("The patient is already on the waiting list for this.")) from None
    return entry


def offer_next(*, appointment_type_id: int, starts_at: datetime) -> SlotOffer | None:
    """Offer a freed time to the first waiting patient who can take it; None when nobody can
    (or the time is no longer free)."""
    now = timezone.now()
    if starts_at <= now + timedelta(minutes=30):
        return None
    kind = AppointmentType.objects.get(pk=appointment_type_id)
    day = timezone.localtime(starts_at).date()
    if not free_slots(
        appointment_types=[kind], start_date=day, end_date=day, exact_start=starts_at, limit=1
    ):
        return None
    with transaction.atomic():
        # One offer at a time per type: the task of a freed time, a decline and the sweeper
        # may all reach for the same time at once.
        AppointmentType.objects.select_for_update().filter(pk=kind.pk).first()
        open_for_time = SlotOffer.objects.filter(
            entry__appointment_type=kind, starts_at=starts_at, status=SlotOffer.Status.OFFERED
        )
        if open_for_time.exists():  # already offered (a task delivered twice)
            return None
        tried = SlotOffer.objects.filter(
            entry__appointment_type=kind, starts_at=starts_at
        ).values_list("entry_id", flat=True)
        candidates = (
            WaitingListEntry.objects.select_for_update(of=("self",))
            .filter(appointment_type=kind, status=WaitingListEntry.Status.WAITING)
            .exclude(pk__in=list(tried))
            .select_related("patient")
            .order_by("created_at", "id")
        )
        for entry in candidates:
            end = starts_at + timedelta(minutes=kind.duration_minutes)
            busy = entry.patient.bookings.filter(
                status__in=ACTIVE_STATUSES, starts_at__lt=end, ends_at__gt=starts_at
            ).exists()
            if busy:
                continue
            valid = min(
                now + timedelta(minutes=settings.SUNDHED_OFFER_VALID_MINUTES),
                starts_at - timedelta(minutes=30),
            )
            offer = SlotOffer.objects.create(
                entry=entry, starts_at=starts_at, token=secrets.token_urlsafe(24), expires_at=valid
            )
            entry.status = WaitingListEntry.Status.OFFERED
            entry.save(update_fields=["status", "updated_at"])
            channels = [
                channel
                for channel, address in (
                    (OfferMessage.Channel.EMAIL, entry.patient.email),
                    (OfferMessage.Channel.SMS, entry.patient.phone),
                )
                if address
            ]
            OfferMessage.objects.bulk_create(
                [OfferMessage(offer=offer, channel=channel, due_at=now) for channel in channels]
            )
            if channels:
                engine.dispatch_on_commit(KIND)
            break
        else:
            return None
    return offer


def freed_times_offer(rows: list[FreedTime]) -> None:
    """The kind's step, in the transaction that holds the rows: offer each freed time to the
    first who can take it (a time offered already is not offered again: `offer_next` sees the
    open offer); one that raises is tried again after a while."""
    kind = kinds.get(FREED_KIND)
    for row in rows:
        try:
            with transaction.atomic():
                offer = offer_next(
                    appointment_type_id=row.appointment_type_id, starts_at=row.starts_at
                )
        except Exception as error:  # noqa: BLE001 - kept as the reason, tried again
            log.exception("offering freed time %s failed", row.pk)
            engine.retry(kind, row, reason=f"{type(error).__name__}: {error}")
            continue
        status = FreedTime.Status.OFFERED if offer else FreedTime.Status.NOBODY
        engine.finish(kind, row, status, offer=offer)


def register_freed_times() -> None:
    """Freed times are a held kind of the outbox: offering one is work inside the database."""
    kinds.register(
        kinds.Kind(
            name=FREED_KIND, model=FreedTime, perform=freed_times_offer,
            label=gettext_lazy("Freed times for the waiting list"),
            waiting=FreedTime.Status.PENDING, working=FreedTime.Status.OFFERING,
            failed=FreedTime.Status.FAILED, held=True, related=("appointment_type",),
        )
    )  # fmt: skip


def register_offer_messages() -> None:
    """Offers are a kind of message to patients (from BookingConfig.ready)."""
    notification_kind(
        name=KIND, model=OfferMessage, compose=offer_letter, system=SYSTEM,
        data_kind=DataKind.BOOKING, label=gettext_lazy("Offers of freed times"),
        related=("offer__entry__patient", "offer__entry__appointment_type__department__hospital"),
    )  # fmt: skip


def offer_letter(message: OfferMessage) -> Letter | str:
    """The offer's text with its answer link; an offer no longer open is not sent."""
    offer = message.offer
    status = SlotOffer.objects.filter(pk=offer.pk).values_list("status", flat=True)[0]
    if status != SlotOffer.Status.OFFERED or offer.expires_at <= timezone.now():
        return _("This offer is no longer open.")
    patient = offer.entry.patient
    department = offer.entry.appointment_type.department
    link = settings.SUNDHED_PUBLIC_URL.rstrip("/") + reverse(
        "booking:offer", kwargs={"token": offer.token}
    )
    with translation.override("da"):
        when = timezone.localtime(offer.starts_at)
        text = _(
            "An earlier time is free: %(date)s at %(time)s at %(where)s. Answer by %(until)s: "
            "%(link)s"
        ) % {
            "date": when.strftime("%d.%m.%Y"), "time": when.strftime("%H:%M"),
            "where": f"{department.name}, {department.hospital.name}",
            "until": timezone.localtime(offer.expires_at).strftime("%d.%m. %H:%M"), "link": link,
        }  # fmt: skip
        subject = _("An earlier time for you")
    return Letter(patient.pk, patient.email, patient.phone, subject, text)


def offer_get(token: str) -> SlotOffer | None:
    return (
        SlotOffer.objects.filter(token=token)
        .select_related("entry__patient", "entry__appointment_type__department__hospital")
        .first()
    )


def offer_accept(*, offer: SlotOffer):
    """Book the offered time; a time taken meanwhile is said so, and the patient keeps their
    place on the list. The offer is locked while it is answered: two clicks book once."""
    with transaction.atomic():
        locked = (
            SlotOffer.objects.select_for_update(of=("self",))
            .select_related("entry__patient", "entry__appointment_type", "entry__added_by")
            .get(pk=offer.pk)
        )
        if locked.status != SlotOffer.Status.OFFERED or locked.expires_at <= timezone.now():
            raise ValidationError(_("This offer is no longer open."))
        entry = locked.entry
        try:
            booking = book_slot(
                patient=entry.patient, appointment_type=entry.appointment_type,
                starts_at=locked.starts_at, booked_by=entry.added_by,
                note=_("From the waiting list"),
                record=lambda b: access_patient_as_system(
                    patient=entry.patient, data_kind=DataKind.BOOKING, action=Action.CREATE,
                    system=SYSTEM, object_type="booking.booking", object_id=str(b.public_id),
                ),
            )  # fmt: skip
        except (SlotTaken, ValidationError):
            booking = None
        if booking is not None:
            SlotOffer.objects.filter(pk=locked.pk).update(
                status=SlotOffer.Status.ACCEPTED, booking=booking
            )
            WaitingListEntry.objects.filter(pk=entry.pk).update(
                status=WaitingListEntry.Status.BOOKED
            )
            return booking
        SlotOffer.objects.filter(pk=locked.pk).update(status=SlotOffer.Status.TAKEN)
        WaitingListEntry.objects.filter(pk=entry.pk).update(status=WaitingListEntry.Status.WAITING)
    raise SlotTaken()


def offer_decline(*, offer: SlotOffer) -> None:
    """Say no to this time: the patient stays on the list; the next in line is offered it by
    a worker (the freed time's row), not while the patient's answer waits."""
    with transaction.atomic():
        if not SlotOffer.objects.filter(pk=offer.pk, status=SlotOffer.Status.OFFERED).update(
            status=SlotOffer.Status.DECLINED
        ):
            raise ValidationError(_("This offer is no longer open."))
        WaitingListEntry.objects.filter(pk=offer.entry_id).update(
            status=WaitingListEntry.Status.WAITING
        )
        freed_time_record(offer.entry.appointment_type_id, offer.starts_at)


def offers_expire(*, now=None) -> int:
    """Offers not answered in time: the patient stays on the list, the next in line is asked."""
    now = now or timezone.now()
    expired = list(
        SlotOffer.objects.filter(
            status=SlotOffer.Status.OFFERED, expires_at__lte=now
        ).select_related("entry")
    )
    count = 0
    for offer in expired:
        with transaction.atomic():
            # Only an offer still open expires (one answered a moment ago is left as answered).
            if not SlotOffer.objects.filter(pk=offer.pk, status=SlotOffer.Status.OFFERED).update(
                status=SlotOffer.Status.EXPIRED
            ):
                continue
            count += 1
            WaitingListEntry.objects.filter(pk=offer.entry_id).update(
                status=WaitingListEntry.Status.WAITING
            )
            # The time is freed again, in the same transaction: the next in line is asked by a
            # worker, and a lost task loses nothing.
            freed_time_record(offer.entry.appointment_type_id, offer.starts_at)
    return count
