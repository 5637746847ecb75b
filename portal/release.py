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

from django.db.models import Q
from django.utils import timezone

from labresults import selectors as labresults_selectors
from labresults.selectors import IMAGING_SECTIONS
from portal.models import NoteReleaseRule, ResultReleaseRule

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
    rules = {s: Rule(d, a) for s, _n, d, a in DEFAULT_RESULT_RULES}
    for row in ResultReleaseRule.objects.all():
        rules[row.section.upper()] = Rule(row.delay_days, row.inpatient_at_discharge)
    return rules


def note_rules() -> dict[str, tuple[bool, int]]:
    rules = dict(DEFAULT_NOTE_RULES)
    for row in NoteReleaseRule.objects.all():
        rules[row.note_type] = (row.released, row.delay_days)
    return rules


def reports_with_release(access, *, rules: dict[str, Rule] | None = None):
    """The patient's reports this viewer may see, each with `release_at` by these rules (those
    kept in admin when none are given); see `labresults.selectors.reports_with_release`."""
    return labresults_selectors.reports_with_release(access, rules=rules or result_rules())


def released_report_ids(access, *, now=None) -> tuple[list[int], dict[int, datetime | None]]:
    """(ids of the reports the citizen sees now, the release time of those still waiting)."""
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
