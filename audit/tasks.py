"""Tasks of the audit layer: the access log's monthly partitions made ahead."""

from celery import shared_task
from django.utils import timezone

from common.partitions import MONTHS_AHEAD, add_months


@shared_task(name="audit.add_partitions")
def add_partitions(months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the access log's partitions of this month and the next `months_ahead` where they
    are missing (idempotent: beat runs it every 6 hours). Returns the partitions' names."""
    return add_months("audit_accessevent", today=timezone.now().date(), months_ahead=months_ahead)
