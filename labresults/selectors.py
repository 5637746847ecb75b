"""Reads of laboratory results. Every function takes what the access gate granted.

A report knows where it belongs (the order's department and course, else the patient's course
when it arrived), so a blocking of that course or department hides the report, its results, its
timeline item, its trend points and its imaging study, as it hides a note.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, Upper
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as _noop
from django.utils.translation import ngettext

from labresults.fhir_bundle import FHIR, extract_fhir_results
from labresults.hl7.oru import ResultMessage, extract_results
from labresults.hl7.parser import Hl7Error, Reason, parse
from labresults.interpret import ABNORMAL_FLAGS, OUR_ORDER_NUMBER
from labresults.models import (
    IMAGING_SECTIONS,
    Analysis,
    DicomObject,
    InboundMessage,
    InboxItem,
    LabOrder,
    LabReport,
    LabResult,
)
from patients.access import PatientAccess
from patients.cpr import format_cpr, parse_cpr
from patients.models import CareCourse, Patient
from patients.selectors import patient_by_cpr

# The queues show only what needs a person; a processed message is in the patient's record.
WAITING_STATUSES = ("unmatched", "failed", "conflict")
CUMULATIVE_COLUMNS = 12
TREND_POINTS = 400


def _results(access: PatientAccess):
    """The patient's results this viewer may see: not cancelled, not imaging, not blocked.

    The report conditions are a subquery of the patient's own reports, not a join: joined, the
    planner read every report of the hospital to hash them (a sequential scan per trend; proven
    by EXPLAIN in bench/results/load.md), where the patient's reports are a few hundred rows by
    their index."""
    return LabResult.objects.filter(
        patient=access.patient, report__in=_visible_reports(access).values("pk")
    ).exclude(status="cancelled")


def _visible_reports(access: PatientAccess):
    """The patient's laboratory reports (not imaging) this viewer may see."""
    return access.unblocked(
        LabReport.objects.filter(patient=access.patient).exclude(section__in=IMAGING_SECTIONS)
    )


def reports_for_patient(access: PatientAccess):
    """The patient's reports this viewer may see (blocked course or department left out)."""
    return access.unblocked(LabReport.objects.filter(patient=access.patient))


def _catalogue() -> dict[str, Analysis]:
    return {a.code: a for a in Analysis.objects.all()}


@dataclass
class CumulativeRow:
    """One analysis across the sample times: cells line up with the table's columns."""

    code: str
    name: str
    unit: str
    interval: str
    cells: list = field(default_factory=list)
    position: int = 10_000


def cumulative_table(access: PatientAccess, *, before: datetime | None = None) -> dict:
    """Analyses down, sample times across (newest first), CUMULATIVE_COLUMNS at a time."""
    results = _results(access).exclude(observed_at__isnull=True)
    if before is not None:
        results = results.filter(observed_at__lt=before)
    times = list(
        results.order_by("-observed_at")
        .values_list("observed_at", flat=True)
        .distinct()[: CUMULATIVE_COLUMNS + 1]
    )
    more = len(times) > CUMULATIVE_COLUMNS
    times = times[:CUMULATIVE_COLUMNS]
    rows: dict[str, CumulativeRow] = {}
    if times:
        catalogue = _catalogue()
        index = {t: i for i, t in enumerate(times)}
        for result in results.filter(observed_at__in=times).only(
            "code",
            "name",
            "value_text",
            "unit",
            "flag",
            "is_critical",
            "status",
            "observed_at",
            "reference_range",
        ):
            analysis = catalogue.get(result.code)
            row = rows.get(result.code)
            if row is None:
                row = rows[result.code] = CumulativeRow(
                    code=result.code,
                    name=analysis.name if analysis else result.name or result.code,
                    unit=result.unit or (analysis.unit if analysis else ""),
                    interval=result.reference_range,
                    cells=[None] * len(times),
                    position=analysis.position if analysis else 10_000,
                )
            row.cells[index[result.observed_at]] = result
        ordered = sorted(rows.values(), key=lambda r: (r.position, r.name))
    else:
        ordered = []
    return {"times": times, "rows": ordered, "older": times[-1] if more else None}


