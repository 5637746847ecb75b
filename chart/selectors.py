"""The clinician's workspace: the overview, the timeline and the work list, composed from the
clinical apps through the registries in `patients.registry` and their selectors.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.urls import url_for_each
from journal.selectors import unsigned_note_counts
from patients.access import PatientAccess
from patients.registry import overview_panels, timeline_sources, worklist_markers
from patients.selectors import worklist_for_department

TIMELINE_PAGE = 30

# Panels the overview always shows, in this order; an app that has not registered one (yet)
# leaves an empty panel that says so, so the clinician knows the information is not there.
OVERVIEW_LAYOUT = [
    ("diagnoses", _("Active problems and diagnoses")),
    ("vitals", _("Vital signs")),
    ("medication", _("Current medication")),
    ("results", _("Latest key results")),
    ("notes", _("Latest notes")),
    ("contacts", _("Contacts past and coming")),  # with the appointments, where booked
]


@dataclass
class Panel:
    """One rendered panel of the overview."""

    key: str
    title: str
    template: str
    context: dict


def _contacts_panel(access: PatientAccess, courses) -> dict:
    now = timezone.now()
    rows = [
        {"course": c, "blocked": access.hides(department_id=c.department_id, care_course_id=c.pk)}
        for c in courses
    ]
    # Appointments join the courses when booking has registered its panel.
    appointments = overview_panels.get("bookings")
    return {
        "template": "chart/panels/contacts.html",
        "appointments": appointments.render(access) if appointments else None,
        "coming": [r for r in rows if r["course"].started_at > now],
        "current": [r for r in rows if r["course"].started_at <= now and r["course"].is_open],
        "past": [r for r in rows if r["course"].ended_at and r["course"].ended_at <= now][:8],
    }


def overview_for_patient(access: PatientAccess, *, courses) -> list[Panel]:
    """The overview's panels: each app's registered panel, or an empty one that says so.

    `courses` are the open and newest courses the banner already fetched.
    """
    panels = []
    for key, title in OVERVIEW_LAYOUT:
        if key == "contacts":
            context = _contacts_panel(access, courses)
        else:
            registered = overview_panels.get(key)
            context = (
                registered.render(access)
                if registered
                else {"template": "chart/panels/unavailable.html"}
            )
        panels.append(Panel(key, str(title), context.pop("template"), context))
    return panels


def departments_of_courses(access: PatientAccess, courses) -> list:
    """Departments of the patient's recent courses (those not blocked), for the filter."""
    departments = {
        c.department.pk: c.department
        for c in courses
        if not access.hides(department_id=c.department_id, care_course_id=c.pk)
    }
    return sorted(departments.values(), key=lambda d: d.short_name)


def timeline_for_patient(
    access: PatientAccess,
    *,
    before: datetime | None = None,
    kinds: list[str] | None = None,
    departments: list[int] | None = None,
    limit: int = TIMELINE_PAGE,
) -> tuple[list[dict], datetime | None]:
    """One page of the timeline, newest first, and the cursor for the next page.

    Each source returns at most `limit` items before the cursor (one query each), so a page
    costs the same whether the patient has a year or thirty years of history.
    """
    before = before or timezone.now() + timedelta(days=3650)
    items = []
    for source in timeline_sources.all():
        if kinds and source.kind not in kinds:
            continue
        items.extend(
            source.items(access, before=before, limit=limit + 1, departments=departments or [])
        )
    items.sort(key=lambda item: item["at"], reverse=True)
    page = items[:limit]
    cursor = page[-1]["at"] if len(items) > limit else None
    return page, cursor


def worklist(*, user, department_id) -> list[dict]:
    """Open courses of the department with each patient's unsigned notes counted.

    Showing the list discloses who is in the department: the view logs one event per patient.
    """
    courses = worklist_for_department(user=user, department_id=department_id)
    unsigned = unsigned_note_counts(
        patient_ids=[c.patient_id for c in courses], department_id=department_id
    )
    markers: dict = {}
    for source in worklist_markers.all():
        for course_id, found in source.markers(courses, department_id).items():
            markers.setdefault(course_id, []).extend(found)
    overview_url = url_for_each("chart:overview", "patient_id")
    vitals_url = url_for_each("journal:vitals", "patient_id")
    rows = [
        {
            "course": c,
            "unsigned": unsigned.get(c.patient_id, 0),
            "markers": markers.get(c.pk, []),
            "overview_url": overview_url(c.patient.public_id),
            "vitals_url": vitals_url(c.patient.public_id),
        }
        for c in courses
    ]
    # A ward round walks from room to room: placed patients first, in room order ("Stue 2"
    # before "Stue 10"), then the rest in the order they came.
    rows.sort(key=lambda row: _location_key(row["course"].location))
    return rows


def _location_key(location: str):
    if not location:
        return (1, ())
    return (
        0,
        tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part.lower())
            for part in re.split(r"(\d+)", location)
            if part
        ),
    )
