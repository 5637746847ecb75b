"""Shared Celery tasks."""

from celery import shared_task
from django.core.cache import cache


@shared_task(name="common.ping")
def ping(token: str) -> str:
    """Prove the broker and a worker are alive: write the token where the sender can see it."""
    cache.set(f"ping:{token}", "pong", timeout=300)
    return "pong"
