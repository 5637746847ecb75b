"""Structured dosage, as FMK models it (its `DosageStructure`).

A dosage is one or more periods (a taper is several, one after the other), each repeated every
`every_days` days from its start (1: daily, 2: every other day, 7: weekly) until its end or
without an end, giving its doses on the days of the interval it names (day 1 is the start's);
a dose has a quantity and a time of day, or none (the hospital's usual times of day are then
proposed). An as-needed dosage has no due doses, only the most a day. The medication round's
due doses, the order's dose text and the checks of bad input all come from this one structure;
what FMK's cards carry as structures is read into it (`from_fmk`), a free text is not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.translation import gettext as _

# The hospital's times of day for a number of doses a day given at no set time.
TIMES_A_DAY = {
    1: ["08:00"], 2: ["08:00", "18:00"], 3: ["08:00", "14:00", "20:00"],
    4: ["08:00", "12:00", "18:00", "22:00"], 5: ["06:00", "10:00", "14:00", "18:00", "22:00"],
    6: ["02:00", "06:00", "10:00", "14:00", "18:00", "22:00"],
}  # fmt: skip
# FMK's named times of day, as the hospital gives them.
FMK_TIMES = {"morning": "08:00", "noon": "12:00", "evening": "18:00", "night": "22:00"}
_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
# What FMK's schema takes: at most 10 structures, a quantity of at most 9+9 digits, a start from
# 2000; and what a dosage may span here (a period of at most ten years).
MAX_PERIODS = 10
MAX_DAYS = 3653
EARLIEST = date(2000, 1, 1)
_FMK_QUANTITY = re.compile(r"\d{1,9}(\.\d{1,9})?")


def fmk_quantity(quantity: Decimal) -> str:
    """A quantity as FMK's schema writes a decimal: plain digits, never an exponent."""
    text = format(quantity.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Dose:
    quantity: Decimal
    time: str = ""  # "HH:MM", or "" for no set time


@dataclass(frozen=True)
class Period:
    start: date
    doses: tuple[Dose, ...] = ()
    end: date | None = None
    every_days: int = 1
    days: tuple[int, ...] = (1,)  # the days of the interval the doses are given on
    supplementary: str = ""

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def gives_on(self, day: date) -> bool:
        return self.covers(day) and (day - self.start).days % self.every_days + 1 in self.days

    def times(self) -> list[str]:
        """The time of each dose: its own, else the hospital's usual times for that many."""
        usual = TIMES_A_DAY.get(len(self.doses), [])
        return [
            dose.time or (usual[i] if i < len(usual) else "08:00")
            for i, dose in enumerate(self.doses)
        ]


@dataclass(frozen=True)
class Dosage:
    periods: tuple[Period, ...]
    unit_singular: str = ""
    unit_plural: str = ""
    as_needed: bool = False
    most_a_day: int | None = None  # as needed: the most doses a day

    # --- what it means ----------------------------------------------------------------------
    def due(self, first: datetime, last: datetime) -> list[tuple[datetime, Decimal]]:
        """Every dose due from `first` to `last` (aware datetimes), in time order."""
        if self.as_needed:
            return []
        found = []
        day = timezone.localtime(first).date()
        while day <= timezone.localtime(last).date():
            for period in self.periods:
                if not period.gives_on(day):
                    continue
                for dose, time in zip(period.doses, period.times(), strict=True):
                    hour, minute = (int(part) for part in time.split(":"))
                    at = timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))
                    if first <= at <= last:
                        found.append((at, dose.quantity))
            day += timedelta(days=1)
        return sorted(found)

    def text(self) -> str:
        """The dose text, in Danish as FMK's translations say it."""
        parts = [self._period_text(p) for p in self.periods]
        if len(parts) == 1:
            return parts[0]
        return "; ".join(
            f"fra {p.start:%d.%m.}: {text}" for p, text in zip(self.periods, parts, strict=True)
        )

    def _quantity(self, quantity: Decimal) -> str:
        number = f"{quantity.normalize():f}".replace(".", ",")
        unit = self.unit_singular if quantity == 1 else self.unit_plural
        return f"{number} {unit}".strip()

    def _period_text(self, period: Period) -> str:
        if self.as_needed:
            dose = self._quantity(period.doses[0].quantity if period.doses else Decimal(1))
            return f"{dose} efter behov, højst {self.most_a_day} gange i døgnet"
        quantities = {dose.quantity for dose in period.doses}
        timed = all(dose.time for dose in period.doses)
        if len(quantities) == 1 and not timed:
            times = "gang" if len(period.doses) == 1 else "gange"
            what = f"{self._quantity(period.doses[0].quantity)} {len(period.doses)} {times}"
        else:
            what = ", ".join(
                f"{self._quantity(dose.quantity)} kl. {time}"
                for dose, time in zip(period.doses, period.times(), strict=True)
            )
        rhythm = {1: "daglig", 2: "hver anden dag", 7: "én gang om ugen"}.get(
            period.every_days, f"hver {period.every_days}. dag"
        )
        if period.every_days > 1 and period.days != (1,):
            rhythm = (
                f"{len(period.days)} dage hver {period.every_days}. dag (dag "
                + ", ".join(str(d) for d in period.days)
                + ")"
            )
        ending = f" til {period.end:%d.%m.%Y}" if period.end and len(self.periods) == 1 else ""
        extra = f". {period.supplementary}" if period.supplementary else ""
        return f"{what} {rhythm}{ending}{extra}"

    def is_daily_fixed(self) -> bool:
        return not self.as_needed and all(p.every_days == 1 for p in self.periods)

    # --- bad input ----------------------------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """What is wrong with it, by the form field it comes from (empty when it is sound)."""
        found: dict[str, str] = {}
        if self.as_needed and not self.most_a_day:
            found["pn_max_per_day"] = _("An as-needed dosage needs the most doses a day.")
        if not self.periods:
            found["dose_text"] = _("The dosage has no doses.")
        if len(self.periods) > MAX_PERIODS:
            found["taper"] = _("At most %(n)s steps.") % {"n": MAX_PERIODS}
        for period in self.periods:
            if period.end is not None and period.end < period.start:
                found["end"] = _("The dosage ends before it starts.")
            elif period.end is not None and (period.end - period.start).days > MAX_DAYS:
                found["end"] = _("At most ten years ahead.")
            if period.start < EARLIEST:
                found["start"] = _("FMK takes no dosage starting before 2000.")
            if not 1 <= period.every_days <= 365:
                found["every_days"] = _("Every 1 to 365 days.")
            elif any(d < 1 or d > period.every_days for d in period.days):
                found["every_days"] = _("A day outside the interval.")
            if any(not _FMK_QUANTITY.fullmatch(fmk_quantity(d.quantity)) for d in period.doses):
                found["quantity"] = _("At most 9 digits before and after the comma.")
            if not self.as_needed and not period.doses:
                found["times"] = _("A fixed dosage needs at least one dose.")
            if any(dose.quantity <= 0 for dose in period.doses):
                found["quantity"] = _("A dose must be more than 0.")
            if any(dose.time and not _CLOCK.fullmatch(dose.time) for dose in period.doses):
                found["times"] = _("Times as HH:MM, separated by spaces.")
        ordered = sorted(self.periods, key=lambda p: p.start)
        for before, after in zip(ordered, ordered[1:], strict=False):
            if before.end is None or before.end >= after.start:
                found["taper"] = _("The steps of a taper overlap: each must end before the next.")
        return found

    # --- stored -------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "unit": [self.unit_singular, self.unit_plural],
            "as_needed": self.as_needed,
            "most_a_day": self.most_a_day,
            "periods": [
                {
                    "start": p.start.isoformat(),
                    "end": p.end.isoformat() if p.end else None,
                    "every_days": p.every_days,
                    "days": list(p.days),
                    "doses": [[str(d.quantity), d.time] for d in p.doses],
                    "supplementary": p.supplementary,
                }  # fmt: skip
                for p in self.periods
            ],
        }

    @classmethod
    def from_json(cls, value: dict | None) -> Dosage | None:
        if not value:
            return None
        return cls(
            periods=tuple(
                Period(
                    start=date.fromisoformat(p["start"]),
                    end=date.fromisoformat(p["end"]) if p.get("end") else None,
                    every_days=int(p.get("every_days", 1)),
                    days=tuple(p.get("days", [1])),
                    doses=tuple(Dose(Decimal(q), t) for q, t in p.get("doses", [])),
                    supplementary=p.get("supplementary", ""),
                )  # fmt: skip
                for p in value.get("periods", [])
            ),
            unit_singular=value.get("unit", ["", ""])[0],
            unit_plural=value.get("unit", ["", ""])[1],
            as_needed=bool(value.get("as_needed")),
            most_a_day=value.get("most_a_day"),
        )


