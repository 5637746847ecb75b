"""Celery adapters of booking: reminders are planned, sent and swept by beat."""

from celery import shared_task

from booking import reminders


@shared_task(name="booking.plan_reminders")
def plan_reminders() -> int:
    return reminders.reminders_plan()


@shared_task(name="booking.send_reminders", acks_late=True)
def send_reminders() -> dict:
    return reminders.reminders_send()


@shared_task(name="booking.sweep_reminders")
def sweep_reminders() -> dict:
    return reminders.reminders_sweep()


@shared_task(name="booking.offer_freed_time", acks_late=True)
def offer_freed_time(appointment_type_id: int, starts_at: str) -> str:
    """A cancelled or moved appointment freed a time: offer it to the waiting list."""
    from datetime import datetime

    from booking.waiting import offer_next

    offer = offer_next(
        appointment_type_id=appointment_type_id, starts_at=datetime.fromisoformat(starts_at)
    )
    return f"offered {offer.public_id}" if offer else "nobody to offer it"


@shared_task(name="booking.expire_offers")
def expire_offers() -> int:
    from booking.waiting import offers_expire

    return offers_expire()
