"""NEWS2, the National Early Warning Score (Royal College of Physicians, 2017).

Danish hospitals use it (or its Danish sibling TOKS) to decide how often to observe a patient and
when to call a doctor. This module is pure: numbers in, score and risk band out. NEWS2 is
defined on all seven parameters: with one missing the set is incomplete and its total is only a
lower bound ("at least 8"); a missing value is never guessed as normal. What was measured still
raises the alarm: an incomplete set whose measured parts already reach a band (7 or more, 5 or
more, a single 3) is in that band; below that its band is "incomplete", never "low".
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Score:
    """The total, the response band and the part each parameter contributed. For an incomplete
    set the total is what the measured parameters add up to (a lower bound) and `missing`
    names the rest."""

    total: int
    risk: str
    parts: dict
    missing: tuple[str, ...] = ()


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


# The parameters the score is made of (supplemental oxygen is always known: yes or no).
PARAMETERS = ("respiration_rate", "spo2", "systolic", "pulse", "consciousness", "temperature")


def news2(
    *,
    respiration_rate: int | None,
    spo2: int | None,
    on_oxygen: bool,
    systolic: int | None,
    pulse: int | None,
    consciousness: str | None,
    temperature,
) -> Score:
    """Score one set of observations (SpO₂ scale 1) and name its clinical response band."""
    values = {
        "respiration_rate": respiration_rate,
        "spo2": spo2,
        "systolic": systolic,
        "pulse": pulse,
        "consciousness": consciousness or None,
        "temperature": temperature,
    }
    bands = {
        "respiration_rate": _RESPIRATION,
        "spo2": _SPO2_SCALE_1,
        "systolic": _SYSTOLIC,
        "pulse": _PULSE,
    }
    parts = {"on_oxygen": 2 if on_oxygen else 0}
    for name, value in values.items():
        if value is None:
            continue
        if name == "consciousness":
            parts[name] = 0 if value == "A" else 3
        elif name == "temperature":
            parts[name] = _band(Decimal(str(value)), _TEMPERATURE)
        else:
            parts[name] = _band(value, bands[name])
    missing = tuple(name for name in PARAMETERS if values[name] is None)
    total = sum(parts.values())
    if total >= 7:
        risk = "high"
    elif total >= 5:
        risk = "medium"
    elif any(points == 3 for points in parts.values()):
        risk = "low_medium"
    else:
        risk = "incomplete" if missing else "low"
    return Score(total=total, risk=risk, parts=parts, missing=missing)
