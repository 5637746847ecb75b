"""What a citizen's pages show, read through the gate the portal's views passed (the patient as
audience: only what is released to them). The clinical apps' data comes through their
selectors only; the release rules are the portal's (`portal.release`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.models import AccessEvent
from booking.selectors import bookings_for_patient
from journal.messaging import threads_for_patient
from journal.selectors import signed_notes_for_patient
from labresults import selectors as labresults_selectors
from medicinkort.selectors import card_state
from organisation.models import Department, Role
from patients.access import PatientAccess
from portal.release import note_is_released, note_rules, reports_with_release

RECENT_DAYS = 30
# Rows of "who has looked" to a page.
PAGE = 100


def overview_for_citizen(access: PatientAccess) -> dict:
    """The overview's parts: coming appointments, results and notes released in the last 30
    days, how many results still wait, unread threads, and the medication card."""
    now = timezone.now()
    recent = now - timedelta(days=RECENT_DAYS)
    reports = reports_with_release(access)
    return {
        "coming": bookings_for_patient(access, past_limit=0)["coming"][:5],
        "new_results": list(
            reports.filter(release_at__lte=now, release_at__gte=recent).order_by("-release_at")[:5]
        ),
        "waiting_results": reports.filter(
            Q(release_at__gt=now) | Q(release_at__isnull=True)
        ).count(),
        "new_notes": released_notes(access, since=recent, limit=5),
        # `unread` is annotated on each thread by the query.
        "unread": sum(getattr(t, "unread", 0) for t in threads_for_patient(access)),
        "card": card_state(access),
    }


def released_notes(access: PatientAccess, *, since=None, limit: int = 200) -> list:
    """Signed notes of the patient (since `since`) that the release rules show them now."""
    now, rules = timezone.now(), note_rules()
    # The rules leave some out: look at more than are wanted.
    signed = signed_notes_for_patient(access, since=since, limit=limit * 4 if since else limit)
    return [note for note in signed if note_is_released(note, rules, now=now)][:limit]


def released_results(access: PatientAccess) -> dict:
    """The reports released now, newest first, with their results (not the cancelled ones),
    and those still waiting, with the day they will be shown (never their values)."""
    now = timezone.now()
    with_release = reports_with_release(access)
    reports = list(
        with_release.filter(release_at__lte=now)
        .prefetch_related("results")
        .order_by("-observed_at", "-id")[:100]
    )
    for report in reports:
        report.shown_results = [r for r in report.results.all() if r.status != "cancelled"]
    pending = list(
        with_release.filter(Q(release_at__gt=now) | Q(release_at__isnull=True)).order_by(
            "-observed_at", "-id"
        )[:50]
    )
    return {"reports": reports, "pending": pending}


def looks_at(patient, *, limit=None, offset=0) -> list[AccessEvent]:
    """The accesses to the patient's record in the kept period, newest first, each with its
    role in words and the department with its hospital (`role_label`, `where`)."""
    days = settings.SUNDHED_PORTAL_ACCESS_LOG_DAYS
    events = AccessEvent.objects.filter(
        patient_id=patient.pk, occurred_at__gte=timezone.now() - timedelta(days=days)
    ).order_by("-occurred_at", "-id")
    found = list(events[offset : offset + limit] if limit else events[:PAGE])
    codes = {e.department_code for e in found if e.department_code}
    places = {
        d.sor_code: f"{d.name}, {d.hospital.name}"
        for d in Department.objects.filter(sor_code__in=codes).select_related("hospital")
    }
    roles = dict(Role.choices)
    for event in found:
        shown: Any = event  # with the words the page shows
        shown.role_label = roles.get(event.role, event.role) if event.role != "patient" else ""
        shown.where = places.get(event.department_code, event.department_name)
    return found


def departments_to_write_to(access: PatientAccess) -> list[Department]:
    """Departments that treat the citizen: a course in the last two years, or an appointment."""
    since = timezone.now() - timedelta(days=730)
    courses = Q(care_courses__patient=access.patient) & (
        Q(care_courses__ended_at__isnull=True) | Q(care_courses__ended_at__gte=since)
    )
    booked = Q(bookings__patient=access.patient)
    return list(
        Department.objects.filter(courses | booked)
        .select_related("hospital")
        .distinct()
        .order_by("name")
    )


def result_trend_for_citizen(access: PatientAccess, code: str) -> dict:
    """One analysis over time, released values only: its name, reference interval, the values
    oldest first, and the chart's series."""
    shown = reports_with_release(access).filter(release_at__lte=timezone.now()).values("pk")
    values = labresults_selectors.released_values(access, reports=shown, code=code)
    analysis = labresults_selectors.analysis_by_code(code)
    name = analysis.name if analysis else (values[-1].name if values else code)
    patient = access.patient
    interval = analysis.interval_for(sex=patient.sex, age=patient.age()) if analysis else None
    chart = {
        # The query keeps only values with a number and a time.
        "points": [
            [int(v.observed_at.timestamp() * 1000), float(v.value_numeric)]  # type: ignore[union-attr, arg-type]
            for v in values
        ],
        "low": float(interval.low) if interval else None,
        "high": float(interval.high) if interval else None,
        "unit": analysis.unit if analysis else (values[-1].unit if values else ""),
        "name": name,
    }
    return {"name": name, "interval": interval, "values": values, "chart": chart}
