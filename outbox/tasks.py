"""Celery adapters of the engine: the one task that works a kind's rows, the one sweeper, the
breakers' probe, and the SMS delivery poll."""

from celery import shared_task

from outbox import breaker, channels, engine


@shared_task(name=engine.WORK_TASK, acks_late=True)
def work(kind: str, ids: list[int] | None = None) -> int:
    """Claim and perform rows of one kind (idempotent: a row done or claimed is skipped)."""
    return engine.work(kind, ids)


@shared_task(name="outbox.sweep")
def sweep() -> dict:
    """Take back stale claims of every kind and dispatch what is due (beat)."""
    return engine.sweep_all()


@shared_task(name="outbox.probe")
def probe() -> dict:
    """Ask every outside system whose breaker failed whether it answers again (beat)."""
    return breaker.probe_all()


@shared_task(name="outbox.poll_delivery")
def poll_delivery() -> int:
    """Ask the SMS gateway what became of the messages it accepted (beat)."""
    return channels.delivery_poll()
