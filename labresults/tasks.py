"""Celery tasks of labresults: thin adapters around its services. Stored messages, order
messages and DICOM files are kinds of the outbox's durable work, worked by `outbox.work`."""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from common.partitions import AHEAD
from common.partitions import add_partitions as add_partitions_of
from labresults.models import FhirSource
from labresults.services import critical_results_escalate, fhir_source_pull


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


@shared_task(name="labresults.add_partitions")
def add_partitions(years_ahead: int = AHEAD["year"]) -> list[str]:
    """Make the results' partitions of this year and the next `years_ahead` where they are
    missing (idempotent: beat runs it every 6 hours). Returns the partitions' names."""
    return add_partitions_of(
        "labresults_labresult", "year", today=timezone.now().date(), ahead=years_ahead
    )
