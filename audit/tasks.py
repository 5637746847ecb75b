"""Tasks of the audit layer: the access log's monthly partitions made ahead."""

from celery import shared_task
from django.utils import timezone

from common.partitions import AHEAD
from common.partitions import add_partitions as add_partitions_of


@shared_task(name="audit.add_partitions")
def add_partitions(months_ahead: int = AHEAD["month"]) -> list[str]:
    """Make the access log's partitions of this month and the next `months_ahead` where they
    are missing (idempotent: beat runs it every 6 hours). Returns the partitions' names."""
    return add_partitions_of(
        "audit_accessevent", "month", today=timezone.now().date(), ahead=months_ahead
    )
