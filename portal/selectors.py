"""What a citizen's pages show, read through the gate the portal's views passed (the patient as
audience: only what is released to them)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from patients.access import PatientAccess

RECENT_DAYS = 30


def overview_for_citizen(access: PatientAccess) -> dict:
    """The overview's parts: coming appointments, results and notes released in the last 30
    days, how many results still wait, unread threads, and the medication card."""
    from booking.selectors import bookings_for_patient
    from journal.messaging import threads_for_patient
    from medicinkort.selectors import card_state

    now = timezone.now()
    recent = now - timedelta(days=RECENT_DAYS)
    reports = _reports(access)
    return {
        "coming": bookings_for_patient(access, past_limit=0)["coming"][:5],
        "new_results": list(
            reports.filter(release_at__lte=now, release_at__gte=recent).order_by("-release_at")[:5]
        ),
        "waiting_results": reports.filter(
            Q(release_at__gt=now) | Q(release_at__isnull=True)
        ).count(),
        "new_notes": released_notes_since(access, recent, limit=5),
        # `unread` is annotated on each thread by the query.
        "unread": sum(getattr(t, "unread", 0) for t in threads_for_patient(access)),
        "card": card_state(access),
    }


def _reports(access: PatientAccess):
    from portal.release import reports_with_release

    return reports_with_release(access)


def released_notes_since(access: PatientAccess, since, *, limit: int) -> list:
    """Signed notes of the patient since `since` that the release rules show them now."""
    from journal.models import Note, NoteStatus
    from portal.release import note_is_released, note_rules

    now, rules = timezone.now(), note_rules()
    signed = access.unblocked(
        Note.objects.filter(patient=access.patient, status=NoteStatus.SIGNED, signed_at__gte=since)
    ).order_by("-signed_at")[: limit * 4]
    return [note for note in signed if note_is_released(note, rules, now=now)][:limit]


def result_trend_for_citizen(access: PatientAccess, code: str) -> dict:
    """One analysis over time, released values only: its name, reference interval, the values
    oldest first, and the chart's series."""
    from labresults.models import Analysis, LabResult

    shown = _reports(access).filter(release_at__lte=timezone.now()).values("pk")
    values = list(
        LabResult.objects.filter(
            patient=access.patient, report_id__in=shown, code=code, value_numeric__isnull=False,
            observed_at__isnull=False,
        )
        .exclude(status="cancelled")
        .order_by("observed_at")
    )  # fmt: skip
    analysis = Analysis.objects.prefetch_related("intervals").filter(code=code).first()
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


def proxies_of(me) -> dict:
    """Whom the citizen may act for now, and the powers of attorney they have given."""
    from patients.models import Proxy

    now = timezone.now()
    return {
        "now": now,
        "mine": [
            p for p in Proxy.objects.filter(holder=me).select_related("subject") if p.is_valid(now)
        ],
        "given": list(
            Proxy.objects.filter(subject=me, kind=Proxy.Kind.POWER_OF_ATTORNEY)
            .select_related("holder")
            .order_by("-valid_from")
        ),
    }
