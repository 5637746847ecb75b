"""Celery tasks of labresults: thin adapters around the processing service."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.partitions import AHEAD
from common.partitions import add_partitions as add_partitions_of
from labresults.models import DicomObject, FhirSource, InboundMessage, LabOrder
from labresults.services import (
    critical_results_escalate,
    fhir_source_pull,
    inbound_messages_process,
    lab_order_send,
)


@shared_task(name="labresults.process_inbound_message")
def process_inbound_message(message_id: int) -> int:
    """Process one stored message, and others waiting with it (idempotent: a processed one is
    left alone); how many were filed."""
    return process_inbound_messages(message_ids=[message_id])


@shared_task(name="labresults.process_inbound_messages")
def process_inbound_messages(message_ids: list[int]) -> int:
    """Process a group of stored messages, topped up with others waiting, up to a batch."""
    done = inbound_messages_process(
        message_ids=message_ids, fill_to=settings.SUNDHED_LAB_BATCH_SIZE
    )
    return len(done)


@shared_task(name="labresults.sweep_inbound_messages")
def sweep_inbound_messages() -> int:
    """Re-enqueue messages and DICOM files stored but never processed; return how many."""
    # A message still `received` this long after arrival lost its queue entry (or its worker).
    cutoff = timezone.now() - timedelta(seconds=settings.SUNDHED_LAB_SWEEP_AFTER)
    ids = list(
        InboundMessage.objects.filter(
            status=InboundMessage.Status.RECEIVED, received_at__lt=cutoff
        ).values_list("id", flat=True)[:5000]
    )
    for start in range(0, len(ids), settings.SUNDHED_LAB_BATCH_SIZE):
        process_inbound_messages.delay(ids[start : start + settings.SUNDHED_LAB_BATCH_SIZE])
    files = list(
        DicomObject.objects.filter(
            status=DicomObject.Status.RECEIVED, created_at__lt=cutoff
        ).values_list("id", flat=True)[:5000]
    )
    for object_id in files:
        process_dicom_object.delay(object_id)
    orders = []
    if settings.SUNDHED_LAB_ORDER_ENDPOINT:
        orders = list(
            LabOrder.objects.filter(
                sent_at__isnull=True, status=LabOrder.Status.ORDERED, ordered_at__lt=cutoff
            ).values_list("id", flat=True)[:1000]
        )
    for order_id in orders:
        send_lab_order.delay(order_id)
    return len(ids) + len(files) + len(orders)


@shared_task(name="labresults.escalate_critical_results")
def escalate_critical_results() -> int:
    """Escalate critical values nobody has acknowledged (every minute, from beat)."""
    return critical_results_escalate(after_minutes=settings.SUNDHED_CRITICAL_ESCALATION_MINUTES)


@shared_task(name="labresults.pull_fhir_sources")
def pull_fhir_sources() -> int:
    """Pull new reports from every active FHIR source (from beat); how many bundles stored."""
    stored = 0
    for source in FhirSource.objects.filter(is_active=True):
        receipt = fhir_source_pull(source=source)
        stored += bool(receipt and receipt.message and not receipt.duplicate)
    return stored


@shared_task(name="labresults.process_dicom_object")
def process_dicom_object(object_id: int) -> str:
    """Read one stored DICOM file's metadata and draw its thumbnail (idempotent)."""
    from labresults.services import dicom_object_process

    row = dicom_object_process(object_id=object_id)
    return row.status if row else "skipped"


@shared_task(
    name="labresults.send_lab_order",
    autoretry_for=(OSError,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=None,
)
def send_lab_order(order_id: int) -> bool:
    """Send one order to the laboratory (idempotent: a sent order is left alone)."""
    return lab_order_send(order_id=order_id)


@shared_task(name="labresults.add_partitions")
def add_partitions(years_ahead: int = AHEAD["year"]) -> list[str]:
    """Make the results' partitions of this year and the next `years_ahead` where they are
    missing (idempotent: beat runs it every 6 hours). Returns the partitions' names."""
    return add_partitions_of(
        "labresults_labresult", "year", today=timezone.now().date(), ahead=years_ahead
    )
