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
