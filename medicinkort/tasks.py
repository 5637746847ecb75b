"""Celery adapters of medicinkort: beat reads admitted patients' cards again. The reads and
writes themselves are worked by the outbox's one task."""

from celery import shared_task

from medicinkort.services.reads import cards_refresh_admitted


@shared_task(name="medicinkort.refresh_cards")
def refresh_cards() -> int:
    return cards_refresh_admitted()
