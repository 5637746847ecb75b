"""NEWS2, the National Early Warning Score (Royal College of Physicians, 2017).

Danish hospitals use it (or its Danish sibling TOKS) to decide how often to observe a patient and
when to call a doctor. This module is pure: numbers in, score and risk band out.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Score:
    """The total, the response band and the part each parameter contributed."""

    total: int
    risk: str
    parts: dict


def _band(value, bands) -> int:
    """Points for a value: `bands` is a list of (upper bound inclusive, points), ascending."""
    for upper, points in bands:
        if value <= upper:
            return points
    return bands[-1][1]


_RESPIRATION = [(8, 3), (11, 1), (20, 0), (24, 2), (10**6, 3)]
_SPO2_SCALE_1 = [(91, 3), (93, 2), (95, 1), (10**6, 0)]
_SYSTOLIC = [(90, 3), (100, 2), (110, 1), (219, 0), (10**6, 3)]
_PULSE = [(40, 3), (50, 1), (90, 0), (110, 1), (130, 2), (10**6, 3)]
_TEMPERATURE = [
    (Decimal("35.0"), 3),
    (Decimal("36.0"), 1),
    (Decimal("38.0"), 0),
    (Decimal("39.0"), 1),
    (Decimal("1000"), 2),
]


def news2(
    *,
    respiration_rate: int,
    spo2: int,
    on_oxygen: bool,
    systolic: int,
    pulse: int,
    consciousness: str,
    temperature,
) -> Score:
    """Score one set of observations (SpO₂ scale 1) and name its clinical response band."""
    parts = {
        "respiration_rate": _band(respiration_rate, _RESPIRATION),
        "spo2": _band(spo2, _SPO2_SCALE_1),
        "on_oxygen": 2 if on_oxygen else 0,
        "systolic": _band(systolic, _SYSTOLIC),
        "pulse": _band(pulse, _PULSE),
        "consciousness": 0 if consciousness == "A" else 3,
        "temperature": _band(Decimal(str(temperature)), _TEMPERATURE),
    }
    total = sum(parts.values())
    if total >= 7:
        risk = "high"
    elif total >= 5:
        risk = "medium"
    elif any(points == 3 for points in parts.values()):
        risk = "low_medium"
    else:
        risk = "low"
    return Score(total=total, risk=risk, parts=parts)
