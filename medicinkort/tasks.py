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


@shared_task(name="medicinkort.send_fmk_writes", bind=True, acks_late=True, max_retries=5)
def send_fmk_writes(self, patient_id: int) -> str:
    """Send a patient's changes to FMK in order; FMK down: try again with a growing pause, five
    times, then the sweeper takes over (it sends what no task has touched for a while)."""
    from django.conf import settings

    outcome = services.fmk_writes_send(patient_id=patient_id)
    if outcome == "unavailable":
        pause = min(settings.SUNDHED_FMK_WRITE_RETRY_SECONDS * 2**self.request.retries, 300)
        raise self.retry(countdown=pause)
    return outcome


@shared_task(name="medicinkort.sweep_fmk_writes")
def sweep_fmk_writes() -> int:
    """Send again what waits for FMK, or what a killed worker left half sent."""
    return services.fmk_writes_sweep()
