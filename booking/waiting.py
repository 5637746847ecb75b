"""The waiting list: a freed time is offered to the first in line by e-mail and SMS, with a link
valid for a while; accepted, it is booked; declined or expired, the next in line is offered it.

Offers are written and sent by tasks (`booking.offer_freed_time`, beat's
`booking.expire_offers`); the patient answers through the link's token, without signing in, as
letters with an answer link have always worked. What an offer shows and what its answer books is
on the patient's access log, by the system ("Venteliste").
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from booking.models import ACTIVE_STATUSES, AppointmentType, SlotOffer, WaitingListEntry
from booking.services import SlotTaken, book_slot
from booking.slots import free_slots
from patients.access import PatientAccess, access_change_record, access_patient_as_system

SYSTEM = "Venteliste"
log = logging.getLogger(__name__)


def waiting_list_add(
    *, access: PatientAccess, appointment_type: AppointmentType, note=""
) -> WaitingListEntry:
    """Put the patient on the waiting list for an earlier time of this type."""
    if access.staff is None:
        raise ValidationError(_("Only staff put a patient on the waiting list."))
    if WaitingListEntry.objects.filter(
        patient=access.patient, appointment_type=appointment_type,
        status__in=[WaitingListEntry.Status.WAITING, WaitingListEntry.Status.OFFERED],
    ).exists():  # fmt: skip
        raise ValidationError(_("The patient is already on the waiting list for this."))
    try:
        with transaction.atomic():
            entry = WaitingListEntry.objects.create(
                patient=access.patient, appointment_type=appointment_type,
                added_by=access.user, note=note[:300],
            )  # fmt: skip
            access_change_record(
                access, data_kind=DataKind.BOOKING, action=Action.CREATE, obj=entry
            )
    except IntegrityError:  # the same form sent twice at once
        raise ValidationError(_("The patient is already on the waiting list for this.")) from None
    return entry


def offer_next(
    *, appointment_type_id: int, starts_at: datetime, base_url: str = ""
) -> SlotOffer | None:
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
            break
        else:
            return None
    _send(offer, base_url)
    return offer


def _send(offer: SlotOffer, base_url: str) -> None:
    """The offer by e-mail and SMS; what went is noted on the offer (an SMS carries the offer's
    id as its reference, so it is never delivered twice)."""
    from booking.reminders import sms_send

    patient = offer.entry.patient
    department = offer.entry.appointment_type.department
    link = (base_url or settings.SUNDHED_PUBLIC_URL).rstrip("/") + reverse(
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
    sent = []
    if patient.email:
        try:
            EmailMessage(subject, text, to=[patient.email]).send()
            sent.append("email")
        except Exception as error:  # noqa: BLE001 (the SMS may still reach the patient)
            log.warning("offer %s: e-mail not sent: %s", offer.pk, error)
    if patient.phone:
        try:
            sms_send(to=patient.phone, text=text, reference=f"offer-{offer.public_id}")
            sent.append("sms")
        except Exception as error:  # noqa: BLE001
            log.warning("offer %s: SMS not sent: %s", offer.pk, error)
    SlotOffer.objects.filter(pk=offer.pk).update(sent=",".join(sent))
    access_patient_as_system(
        patient=patient, data_kind=DataKind.BOOKING, action=Action.VIEW, system=SYSTEM,
        object_type="booking.slotoffer", object_id=str(offer.public_id),
    )  # fmt: skip


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


def offer_decline(*, offer: SlotOffer, base_url: str = "") -> SlotOffer | None:
    """Say no to this time: the patient stays on the list; the next in line is offered it."""
    if offer.status != SlotOffer.Status.OFFERED:
        raise ValidationError(_("This offer is no longer open."))
    SlotOffer.objects.filter(pk=offer.pk).update(status=SlotOffer.Status.DECLINED)
    WaitingListEntry.objects.filter(pk=offer.entry_id).update(
        status=WaitingListEntry.Status.WAITING
    )
    return offer_next(
        appointment_type_id=offer.entry.appointment_type_id, starts_at=offer.starts_at,
        base_url=base_url,
    )  # fmt: skip


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
        # Only an offer still open expires (one answered a moment ago is left as answered).
        if not SlotOffer.objects.filter(pk=offer.pk, status=SlotOffer.Status.OFFERED).update(
            status=SlotOffer.Status.EXPIRED
        ):
            continue
        count += 1
        WaitingListEntry.objects.filter(pk=offer.entry_id).update(
            status=WaitingListEntry.Status.WAITING
        )
        offer_next(appointment_type_id=offer.entry.appointment_type_id, starts_at=offer.starts_at)
    return count
