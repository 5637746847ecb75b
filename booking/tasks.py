"""Celery adapters of booking: reminders are planned and offers expired by beat. Freed times
and the messages are worked by the outbox's one task."""

from celery import shared_task

from booking.services import reminders
from booking.services.waiting import offers_expire


@shared_task(name="booking.plan_reminders")
def plan_reminders() -> int:
    return reminders.reminders_plan()


@shared_task(name="booking.expire_offers")
def expire_offers() -> dict:
    """Offers nobody answered: the next in line is offered the time (a freed time's row)."""
    return {"expired": offers_expire()}
