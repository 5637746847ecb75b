"""The clinicians' inbox: an item per new report, acknowledged once, escalated while critical."""

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.models import Action, DataKind
from labresults.interpret import ABNORMAL_FLAGS
from labresults.models import InboxItem, LabReport, LabResult
from patients.access import access_change_record
from patients.models import Patient


def _weight(results) -> tuple[int, bool]:
    """(abnormal values, any critical) of a report's results."""
    abnormal = sum(
        1 for r in results if ABNORMAL_FLAGS.intersection(r.flag.split(",")) or r.is_critical
    )
    return abnormal, any(r.is_critical for r in results)


def _new_item(report: LabReport, patient_id: int, results, now) -> InboxItem | None:
    if report.department_id is None:
        return None
    abnormal, critical = _weight(results)
    return InboxItem(
        patient_id=patient_id,
        report=report,
        department_id=report.department_id,
        clinician_id=report.ordered_by_id,
        is_critical=critical,
        abnormal_count=abnormal,
        arrived_at=now,
    )


def inbox_items_for_new_reports(reports: list[tuple[LabReport, list]]) -> list[InboxItem]:
    """The inbox items of reports created in the caller's transaction, from the results just
    written (nothing to read back), in one statement. A report without a department (a patient
    with no course) has no inbox to go to."""
    now = timezone.now()
    items = [
        item
        for report, results in reports
        if (item := _new_item(report, report.patient_id, results, now)) is not None
    ]
    return InboxItem.objects.bulk_create(items) if items else []


def inbox_item_refresh(
    report: LabReport, patient: Patient, *, new_results: list | None = None
) -> InboxItem | None:
    """Create or update the report's inbox item; new information needs a new acknowledgement.

    The caller holds the transaction that changed the report's results. For a report created
    in that transaction it passes the results it wrote (`new_results`): no item can exist yet
    and nothing needs to be read back.
    """
    if new_results is not None:
        created = inbox_items_for_new_reports([(report, new_results)])
        return created[0] if created else None
    results = list(LabResult.objects.filter(report=report).only("flag", "is_critical"))
    item = InboxItem.objects.select_for_update().filter(report=report).first()
    now = timezone.now()
    if item is None:
        item = _new_item(report, patient.pk, results, now)
        if item is not None:
            item.save(force_insert=True)
        return item
    item.abnormal_count, item.is_critical = _weight(results)
    item.arrived_at = now
    item.acknowledged_at = item.acknowledged_by = None
    item.escalation_level, item.escalated_at = 0, None
    item.save()
    return item


def inbox_item_acknowledge(*, staff, item):
    """Acknowledge a report in the inbox (one click); the first to do it is recorded."""
    changed = inbox_items_acknowledge(staff=staff, items=[item])
    item.refresh_from_db()
    return bool(changed)


def inbox_items_acknowledge(*, staff, items, access=None) -> int:
    """Acknowledge reports (from the inbox or the patient's results tab); those somebody else
    acknowledged first keep their first acknowledgement. Returns how many this call did.

    The caller chose `items` among those the staff member may acknowledge. From the patient's
    chart (`access`) the change is the request's one access event."""
    with transaction.atomic():
        done = InboxItem.objects.filter(
            pk__in=[item.pk for item in items], acknowledged_at__isnull=True
        ).update(acknowledged_at=timezone.now(), acknowledged_by=staff)
        if access is not None and items:
            access_change_record(
                access,
                data_kind=DataKind.LAB_RESULTS,
                action=Action.UPDATE,
                obj=items[0],
                reason=f"Acknowledged {done} of {len(items)} reports",
            )
    return done


def critical_results_escalate(*, after_minutes: int) -> int:
    """Raise the escalation level of critical results nobody acknowledged in time."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=after_minutes)
    due = InboxItem.objects.filter(is_critical=True, acknowledged_at__isnull=True).filter(
        Q(escalated_at__isnull=True, arrived_at__lt=cutoff) | Q(escalated_at__lt=cutoff)
    )
    return due.update(escalation_level=F("escalation_level") + 1, escalated_at=now)
