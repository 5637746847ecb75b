"""Results from an ORU^R01: the patient, the orders (OBR) and their observations (OBX)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_noop as _

from labresults.hl7.parser import Hl7Error, Message, Segment, parse_timestamp

NO_CODE = _("OBX %(number)s has no observation code (OBX-3).")

RESULT_TYPES = {"ORU^R01", "ORU^R30", "ORU^R31", "ORU^R32", "ORU"}
# OBR-25 / OBX-11 result status: preliminary, final, corrected, cancelled, ...
STATUS = {
    "P": "preliminary",
    "I": "preliminary",
    "S": "preliminary",
    "R": "preliminary",
    "O": "preliminary",
    "F": "final",
    "C": "corrected",
    "X": "cancelled",
    "D": "cancelled",
    "W": "cancelled",
    "A": "preliminary",
}


@dataclass
class Observation:
    """One OBX: what was measured, the value, its unit, range, flag and status."""

    set_id: str
    value_type: str
    code: str
    name: str
    coding_system: str
    values: list[str]
    unit: str
    reference_range: str
    flags: list[str]
    status: str
    observed_at: datetime | None

    @property
    def value(self) -> str:
        """The value as text (repetitions joined)."""
        return " ~ ".join(v for v in self.values if v)

    @property
    def numeric(self) -> Decimal | None:
        """The value as a number when it is one (NM, or SN like '^182' or '<^5')."""
        if len(self.values) != 1:
            return None
        text = self.values[0].replace(",", ".").strip()
        if self.value_type == "SN":
            parts = text.split("^")
            if len(parts) >= 2 and parts[0] in ("", "="):
                text = parts[1]
            else:
                return None
        try:
            return Decimal(text)
        except InvalidOperation:
            return None


@dataclass
class Order:
    """One OBR with its observations: the unit a laboratory reports and corrects."""

    placer_order: str
    filler_order: str
    service_code: str
    service_name: str
    observed_at: datetime | None
    reported_at: datetime | None
    status: str
    observations: list[Observation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # OBR-24, the diagnostic service section (CH chemistry, HM haematology, RAD, CT, MR, ...).
    section: str = ""
    # DICOM study instance UIDs the report is about (FHIR ImagingStudy, or OBX of type RP).
    study_uids: list[str] = field(default_factory=list)


@dataclass
class ResultMessage:
    """What an ORU carries for one patient."""

    patient_ids: list[tuple[str, str]]  # (identifier, type or assigning authority)
    patient_name: str
    orders: list[Order]


_EXPONENT = re.compile(r"^[0-9]+$")


def _unit(obx) -> str:
    """OBX-6 in full: an escaped `10\\S\\9/L`, UCUM `10*9/L`, a coded unit (identifier, text,
    system), and the unescaped `10^9/L` some laboratories send, which reads as two components:
    a number, then the rest of an exponent (`9/L`), with no coding system."""
    parts = obx.components(6)
    if not parts:
        return ""
    if (
        len(parts) >= 2
        and _EXPONENT.match(parts[0])
        and parts[1][:1].isdigit()
        and not (len(parts) > 2 and parts[2])
    ):
        return f"{parts[0]}^{parts[1]}"
    return (parts[0] or (parts[1] if len(parts) > 1 else "")).strip()


def _observation(obx: Segment) -> Observation:
    value_type = obx.get(2)
    values: list = []
    for repetition in obx.repetitions(5):
        parts = repetition.split(obx.delimiters.component)
        if value_type in ("CE", "CWE", "CNE", "CF") and len(parts) > 1:
            values.append(obx.get(5, 2, len(values)) or obx.get(5, 1, len(values)))
        elif value_type == "SN":
            values.append("^".join(obx.components(5, len(values))))
        else:
            values.append("^".join(obx.components(5, len(values))).strip("^"))
    return Observation(
        set_id=obx.get(1),
        value_type=value_type,
        code=obx.get(3, 1),
        name=obx.get(3, 2),
        coding_system=obx.get(3, 3),
        values=values,
        unit=_unit(obx),
        reference_range=obx.get(7),
        flags=[obx.get(8, 1, i) for i in range(len(obx.repetitions(8))) if obx.get(8, 1, i)],
        status=STATUS.get(obx.get(11), "final" if not obx.get(11) else "preliminary"),
        observed_at=parse_timestamp(obx.get(14)),
    )


def extract_results(message: Message, *, values: bool = True) -> ResultMessage:
    """The orders and observations of a result message; Hl7Error when its shape is wrong.

    `values=False` only checks the shape (what the receiver needs for its ACK): the same rules
    and reasons, at a fraction of the cost, with no observations read."""
    if message.message_type not in RESULT_TYPES and message.msh.get(9, 1) != "ORU":
        raise Hl7Error(
            _("Message type %(type)s is not a result message (ORU^R01)."),
            code="AR",
            type=message.message_type,
        )
    pid = message.first("PID")
    patient_ids = []
    if pid is not None:
        for index in range(len(pid.repetitions(3))):
            identifier = pid.get(3, 1, index)
            kind = pid.get(3, 5, index) or pid.get(3, 4, index)
            if identifier:
                patient_ids.append((identifier, kind))
    orders: list[Order] = []
    current: Order | None = None
    for segment in message.segments[1:]:
        if segment.name == "OBR":
            current = Order(
                placer_order=segment.get(2),
                filler_order=segment.get(3) or segment.get(2),
                service_code=segment.get(4, 1),
                service_name=segment.get(4, 2),
                observed_at=parse_timestamp(segment.get(7)),
                reported_at=parse_timestamp(segment.get(22)),
                status=STATUS.get(segment.get(25), "final"),
                section=segment.get(24).upper()[:10],
            )
            if not current.filler_order:
                raise Hl7Error(
                    _("OBR %(number)s has no order number."),
                    number=segment.get(1) or len(orders) + 1,
                )
            orders.append(current)
        elif segment.name == "OBX":
            if current is None:
                raise Hl7Error(
                    _("An OBX comes before any OBR: the result has no order to belong to.")
                )
            if not values:
                if not segment.get(3, 1):
                    raise Hl7Error(NO_CODE, number=segment.get(1))
                parse_timestamp(segment.get(14))
                continue
            observation = _observation(segment)
            if not observation.code:
                raise Hl7Error(NO_CODE, number=observation.set_id)
            current.observations.append(observation)
        elif segment.name == "NTE" and current is not None:
            current.notes.append(segment.get(3))
    if not orders:
        raise Hl7Error(_("The message has no OBR: there is no result in it."))
    name = pid.components(5) if pid is not None else []
    return ResultMessage(
        patient_ids=patient_ids,
        patient_name=" ".join(p for p in (name[1:2] + name[:1]) if p),
        orders=orders,
    )
