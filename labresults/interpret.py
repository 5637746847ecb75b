"""Interpreting results with the catalogue: computed flags, critical values, the inbox item.

A sender's own flags win; only when a laboratory sends none do we compute one from the
reference interval for the patient's sex and age at sampling. Critical limits are ours (the
hospital's), so they apply whatever the sender says, as do the sender's own LL/HH flags.
"""

import re
import time
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from labresults.models import Analysis, InboxItem, LabOrder, LabReport, LabResult
from patients.models import CareCourse, Patient

# Our order numbers (LabOrder.placer_number): only those can match one of our orders.
OUR_ORDER_NUMBER = re.compile(r"S[0-9A-F]{11}")
ABNORMAL_FLAGS = frozenset({"L", "H", "LL", "HH", "A", "AA", "<", ">"})
CRITICAL_FLAGS = frozenset({"LL", "HH", "AA"})


# The catalogue is read again at most once a minute per worker process: it changes a few times
# a year, and reading it for every message cost a tenth of the processing time. An edit in admin
# reaches every worker within CATALOGUE_TTL.
CATALOGUE_TTL = 60.0
_catalogue: tuple[float, dict] = (0.0, {})


def catalogue_for(codes) -> dict[str, Analysis]:
    """The catalogue's analyses for these codes, with their intervals."""
    global _catalogue
    expires, analyses = _catalogue
    if time.monotonic() > expires:
        analyses = {a.code: a for a in Analysis.objects.prefetch_related("intervals")}
        _catalogue = (time.monotonic() + CATALOGUE_TTL, analyses)
    return {code: analyses[code] for code in set(codes) if code in analyses}


def catalogue_forget() -> None:
    """Read the catalogue again on next use (tests, and after a change in this process)."""
    global _catalogue
    _catalogue = (0.0, {})


def interpret(
    *,
    analysis: Analysis | None,
    value: Decimal | None,
    sender_flags: list[str],
    patient: Patient,
    observed_at,
) -> tuple[str, bool, bool]:
    """(flag, flag_computed, is_critical) for one value."""
    flags = [f.upper() for f in sender_flags if f and f.upper() != "N"]
    critical = bool(CRITICAL_FLAGS.intersection(flags))
    if analysis is not None and value is not None:
        if analysis.critical_low is not None and value < analysis.critical_low:
            critical = True
        if analysis.critical_high is not None and value > analysis.critical_high:
            critical = True
    if flags or any(f.upper() == "N" for f in sender_flags if f):
        return ",".join(flags)[:10], False, critical
    if analysis is None or value is None:
        return "", False, critical
    day = timezone.localdate(observed_at) if observed_at else timezone.localdate()
    interval = analysis.interval_for(sex=patient.sex, age=patient.age(today=day))
    if interval is None:
        return "", False, critical
    if value < interval.low:
        return "L", True, critical
    if value > interval.high:
        return "H", True, critical
    return "", True, critical


def report_origin(placer_order_number: str, patient: Patient) -> dict:
    """Where a new report belongs: the order's department, course and clinician, else the
    patient's open course (or the latest). A blocking of that course or department hides it.
    """
    if OUR_ORDER_NUMBER.fullmatch(placer_order_number):
        order = (
            LabOrder.objects.filter(placer_number=placer_order_number, patient=patient)
            .only("department_id", "care_course_id", "ordered_by_id")
            .first()
        )
        if order is not None:
            return {
                "department_id": order.department_id,
                "care_course_id": order.care_course_id,
                "ordered_by_id": order.ordered_by_id,
            }
    # An open course first (no end), else the latest: one query.
    chosen = (
        CareCourse.objects.filter(patient=patient)
        .only("department_id")
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at")
        .first()
    )
    if chosen is None:
        return {"department_id": None, "care_course_id": None, "ordered_by_id": None}
    return {
        "department_id": chosen.department_id,
        "care_course_id": chosen.pk,
        "ordered_by_id": None,
    }


def inbox_item_refresh(
    report: LabReport, patient: Patient, *, new_results: list | None = None
) -> InboxItem | None:
    """Create or update the report's inbox item; new information needs a new acknowledgement.

    The caller holds the transaction that changed the report's results. For a report created
    in that transaction it passes the results it wrote (`new_results`): no item can exist yet
    and nothing needs to be read back.
    """
    if new_results is None:
        results = list(LabResult.objects.filter(report=report).only("flag", "is_critical"))
        item = InboxItem.objects.select_for_update().filter(report=report).first()
    else:
        results, item = new_results, None
    abnormal = sum(
        1 for r in results if ABNORMAL_FLAGS.intersection(r.flag.split(",")) or r.is_critical
    )
    critical = any(r.is_critical for r in results)
    now = timezone.now()
    if item is None:
        if report.department_id is None:
            return None
        department_id, clinician_id = report.department_id, report.ordered_by_id
        return InboxItem.objects.create(
            patient=patient,
            report=report,
            department_id=department_id,
            clinician_id=clinician_id,
            is_critical=critical,
            abnormal_count=abnormal,
            arrived_at=now,
        )
    item.is_critical, item.abnormal_count, item.arrived_at = critical, abnormal, now
    item.acknowledged_at = item.acknowledged_by = None
    item.escalation_level, item.escalated_at = 0, None
    item.save()
    return item
