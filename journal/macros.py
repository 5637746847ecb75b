"""The journal's text macros and overview panels, registered in `JournalConfig.ready()`.

A macro returns plain text that the note editor inserts where `.name` was typed.
"""

from django.utils import timezone
from django.utils.formats import localize
from django.utils.translation import gettext as _

from journal import selectors
from journal.models import Diagnosis
from patients.selectors import cave_list_for_patient


def expand_cave(access) -> str:
    """`.cave`: the active CAVE entries."""
    entries = [e for e in cave_list_for_patient(access) if e.status == "active"]
    if not entries:
        return "CAVE: " + _("none known")
    return "CAVE: " + "; ".join(
        f"{e.substance}" + (f" ({e.reaction})" if e.reaction else "") for e in entries
    )


def expand_diagnoses(access) -> str:
    """`.diag`: the active diagnoses, action diagnosis first."""
    diagnoses = selectors.diagnosis_list_for_patient(access, active_only=True)
    if not diagnoses:
        return _("Diagnoses") + ": " + _("none coded")
    lines = [_("Diagnoses") + ":"]
    for d in sorted(diagnoses, key=lambda d: (d.kind != Diagnosis.Kind.ACTION, d.code.code)):
        course = d.care_course
        lines.append(
            f"- {d.code.code} {d.code.text} ({d.get_kind_display()}, "
            f"{course.department.short_name} {timezone.localtime(course.started_at):%d.%m.%Y})"
        )
    return "\n".join(lines)


def expand_vitals(access) -> str:
    """`.vitale`: the latest vital signs with the score."""
    v = selectors.vital_signs_latest(access)
    if v is None:
        return _("Vital signs") + ": " + _("none recorded")
    when = timezone.localtime(v.measured_at).strftime("%d.%m.%Y %H:%M")
    oxygen = _("with oxygen") if v.on_oxygen else _("room air")
    parts = []
    if v.systolic is not None:
        parts.append(f"BT {v.blood_pressure}")
    if v.pulse is not None:
        parts.append(f"P {v.pulse}")
    if v.respiration_rate is not None:
        parts.append(f"RF {v.respiration_rate}")
    if v.spo2 is not None:
        parts.append(f"SAT {v.spo2} % ({oxygen})")
    if v.temperature is not None:
        parts.append(f"T {localize(v.temperature)} °C")
    if v.consciousness:
        parts.append(str(v.get_consciousness_display()))
    if not v.is_complete:
        score = _("NEWS2 at least %(score)s, incomplete (not measured: %(missing)s)") % {
            "score": v.score,
            "missing": ", ".join(v.missing),
        }
        if v.risk != "incomplete":
            score += f" ({v.get_risk_display()})"
    else:
        score = f"NEWS2 {v.score} ({v.get_risk_display()})"
    return f"{_('Vital signs')} {when}: {', '.join(parts)}. {score}."


def panel_diagnoses(access) -> dict:
    """Overview panel: active problems and diagnoses."""
    return {
        "template": "journal/panels/diagnoses.html",
        "diagnoses": selectors.diagnosis_list_for_patient(access, active_only=True, limit=12),
    }


def panel_vitals(access) -> dict:
    """Overview panel: the latest vital signs with the early-warning score."""
    return {
        "template": "journal/panels/vitals.html",
        "vitals": selectors.vital_signs_latest(access),
    }


def panel_notes(access) -> dict:
    """Overview panel: the last notes."""
    return {
        "template": "journal/panels/notes.html",
        "notes": selectors.note_list_for_patient(access, limit=6),
    }
