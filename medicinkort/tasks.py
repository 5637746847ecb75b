"""Celery adapters of medicinkort: they take ids and call a service."""

from celery import shared_task

from medicinkort import services


@shared_task(name="medicinkort.read_card", acks_late=True)
def read_card(read_id: int) -> str:
    """Read a patient's card from FMK and store the snapshot."""
    read = services.card_read_run(read_id=read_id)
    return read.status if read else "already done"


@shared_task(name="medicinkort.sweep_card_reads")
def sweep_card_reads() -> int:
    """Send again the reads left pending (a lost queue entry, a killed worker)."""
    return services.card_reads_sweep()
