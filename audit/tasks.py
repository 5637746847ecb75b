"""Tasks of the audit layer: the access log's monthly partitions made ahead."""

from celery import shared_task
from django.db import connection
from django.utils import timezone

# Months made ahead of this one (docs/scaling.md).
MONTHS_AHEAD = 3


@shared_task(name="audit.add_partitions")
def add_partitions(months_ahead: int = MONTHS_AHEAD) -> list[str]:
    """Make the access log's partitions of this month and the next `months_ahead` where they
    are missing (idempotent: beat runs it daily). Returns the partitions' names."""
    today = timezone.now().date().replace(day=1)
    names = []
    with connection.cursor() as cursor:
        for ahead in range(months_ahead + 1):
            month = today.month - 1 + ahead
            first = today.replace(year=today.year + month // 12, month=month % 12 + 1)
            cursor.execute("SELECT audit_accessevent_add_month(%s)", [first])
            names.append(cursor.fetchone()[0])
    return names
