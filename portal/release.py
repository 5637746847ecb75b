"""When the citizen sees a result or a note.

Results: `delay_days` after they are reported, by analysis group (the laboratory's section):
3 days for most, 7 for pathology, genetics and imaging; a result sampled during an admission
when the patient is discharged (if its group says so). Notes: by note type, never a draft, a
corrected note as its latest version. The rules are kept in admin (`ResultReleaseRule`,
`NoteReleaseRule`); where none is kept, the defaults below apply. Every portal page, API and
export of results or notes goes through `released_reports` / `released_notes`: before its time
the citizen sees that a result exists and when it will be shown, never its value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from labresults.models.results import IMAGING_SECTIONS

# (section, name, days, an inpatient's results at discharge); "" is every other section.
DEFAULT_RESULT_RULES = [
    ("", "Laboratoriesvar", 3, True),
    ("SP", "Patologi", 7, False),
    ("GE", "Genetik", 7, False),
    *[(section, "Billeddiagnostik", 7, False) for section in sorted(IMAGING_SECTIONS)],
]
# note type -> (shown, days after signing)
DEFAULT_NOTE_RULES = {
    "admission": (True, 0),
    "continuation": (True, 0),
    "outpatient": (True, 0),
    "nursing": (True, 0),
    "epikrise": (True, 0),
}


@dataclass(frozen=True)
class Rule:
    days: int
    at_discharge: bool


def result_rules() -> dict[str, Rule]:
    from portal.models import ResultReleaseRule

    rules = {s: Rule(d, a) for s, _n, d, a in DEFAULT_RESULT_RULES}
    for row in ResultReleaseRule.objects.all():
        rules[row.section] = Rule(row.delay_days, row.inpatient_at_discharge)
    return rules


def note_rules() -> dict[str, tuple[bool, int]]:
    from portal.models import NoteReleaseRule

    rules = dict(DEFAULT_NOTE_RULES)
    for row in NoteReleaseRule.objects.all():
        rules[row.note_type] = (row.released, row.delay_days)
    return rules


def report_release_at(report, rules: dict[str, Rule], admissions: dict) -> datetime | None:
    """When the citizen may see this report; None while it waits for a discharge."""
    rule = rules.get(report.section) or rules[""]
    reported = report.reported_at or report.created_at
    at = reported + timedelta(days=rule.days)
    if rule.at_discharge and report.care_course_id in admissions:
        discharged = admissions[report.care_course_id]
        if discharged is None:
            return None
        at = max(at, discharged)
    return at


def releases_for(access) -> dict[int, datetime | None]:
    """Each of the patient's reports (that this viewer may see) with its release time."""
    from labresults.models import LabReport
    from patients.models import CareCourse

    reports = access.unblocked(
        LabReport.objects.filter(patient=access.patient).exclude(status="cancelled")
    ).only("pk", "section", "reported_at", "created_at", "care_course_id")
    admissions = dict(
        CareCourse.objects.filter(
            patient=access.patient, kind=CareCourse.Kind.ADMISSION
        ).values_list("pk", "ended_at")
    )
    rules = result_rules()
    return {r.pk: report_release_at(r, rules, admissions) for r in reports}


def released_report_ids(access, *, now=None) -> tuple[list[int], dict[int, datetime | None]]:
    """(ids of the reports the citizen sees now, the release time of those still waiting)."""
    now = now or timezone.now()
    times = releases_for(access)
    shown = [pk for pk, at in times.items() if at is not None and at <= now]
    waiting = {pk: at for pk, at in times.items() if at is None or at > now}
    return shown, waiting


def note_is_released(note, rules, *, now) -> bool:
    shown, days = rules.get(note.note_type, (False, 0))
    if not shown or note.signed_at is None:
        return False
    return note.signed_at + timedelta(days=days) <= now