def daily(times: list[str], start: date, quantity: Decimal = Decimal(1), **units) -> Dosage:
    """A dose at each of these times every day (what an order without a structure means)."""
    doses = tuple(Dose(quantity, time) for time in times)
    return Dosage(periods=(Period(start=start, doses=doses),), **units)


# --- from what a clinician writes -----------------------------------------------------------
# "2 tabletter", "½ tablet", "to pust": a count of units; not "400 mg" (a strength).
_QUANTITY = re.compile(
    r"^\s*(\d+(?:[.,]\d+)?|½|en|én|to|tre|fire)\s+"
    r"(?!x\b|gange?\b|mg\b|g\b|mikrog|µg|mcg|ie\b|mmol)[a-zæøå]"
)
_WORD_NUMBERS = {"½": "0.5", "en": "1", "én": "1", "to": "2", "tre": "3", "fire": "4"}
_EVERY_N_DAYS = re.compile(r"hver\s+(anden|tredje|\d+)\.?\s*dag")
_WEEKLY = re.compile(r"ugentl|om ugen|pr\.? uge|/uge")
_TAPER_STEP = re.compile(r"(\d+)\s*dag\w*\s*[:=]?\s*(\d+(?:[.,]\d+)?)")


def quantity_from_text(text: str) -> Decimal:
    """The quantity a dosage text starts with ("2 tabletter …" is 2; "½ tablet" is 0.5), else 1
    (a text such as "400 mg x 3" names a strength, not a count of units)."""
    found = _QUANTITY.match(text.lower())
    if not found:
        return Decimal(1)
    value = _WORD_NUMBERS.get(found.group(1), found.group(1)).replace(",", ".")
    try:
        return Decimal(value)
    except InvalidOperation:
        return Decimal(1)


