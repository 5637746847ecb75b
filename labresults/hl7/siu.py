"""Appointments from an SIU message (S12 new, S13 rescheduled, S14 modified, S15 cancelled,
S17 deleted, S26 no-show) of an external scheduling system: who, when, what and where.

Read with the same tolerant parser as the results; the booking app files what it carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils.translation import gettext_noop as _

from labresults.hl7.parser import Hl7Error, Message, parse_timestamp

SCHEDULE_EVENTS = {"S12", "S13", "S14", "S15", "S17", "S26"}
# Units of SCH-10 / AIS-8 (HL7 ISO+ codes and the plain words systems send).
_MINUTES = {"min": 1, "m": 1, "minutes": 1, "h": 60, "hr": 60, "hour": 60, "hours": 60, "s": 1 / 60}


@dataclass
class ScheduleMessage:
    """What an SIU carries for one appointment of one patient."""

    event: str
    placer_id: str
    filler_id: str
    starts_at: datetime
    ends_at: datetime
    service_code: str
    service_text: str
    location: str
    patient_ids: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        """The appointment's number in the sending system (filler's, else placer's)."""
        return self.filler_id or self.placer_id


def is_schedule(message: Message) -> bool:
    return message.msh.get(9, 1) == "SIU"


def _minutes(amount: str, unit: str) -> float | None:
    try:
        value = float(amount)
    except ValueError:
        return None
    return value * _MINUTES.get((unit or "min").strip().lower(), 1)


def extract_schedule(message: Message) -> ScheduleMessage:
    """The appointment of an SIU message; Hl7Error saying what is missing."""
    event = message.msh.get(9, 2)
    if not is_schedule(message) or event not in SCHEDULE_EVENTS:
        raise Hl7Error(
            _("Message type %(type)s is not an appointment message this system reads (SIU S12,"
              " S13, S14, S15, S17, S26)."),
            code="AR", type=message.message_type,
        )  # fmt: skip
    sch = message.first("SCH")
    if sch is None:
        raise Hl7Error(_("The appointment message has no SCH segment."))
    placer, filler = sch.get(1, 1), sch.get(2, 1)
    if not (placer or filler):
        raise Hl7Error(_("The appointment has no number (SCH-1 or SCH-2)."))
    tq1, ais, ail = message.first("TQ1"), message.first("AIS"), message.first("AIL")
    starts = parse_timestamp(tq1.get(7)) if tq1 is not None else None
    ends = parse_timestamp(tq1.get(8)) if tq1 is not None else None
    if starts is None:
        starts, ends = parse_timestamp(sch.get(11, 4)), ends or parse_timestamp(sch.get(11, 5))
    if starts is None and ais is not None:
        starts = parse_timestamp(ais.get(4))
    if starts is None:
        raise Hl7Error(_("The appointment has no start time (TQ1-7, SCH-11.4 or AIS-4)."))
    if ends is None:
        duration = _minutes(sch.get(9), sch.get(10, 1))
        if duration is None and ais is not None:
            duration = _minutes(ais.get(7), ais.get(8, 1))
        if duration is None:
            raise Hl7Error(_("The appointment has no end time and no duration (TQ1-8, SCH-9)."))
        ends = starts + timedelta(minutes=duration)
    if ends <= starts:
        raise Hl7Error(_("The appointment ends before it starts."))
    service_code = (ais.get(3, 1) if ais is not None else "") or sch.get(7, 1)
    service_text = (ais.get(3, 2) if ais is not None else "") or sch.get(7, 2) or service_code
    location = ""
    if ail is not None:
        location = " ".join(p for p in (ail.get(3, 4), ail.get(3, 1), ail.get(3, 2)) if p)
    patient_ids = []
    pid = message.first("PID")
    if pid is not None:
        for index in range(len(pid.repetitions(3))):
            identifier = pid.get(3, 1, index)
            if identifier:
                patient_ids.append((identifier, pid.get(3, 5, index) or pid.get(3, 4, index)))
    return ScheduleMessage(
        event=event, placer_id=placer[:100], filler_id=filler[:100], starts_at=starts,
        ends_at=ends, service_code=service_code[:50], service_text=service_text[:200],
        location=location[:200], patient_ids=patient_ids,
    )  # fmt: skip
