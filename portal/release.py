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

from django.db.models import DurationField, Func
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
        rules[row.section.upper()] = Rule(row.delay_days, row.inpatient_at_discharge)
    return rules


def note_rules() -> dict[str, tuple[bool, int]]:
    from portal.models import NoteReleaseRule

    rules = dict(DEFAULT_NOTE_RULES)
    for row in NoteReleaseRule.objects.all():
        rules[row.note_type] = (row.released, row.delay_days)
    return rules


class _Days(Func):
    """A whole number of days as an interval."""

    template = "make_interval(days => %(expressions)s)"
    output_field = DurationField()


def reports_with_release(access, *, rules: dict[str, Rule] | None = None):
    """The patient's reports this viewer may see, each annotated with `release_at` (NULL while
    it waits for a discharge), computed by the database from the rules: one query, however
    long the history.

    - The clock starts when the laboratory reported it (OBR-22); a report without that time
      starts it at its last change here, so a final that names no time is never released at
      once on the strength of its preliminary's age.
    - The group is the section, in capitals; a report about a DICOM study with no section of
      its own is imaging.
    - "At discharge" holds a result of the report's own admission, and of any admission of the
      patient's that covers the time it was sampled (an outpatient report during an admission,
      or one no course was named for).
    """
    from django.db.models import (
        BooleanField,
        Case,
        CharField,
        DateTimeField,
        Exists,
        ExpressionWrapper,
        F,
        OuterRef,
        Q,
        Subquery,
        Value,
        When,
    )
    from django.db.models.functions import Coalesce, Greatest, Upper

    from labresults.models import LabReport
    from patients.models import CareCourse

    rules = rules or result_rules()
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


def released_report_ids(access, *, now=None) -> tuple[list[int], dict[int, datetime | None]]:
    """(ids of the reports the citizen sees now, the release time of those still waiting)."""
    from django.db.models import Q

    now = now or timezone.now()
    reports = reports_with_release(access)
    shown = list(reports.filter(release_at__lte=now).values_list("pk", flat=True))
    waiting = dict(
        reports.filter(Q(release_at__gt=now) | Q(release_at__isnull=True)).values_list(
            "pk", "release_at"
        )
    )
    return shown, waiting


def note_is_released(note, rules, *, now) -> bool:
    shown, days = rules.get(note.note_type, (False, 0))
    if not shown or note.signed_at is None:
        return False
    return note.signed_at + timedelta(days=days) <= now