def every_days_from_text(text: str) -> int:
    """The rhythm a Danish dosage text says: every other day 2, weekly 7, "hver 3. dag" 3, or
    every day 1."""
    lowered = text.lower()
    if _WEEKLY.search(lowered):
        return 7
    found = _EVERY_N_DAYS.search(lowered)
    if found:
        word = found.group(1)
        return {"anden": 2, "tredje": 3}.get(word) or int(word)
    return 1


def taper_from_text(text: str, start: date, times: list[str], **units) -> Dosage | None:
    """A taper written "3 dage: 2; 3 dage: 1" (days, then the quantity at each time): one
    period a step, one after the other from `start`; None when the text is not one."""
    steps = _TAPER_STEP.findall(text.lower())
    if len(steps) < 2:
        return None
    if len(steps) > MAX_PERIODS or any(not 1 <= int(days) <= 365 for days, _ in steps):
        return None  # the caller names the field
    periods, day = [], start
    for days, quantity in steps:
        end = day + timedelta(days=int(days) - 1)
        amount = Decimal(quantity.replace(",", "."))
        periods.append(Period(start=day, end=end, doses=tuple(Dose(amount, t) for t in times)))
        day = end + timedelta(days=1)
    return Dosage(periods=tuple(periods), **units)


# --- from FMK's card ------------------------------------------------------------------------
def _local(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _kids(element, name: str) -> list:
    return [c for c in element if _local(c) == name] if element is not None else []


def _kid_text(element, name: str) -> str:
    found = _kids(element, name)
    return (found[0].text or "").strip() if found else ""


def from_fmk(dosage_element) -> Dosage | None:
    """A card's dosage as a structure, where FMK gave one (fixed, or as needed; a combination of
    both is read as its fixed part); None for a free text, a local schema, or what cannot be
    read. Named times of day become the hospital's times (morning 08:00 …)."""
    if dosage_element is None:
        return None
    fixed = _kids(dosage_element, "StructuresFixed")
    needed = _kids(dosage_element, "StructuresAccordingToNeed")
    structures = fixed or needed
    if not structures or (fixed and needed):
        return None  # none, or fixed and as needed together: FMK's text says it, not a guess
    units = _kids(dosage_element, "UnitTexts")
    singular = _kid_text(units[0], "Singular") if units else _kid_text(dosage_element, "UnitText")
    plural = _kid_text(units[0], "Plural") if units else singular
    periods = []
    try:
        for structure in _kids(structures[0], "Structure"):
            if _kids(structure, "NotIterated") or _kids(structure, "AnyDay"):
                return None  # a one-off day, or doses on any day: kept as FMK's text
            if any(_kids(d, "MinimalQuantity") for day in _kids(structure, "Day")
                   for d in _kids(day, "Dose")):  # fmt: skip
                return None  # "1-2 tabletter": a range is not one dose
            interval = _kid_text(structure, "IterationInterval")
            end = _kid_text(structure, "EndDate")
            day_elements = _kids(structure, "Day")
            by_day = [
                tuple(
                    Dose(
                        Decimal(_kid_text(dose, "Quantity")),
                        FMK_TIMES.get(_kid_text(dose, "Time"), _kid_text(dose, "Time")[:5]),
                    )
                    for dose in _kids(day, "Dose")
                )
                for day in day_elements
            ]
            if len(set(by_day)) > 1:
                return None  # other doses on other days: shown as FMK's text, not guessed
            doses = by_day[0] if by_day else ()
            periods.append(Period(
                start=date.fromisoformat(_kid_text(structure, "StartDate")[:10]),
                end=date.fromisoformat(end[:10]) if end else None,
                every_days=int(interval) if interval else 1,
                days=tuple(int(_kid_text(d, "Number") or 1) for d in day_elements) or (1,),
                doses=tuple(doses), supplementary=_kid_text(structure, "SupplementaryText"),
            ))  # fmt: skip
    except (ValueError, InvalidOperation):
        return None
    as_needed = not fixed
    most = max((len(p.doses) for p in periods), default=0) if as_needed else None
    dosage = Dosage(periods=tuple(periods), unit_singular=singular, unit_plural=plural,
                    as_needed=as_needed, most_a_day=most or None)  # fmt: skip
    return None if dosage.problems() else dosage