def downsample(points: list[tuple], limit: int = TREND_POINTS) -> list[tuple]:
    """At most about `limit` points: the extremes of each time bucket survive (min and max),
    so a critical value in ten years of data is never smoothed away."""
    if len(points) <= limit:
        return points
    buckets = max(1, limit // 2)
    start, end = points[0][0].timestamp(), points[-1][0].timestamp()
    width = (end - start) / buckets or 1
    kept: dict[int, list] = {}
    for point in points:
        bucket = min(buckets - 1, int((point[0].timestamp() - start) / width))
        low_high = kept.setdefault(bucket, [point, point])
        if point[1] < low_high[0][1]:
            low_high[0] = point
        if point[1] > low_high[1][1]:
            low_high[1] = point
    result = []
    for bucket in sorted(kept):
        low, high = kept[bucket]
        result.extend(sorted({low, high}, key=lambda p: p[0]))
    return result


def trend_for_patient(access: PatientAccess, code: str) -> dict:
    """One analysis over time for the chart and the table beside it, downsampled if long."""
    series = list(
        _results(access)
        .filter(code=code, value_numeric__isnull=False, observed_at__isnull=False)
        .order_by("observed_at")
        .values_list("observed_at", "value_numeric", "flag", "is_critical")
    )
    analysis = Analysis.objects.prefetch_related("intervals").filter(code=code).first()
    interval = (
        analysis.interval_for(sex=access.patient.sex, age=access.patient.age())
        if analysis
        else None
    )
    points = downsample(series)
    return {
        "analysis": analysis,
        "code": code,
        "total": len(series),
        "points": points,
        "interval": interval,
        "chart": {
            # On a time axis (milliseconds): a value from 2019 sits far from one from 2026.
            "points": [[int(p[0].timestamp() * 1000), float(p[1])] for p in points],
            "low": float(interval.low) if interval else None,
            "high": float(interval.high) if interval else None,
            "unit": analysis.unit if analysis else "",
            "name": analysis.name if analysis else code,
        },
    }


def latest_key_results(access: PatientAccess) -> list[LabResult]:
    """The newest value of each key analysis, and of any analysis with a critical value nobody
    has acknowledged yet: those must always be on the overview. One query, by code.

    Each key analysis is one step down the index (patient, code, newest first) in a LATERAL
    join (ordered by code too, which is the series index's order: by time alone the planner
    took the index of times and walked every result of the patient for an analysis they never
    had), and the unacknowledged critical values come from their own small partial index. The
    query it replaced sorted every result the patient ever had (DISTINCT ON over all of them):
    on a patient with 12,000 results it ran 86 ms, this runs 1.3 ms (bench/partitions' data)."""
    reports = _visible_reports(access).order_by().values("pk")
    reports_sql, reports_params = reports.query.sql_with_params()
    results, analyses, inbox = (
        LabResult._meta.db_table,
        Analysis._meta.db_table,
        InboxItem._meta.db_table,
    )
    columns = ", ".join(
        f"r.{name}"
        for name in (
            "id", "arrived_at", "code", "name", "value_text", "unit", "flag", "is_critical",
            "observed_at", "updated_at",
        )
    )  # fmt: skip
    visible = f"r.patient_id = %s AND r.status <> 'cancelled' AND r.report_id IN ({reports_sql})"
    sql = f"""
        SELECT * FROM (
            SELECT newest.* FROM {analyses} analysis CROSS JOIN LATERAL (
                SELECT {columns} FROM {results} r
                WHERE r.code = analysis.code AND {visible}
                ORDER BY r.code, r.observed_at DESC LIMIT 1
            ) newest
            WHERE analysis.is_key
            UNION ALL
            (SELECT DISTINCT ON (r.code) {columns} FROM {results} r
             LEFT JOIN {inbox} item ON item.report_id = r.report_id
             WHERE r.is_critical AND item.acknowledged_at IS NULL AND {visible}
               AND r.code NOT IN (SELECT code FROM {analyses} WHERE is_key)
             ORDER BY r.code, r.observed_at DESC)
        ) found ORDER BY code"""  # noqa: S608 - table names from the models, values as parameters
    patient = access.patient.pk
    return list(LabResult.objects.raw(sql, [patient, *reports_params, patient, *reports_params]))


def latest_result_at(access: PatientAccess):
    """When the newest result arrived (for the chart's live update)."""
    row = _results(access).order_by("-updated_at").values_list("updated_at", flat=True).first()
    return row


def labs_text(access: PatientAccess) -> str:
    """`.labs`: the newest key results as a line of text for a note."""
    results = latest_key_results(access)
    if not results:
        return _("Laboratory results") + ": " + _("none")
    parts = []
    for r in sorted(results, key=lambda r: r.name):
        flag = f" ({r.flag})" if r.flag else ""
        when = timezone.localtime(r.observed_at).strftime("%d.%m") if r.observed_at else ""
        parts.append(f"{r.name} {r.value_text} {r.unit}{flag} {when}".strip())
    return _("Laboratory results") + ": " + "; ".join(parts)


def timeline_reports(access, *, before, limit, departments):
    """Timeline items: laboratory reports."""
    reports = reports_for_patient(access).filter(observed_at__lt=before)
    if departments:
        reports = reports.filter(department_id__in=departments)
    url = reverse("labresults:results", kwargs={"patient_id": access.patient.public_id})
    return [
        {
            "at": report.observed_at,
            "kind": "lab",
            "title": report.service_name or report.service_code or _("Laboratory report"),
            "detail": f"{report.get_status_display()} · {report.sender}",
            "status": report.status,
            "department_id": report.department_id,
            "department": _("Lab"),
            "care_course_id": report.care_course_id,
            "url": url,
        }
        for report in reports.order_by("-observed_at", "-id")[:limit]
    ]


def inbox_for(*, staff, department_id, include_acknowledged: bool = False, limit: int = 200):
    """Reports for the department and the ordering clinician: critical first, then newest."""
    items = InboxItem.objects.filter(Q(department_id=department_id) | Q(clinician=staff))
    if not include_acknowledged:
        items = items.filter(acknowledged_at__isnull=True)
    return _inbox_labelled(
        items.select_related("patient", "report", "clinician__user", "acknowledged_by__user")
        .prefetch_related("report__results")
        .order_by("acknowledged_at", "-is_critical", "-arrived_at")[:limit]
    )


def _inbox_labelled(items) -> list[InboxItem]:
    """The items with each result's name and unit from the catalogue where the laboratory sent
    only a code (`label`, `unit_shown`): a clinician reads "eGFR 51,9 mL/min", not a code."""
    items = list(items)
    catalogue = _catalogue() if items else {}
    for item in items:
        for result in item.report.results.all():
            analysis = catalogue.get(result.code)
            named = result.name and result.name != result.code
            result.label = (analysis.short_name if analysis else "") or (
                result.name if named else result.code
            )
            result.title = analysis.name if analysis else result.name
            result.unit_shown = result.unit or (analysis.unit if analysis else "")
    return items


@dataclass
class InboxGroup:
    """One patient's new reports in the inbox."""

    patient: Patient
    items: list = field(default_factory=list)

    @property
    def critical(self) -> int:
        return sum(1 for item in self.items if item.is_critical and not item.acknowledged_at)

    @property
    def open(self) -> list:
        return [item for item in self.items if not item.acknowledged_at]


def inbox_groups(items: list[InboxItem]) -> list[InboxGroup]:
    """The inbox by patient, in the order of each patient's most urgent item (critical first,
    then newest), so a ward's results are read patient by patient."""
    groups: dict[int, InboxGroup] = {}
    for item in items:
        groups.setdefault(item.patient_id, InboxGroup(item.patient)).items.append(item)
    return list(groups.values())


def inbox_items_for_patient(access: PatientAccess, *, staff) -> list[InboxItem]:
    """The patient's reports this staff member may acknowledge (their departments' or their own
    orders') and nobody has yet; blocked courses and departments left out."""
    from patients.access import staff_department_ids

    items = InboxItem.objects.filter(
        Q(department_id__in=staff_department_ids(staff)) | Q(clinician=staff),
        patient=access.patient,
        acknowledged_at__isnull=True,
    )
    items = access.unblocked(
        items, department="report__department_id", care_course="report__care_course_id"
    )
    return _inbox_labelled(
        items.select_related("report", "patient")
        .prefetch_related("report__results")
        .order_by("-is_critical", "-arrived_at")[:50]
    )


def inbox_counts(*, staff, department_id) -> dict:
    """Unacknowledged and critical counts for the top bar and the dashboard."""
    items = InboxItem.objects.filter(
        Q(department_id=department_id) | Q(clinician=staff), acknowledged_at__isnull=True
    )
    return {
        "open": items.count(),
        "critical": items.filter(is_critical=True).count(),
    }


def order_list_for_patient(access: PatientAccess, *, limit: int = 50) -> list[dict]:
    """The patient's orders with how far they are: pending, partial or complete."""
    orders = list(
        access.unblocked(LabOrder.objects.filter(patient=access.patient))
        .select_related("ordered_by__user", "department")
        .prefetch_related("analyses")
        .order_by("-ordered_at")[:limit]
    )
    numbers = [o.placer_number for o in orders]
    arrived: dict[str, set] = {}
    for placer, code in LabResult.objects.filter(
        patient=access.patient, report__placer_order_number__in=numbers
    ).values_list("report__placer_order_number", "code"):
        arrived.setdefault(placer, set()).add(code)
    rows = []
    for order in orders:
        wanted = {a.code for a in order.analyses.all()}
        got = wanted & arrived.get(order.placer_number, set())
        if order.status == LabOrder.Status.CANCELLED:
            progress = "cancelled"
        elif not got:
            progress = "pending"
        elif got == wanted:
            progress = "complete"
        else:
            progress = "partial"
        rows.append(
            {
                "order": order,
                "progress": progress,
                "arrived": len(got),
                "of": len(wanted),
                "sent": order.sent_at is not None,
            }
        )
    return rows


def is_abnormal(result: LabResult) -> bool:
    """Whether the result is outside its interval (by flag) or critical."""
    return result.is_critical or bool(ABNORMAL_FLAGS.intersection(result.flag.split(",")))


def imaging_reports(access: PatientAccess, *, limit: int = 50) -> list[LabReport]:
    """Radiology reports (by section or study UID) with their text, newest first."""
    reports = reports_for_patient(access).filter(Q(section__in=IMAGING_SECTIONS) | ~Q(study_uid=""))
    return list(reports.prefetch_related("results").order_by("-observed_at")[:limit])


def queue_list(*, status: str, limit: int = 200) -> list[InboundMessage]:
    """Waiting messages of one status, newest first, without their text."""
    return list(
        InboundMessage.objects.filter(status=status)
        .defer("raw", "fixed_text")
        .order_by("-received_at")[:limit]
    )


def queue_message_get(*, public_id) -> InboundMessage:
    """A waiting message; a processed (or still arriving) one is not browsable: 404."""
    message = InboundMessage.objects.filter(
        public_id=public_id, status__in=WAITING_STATUSES
    ).first()
    if message is None:
        raise Http404(_("No such message in the queues."))
    return message


def inbound_message_patient(message: InboundMessage):
    """The patient a raw message is about, where we know them: matched by hand, filed, or by
    the CPR number it carries. None for a message of nobody we know."""
    if message.matched_patient_id:
        return message.matched_patient
    report = message.reports.select_related("patient").first()
    if report is not None:
        return report.patient
    return message_patient(message)


def queue_counts() -> dict:
    """How many messages wait for staff: unmatched, failed, and report-number conflicts."""
    from django.db.models import Count

    counts = dict(
        InboundMessage.objects.filter(status__in=WAITING_STATUSES)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return {status: counts.get(status, 0) for status in WAITING_STATUSES}


def control_id_reuse_by_sender() -> list[dict]:
    """Senders that sent one control id with different content, and how many ids: the
    laboratory should be told (each such message was stored and processed on its own)."""
    from django.db.models import Count

    reused = (
        InboundMessage.objects.exclude(control_id="")
        .values("sender", "control_id")
        .annotate(versions=Count("content_digest", distinct=True))
        .filter(versions__gt=1)
    )
    counts: dict[str, int] = {}
    for row in reused:
        counts[row["sender"]] = counts.get(row["sender"], 0) + 1
    return [{"sender": sender, "reused": n} for sender, n in sorted(counts.items())]


def open_course_in_department(patient: Patient, department_id) -> CareCourse | None:
    """The patient's course in a department: the open one, else the latest."""
    return (
        CareCourse.objects.filter(patient=patient, department_id=department_id)
        .order_by(F("ended_at").desc(nulls_first=True), "-started_at")
        .first()
    )


def report_origin(placer_order_number: str, patient: Patient) -> dict:
    """Where a new report belongs: the order's department, course and clinician, else the
    patient's open course (or the latest). A blocking of that course or department hides it.
    """
    return report_origins([(placer_order_number, patient)])[0]


_NO_ORIGIN = {"department_id": None, "care_course_id": None, "ordered_by_id": None}


def report_origins(wanted: list[tuple[str, Patient]]) -> list[dict]:
    """`report_origin` for many new reports at once (a batch of messages), in two queries:
    our orders by number and patient, and each patient's open (else latest) course."""
    ours = {
        (placer, patient.pk) for placer, patient in wanted if OUR_ORDER_NUMBER.fullmatch(placer)
    }
    orders = {}
    if ours:
        for found in LabOrder.objects.filter(
            placer_number__in={placer for placer, _id in ours},
            patient_id__in={patient_id for _placer, patient_id in ours},
        ).only("placer_number", "patient_id", "department_id", "care_course_id", "ordered_by_id"):
            orders[(found.placer_number, found.patient_id)] = found
    # An open course first (no end), else the latest: one row per patient.
    courses = {
        course.patient_id: course
        for course in CareCourse.objects.filter(
            patient_id__in={patient.pk for _placer, patient in wanted}
        )
        .only("patient_id", "department_id")
        .order_by("patient_id", F("ended_at").desc(nulls_first=True), "-started_at")
        .distinct("patient_id")
    }
    origins = []
    for placer, patient in wanted:
        order = orders.get((placer, patient.pk))
        if order is not None:
            course_id = order.care_course_id
            if course_id is None:
                course = open_course_in_department(patient, order.department_id)
                course_id = course.pk if course else None
            origins.append(
                {
                    "department_id": order.department_id,
                    "care_course_id": course_id,
                    "ordered_by_id": order.ordered_by_id,
                }
            )
        elif (chosen := courses.get(patient.pk)) is not None:
            origins.append(
                {
                    "department_id": chosen.department_id,
                    "care_course_id": chosen.pk,
                    "ordered_by_id": None,
                }
            )
        else:
            origins.append(dict(_NO_ORIGIN))
    return origins


def studies_for_patient(access) -> list[dict]:
    """The patient's imaging studies: DICOM objects grouped by study, with their reports."""
    objects = list(
        access.unblocked(
            DicomObject.objects.filter(patient=access.patient, status=DicomObject.Status.PROCESSED)
        ).order_by("-study_date", "study_uid", "series_uid", "id")
    )
    reports = {
        report.study_uid: report
        for report in access.unblocked(LabReport.objects.filter(patient=access.patient)).exclude(
            study_uid=""
        )
    }
    studies: dict[str, dict] = {}
    for obj in objects:
        study = studies.setdefault(
            obj.study_uid,
            {
                "study_uid": obj.study_uid,
                "date": obj.study_date,
                "modality": obj.modality,
                "body_part": obj.body_part,
                "description": obj.study_description,
                "accession": obj.accession_number,
                "series": set(),
                "objects": [],
                "key": None,
                "report": reports.get(obj.study_uid),
            },
        )
        study["series"].add(obj.series_uid)
        study["objects"].append(obj)
        if study["key"] is None and obj.thumbnail:
            study["key"] = obj
    return list(studies.values())


def message_patient_match(results: ResultMessage) -> tuple[Patient | None, Reason | str]:
    """The patient whose CPR the message carries (PID-3), or None with the reason."""
    unknown = []
    for identifier, _kind in results.patient_ids:
        try:
            return patient_by_cpr(identifier), ""
        except ValidationError as error:
            if error.code == "unknown":
                unknown.append(format_cpr(parse_cpr(identifier).value))
    if not unknown:
        return None, Reason(
            _noop("The message carries no CPR number (PID-3, or a FHIR Patient identifier).")
        )
    return None, Reason(_noop("No patient with CPR number %(cpr)s."), cpr=", ".join(unknown))


def message_results(message: InboundMessage) -> ResultMessage:
    """The reports and results a stored message carries (HL7 v2 or a FHIR bundle, the corrected
    text when staff fixed it); raises Hl7Error saying why it cannot be read."""
    if message.message_type == FHIR:
        return extract_fhir_results(message.text_to_process())
    return extract_results(parse(message.text_to_process()))


def message_patient(message: InboundMessage) -> Patient | None:
    """The known patient whose CPR a stored message carries, or None (unreadable, nobody)."""
    try:
        results = message_results(message)
    except (Hl7Error, ValueError, UnicodeError):
        return None
    return message_patient_match(results)[0]


def inbox_item_get_for_staff(*, staff, public_id) -> InboxItem:
    """An inbox item of the staff member's departments or their own orders, else 404 / 403."""
    from django.core.exceptions import PermissionDenied

    from patients.access import staff_department_ids

    item = InboxItem.objects.filter(public_id=public_id).first()
    if item is None:
        raise Http404(_("Not found."))
    if item.department_id not in staff_department_ids(staff) and item.clinician_id != staff.pk:
        raise PermissionDenied(_("This result is for another department."))
    return item


def dicom_waiting_for_patient(access: PatientAccess, *, limit: int = 20) -> list[DicomObject]:
    """The patient's DICOM files not (yet) read, with why, that this viewer may see."""
    waiting = access.unblocked(
        DicomObject.objects.filter(patient=access.patient).exclude(
            status=DicomObject.Status.PROCESSED
        )
    )
    return list(waiting.order_by("-created_at")[:limit])


def worklist_markers(courses, department_id) -> dict[int, list[tuple[str, str, str]]]:
    """Work list markers: the department's new results per patient, critical ones red. One
    query for the whole list."""
    from django.db.models import Count, Q

    rows = (
        InboxItem.objects.filter(
            patient_id__in={c.patient_id for c in courses},
            department_id=department_id,
            acknowledged_at__isnull=True,
        )
        .values("patient_id")
        .annotate(new=Count("id"), critical=Count("id", filter=Q(is_critical=True)))
    )
    counts = {row["patient_id"]: (row["new"], row["critical"]) for row in rows}
    found: dict[int, list[tuple[str, str, str]]] = {}
    for course in courses:
        if course.patient_id not in counts:
            continue
        new, critical = counts[course.patient_id]
        markers = [
            (
                ngettext("%(n)s new result", "%(n)s new results", new) % {"n": new},
                "worklist-results",
                "text-bg-info",
            )
        ]
        if critical:
            markers.append(
                (
                    ngettext("%(n)s critical", "%(n)s critical", critical) % {"n": critical},
                    "worklist-critical",
                    "text-bg-danger",
                )
            )
        found[course.pk] = markers
    return found


# --- What a citizen is shown, and when (the portal's release rules decide how long) ---------


class _Days(Func):
    """A whole number of days as an interval."""

    template = "make_interval(days => %(expressions)s)"
    output_field = DurationField()


def reports_with_release(access: PatientAccess, *, rules: Mapping):
    """The patient's reports this viewer may see, each annotated with `release_at` (NULL while
    it waits for a discharge), computed by the database from the release rules (section in
    capitals, "" for every other -> `days`, `at_discharge`): one query, however long the
    history. The rules are the portal's; what a report is and when it counts from is ours.

    - The clock starts when the laboratory reported it (OBR-22); a report without that time
      starts it at its last change here, so a final that names no time is never released at
      once on the strength of its preliminary's age.
    - The group is the section, in capitals; a report about a DICOM study with no section of
      its own is imaging.
    - "At discharge" holds a result of the report's own admission, and of any admission of the
      patient's that covers the time it was sampled (an outpatient report during an admission,
      or one no course was named for).
    """
    default = rules[""]
    sections = [(section, rule) for section, rule in rules.items() if section]
    imaging = next((s for s in sorted(IMAGING_SECTIONS) if s in rules), "")
    group = Case(
        When(section_upper__in=[section for section, _rule in sections], then=F("section_upper")),
        When(~Q(study_uid=""), then=Value(imaging)),
        default=Value(""),
        output_field=CharField(),
    )
    days = Case(
        *[When(release_group=section, then=Value(rule.days)) for section, rule in sections],
        default=Value(default.days),
    )
    at_discharge = Case(
        *[When(release_group=section, then=Value(rule.at_discharge)) for section, rule in sections],
        default=Value(default.at_discharge),
        output_field=BooleanField(),
    )
    after_delay = ExpressionWrapper(
        Coalesce("reported_at", "updated_at") + _Days(days), output_field=DateTimeField()
    )
    sampled = Coalesce(OuterRef("observed_at"), OuterRef("created_at"))
    covering = CareCourse.objects.filter(
        patient_id=OuterRef("patient_id"), kind=CareCourse.Kind.ADMISSION, started_at__lte=sampled
    ).filter(Q(ended_at__isnull=True) | Q(ended_at__gte=sampled))
    own = Q(care_course__kind=CareCourse.Kind.ADMISSION)
    return (
        access.unblocked(
            LabReport.objects.filter(patient=access.patient).exclude(status="cancelled")
        )
        .annotate(section_upper=Upper("section"))
        .annotate(release_group=group)
        .annotate(
            release_discharge=at_discharge,
            admitted_now=Exists(covering.filter(ended_at__isnull=True)),
            admission_end=Subquery(covering.order_by("-ended_at").values("ended_at")[:1]),
        )
        .annotate(
            release_at=Case(
                When(
                    Q(release_discharge=True)
                    & ((own & Q(care_course__ended_at__isnull=True)) | Q(admitted_now=True)),
                    then=Value(None, output_field=DateTimeField()),
                ),
                When(
                    Q(release_discharge=True),
                    # GREATEST passes over NULL: the delay, and each admission's end there is.
                    then=Greatest(
                        after_delay,
                        Case(When(own, then=F("care_course__ended_at"))),
                        F("admission_end"),
                    ),
                ),
                default=after_delay,
                output_field=DateTimeField(),
            )
        )
    )


def released_values(access: PatientAccess, *, reports, code: str) -> list[LabResult]:
    """The numeric values of one analysis in these (released) reports, oldest first."""
    return list(
        LabResult.objects.filter(
            patient=access.patient, report_id__in=reports, code=code, value_numeric__isnull=False,
            observed_at__isnull=False,
        )
        .exclude(status="cancelled")
        .order_by("observed_at")
    )  # fmt: skip


def analysis_by_code(code: str) -> Analysis | None:
    """The catalogue's analysis of this code, with its reference intervals."""
    return Analysis.objects.prefetch_related("intervals").filter(code=code).first()
