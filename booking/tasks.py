"""Celery adapters of booking: reminders are planned and offers expired by beat; a freed time is
offered when it is freed. The messages themselves are sent by the outbox's one task."""

from datetime import datetime

from celery import shared_task

from booking.services import reminders
from booking.services.bookings import OFFER_TASK
from booking.services.waiting import offer_next, offers_expire, offers_for_freed_times


@shared_task(name="booking.plan_reminders")
def plan_reminders() -> int:
    return reminders.reminders_plan()


@shared_task(name=OFFER_TASK, acks_late=True)
def offer_freed_time(appointment_type_id: int, starts_at: str) -> str:
    """A cancelled or moved appointment freed a time: offer it to the waiting list."""
    offer = offer_next(
        appointment_type_id=appointment_type_id, starts_at=datetime.fromisoformat(starts_at)
    )
    return f"offered {offer.public_id}" if offer else "nobody to offer it"


@shared_task(name="booking.expire_offers")
def expire_offers() -> dict:
    """Offers nobody answered go to the next in line; freed times whose task was lost are
    offered."""
    return {"expired": offers_expire(), "freed": offers_for_freed_times()}
