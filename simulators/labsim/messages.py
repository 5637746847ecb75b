"""Realistic ORU^R01 messages: NPU analyses, values around the reference interval, flags."""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Analysis:
    """An analysis as the laboratory reports it; some have their own interval for women."""

    code: str
    name: str
    unit: str
    low: float
    high: float
    decimals: int
    female: tuple[float, float] | None = None

    def interval(self, cpr: str) -> tuple[float, float]:
        """The reference interval for the person: a CPR number's last digit is odd for men."""
        if self.female and int(cpr[-1]) % 2 == 0:
            return self.female
        return self.low, self.high


ANALYSES = [
    Analysis("NPU03429", "P-Natrium", "mmol/L", 137, 145, 0),
    Analysis("NPU03230", "P-Kalium", "mmol/L", 3.5, 4.4, 1),
    Analysis("NPU18016", "P-Kreatinin", "umol/L", 60, 105, 0, female=(45, 90)),
    Analysis("NPU02319", "B-Hæmoglobin", "mmol/L", 8.3, 10.5, 1, female=(7.3, 9.5)),
    Analysis("NPU19748", "P-C-reaktivt protein", "mg/L", 0, 8, 0),
    Analysis("NPU02593", "B-Leukocytter", "10^9/L", 3.5, 10.0, 1),
    Analysis("NPU03568", "B-Trombocytter", "10^9/L", 145, 390, 0),
    Analysis("NPU22089", "P-Glukose", "mmol/L", 4.2, 7.8, 1),
    Analysis("NPU19651", "P-Alanintransaminase", "U/L", 10, 70, 0),
]
PANELS = {
    "Væsketal": ["NPU03429", "NPU03230", "NPU18016"],
    "Hæmatologi": ["NPU02319", "NPU02593", "NPU03568"],
    "Infektion": ["NPU19748", "NPU02593"],
    "Lever og sukker": ["NPU19651", "NPU22089"],
}
BY_CODE = {a.code: a for a in ANALYSES}


def _escaped(text: str) -> str:
    """HL7 v2 escapes: a unit like 10^9/L must not read as two components."""
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )


def _value(rng: random.Random, analysis: Analysis, cpr: str) -> tuple[str, str]:
    """A value around the person's reference interval, flagged by that interval."""
    low, high = analysis.interval(cpr)
    middle = (low + high) / 2
    spread = (high - low) / 3 or 1
    value = max(0.0, rng.gauss(middle, spread * (2.5 if rng.random() < 0.1 else 1)))
    flag = "N"
    if value < low:
        flag = "LL" if value < low - 2 * spread else "L"
    elif value > high:
        flag = "HH" if value > high + 2 * spread else "H"
    return f"{value:.{analysis.decimals}f}", flag


@dataclass
class Order:
    """One order of one patient, remembered so it can be finalised, corrected or re-sent."""

    cpr: str
    name: str
    filler: str
    placer: str
    panel: str
    sampled: datetime
    values: dict


def new_order(rng: random.Random, cpr: str, number: int, now: datetime) -> Order:
    panel = rng.choice(list(PANELS))
    values = {code: _value(rng, BY_CODE[code], cpr) for code in PANELS[panel]}
    return Order(
        cpr=cpr,
        name="",
        filler=f"KBA{now:%y%m%d}{number:06d}",
        placer=f"RQ{number:07d}",
        panel=panel,
        sampled=now - timedelta(minutes=rng.randint(20, 180)),
        values=values,
    )


def oru(order: Order, control_id: str, *, status: str, now: datetime) -> bytes:
    """The ORU^R01 of an order: status P (preliminary), F (final) or C (corrected)."""
    segments = [
        f"MSH|^~\\&|LABSIM|KBA RH|SUNDHED|RH|{now:%Y%m%d%H%M%S}||ORU^R01^ORU_R01|{control_id}"
        "|P|2.5.1|||AL|NE|DNK|8859/1",
        f"PID|1||{order.cpr}^^^CPR^CPR||",
        f"ORC|RE|{order.placer}|{order.filler}",
        f"OBR|1|{order.placer}|{order.filler}|{order.panel}^{order.panel}^L|||"
        f"{order.sampled:%Y%m%d%H%M%S}|||||||||||||||{now:%Y%m%d%H%M%S}|||{status}",
    ]
    for set_id, (code, (value, flag)) in enumerate(order.values.items(), start=1):
        analysis = BY_CODE.get(code)
        shown = "" if status == "P" and set_id > 1 else value
        name, unit = (analysis.name, _escaped(analysis.unit)) if analysis else (code, "")
        low, high = analysis.interval(order.cpr) if analysis else (0, 0)
        interval = f"{low:g}-{high:g}" if analysis else ""
        segments.append(
            f"OBX|{set_id}|NM|{code}^{name}^NPU||{shown}|{unit}|"
            f"{interval}|{flag if shown else ''}|||{status}|||"
            f"{order.sampled:%Y%m%d%H%M%S}"
        )
    return ("\r".join(segments) + "\r").encode("latin-1")


def malformed(control_id: str, now: datetime) -> bytes:
    """A message a real laboratory sometimes sends: results before their order."""
    return (
        f"MSH|^~\\&|LABSIM|KBA RH|SUNDHED|RH|{now:%Y%m%d%H%M%S}||ORU^R01|{control_id}|P|2.5.1\r"
        "OBX|1|NM|NPU03429^P-Natrium^NPU||140|mmol/L|137-145|N|||F\r"
    ).encode("latin-1")


def ordered(rng: random.Random, received, number: int, now: datetime) -> Order:
    """An order that came in on the order port, analysed: the codes the laboratory knows get
    realistic values, others a plain number."""
    values = {}
    for code in received.codes:
        if code in BY_CODE:
            values[code] = _value(rng, BY_CODE[code], received.cpr)
        else:
            values[code] = (f"{rng.uniform(1, 100):.1f}", "")
    return Order(
        cpr=received.cpr,
        name="",
        filler=f"KBA{now:%y%m%d}{number:06d}",
        placer=received.placer,
        panel="Rekvisition",
        sampled=now - timedelta(minutes=rng.randint(10, 40)),
        values=values,
    )
