"""CPR numbers: the one place that reads, checks and formats them.

A CPR number is DDMMYY-SSSS. The birth date must exist; the century comes from the seventh digit
together with the year (CPR-kontoret's table). The modulus 11 check is no reason to reject: the
CPR office has issued numbers that fail it since 2007, so a failure is only a note. Replacement
numbers (erstatningspersonnumre) for people without a CPR keep the date part and carry a letter
in the serial (DDMMYY-A123 style) or are issued by the region in the same format; we accept a
letter in position seven and mark them as replacements.
"""

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_INPUT = re.compile(r"^\s*(\d{6})[-\s]?([0-9A-Za-z]\d{3})\s*$")
_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Cpr:
    """A checked CPR number with what it tells."""

    value: str  # ten normalised characters, no dash
    birth_date: date
    sex: str  # "F", "M" or "U" (replacement numbers tell nothing)
    is_replacement: bool
    passes_modulus11: bool

    @property
    def formatted(self) -> str:
        """DDMMYY-SSSS, the way people read and write it."""
        return format_cpr(self.value)


def format_cpr(value: str) -> str:
    """Ten characters shown as DDMMYY-SSSS."""
    return f"{value[:6]}-{value[6:]}"


def century_for(year2: int, digit7: int) -> int:
    """The century of the birth year, from the two-digit year and the seventh digit."""
    if digit7 <= 3:
        return 1900
    if digit7 in (4, 9):
        return 2000 if year2 <= 36 else 1900
    # 5, 6, 7, 8
    return 2000 if year2 <= 57 else 1800


def passes_modulus11(value: str) -> bool:
    """Whether the number passes the old modulus 11 check (informative only)."""
    if not value.isdigit():
        return False
    return sum(int(c) * w for c, w in zip(value, _WEIGHTS, strict=True)) % 11 == 0


def parse_cpr(raw: str) -> Cpr:
    """Read a CPR number typed with or without the dash; raise ValidationError saying why not."""
    match = _INPUT.match(raw or "")
    if not match:
        raise ValidationError(
            _("A CPR number has ten digits, written DDMMYY-SSSS."), code="cpr_format"
        )
    head, serial = match.group(1), match.group(2).upper()
    value = head + serial
    is_replacement = not serial[0].isdigit()
    day, month, year2 = int(head[:2]), int(head[2:4]), int(head[4:6])
    # Replacement numbers carry a letter where the century digit would be; they are issued to
    # living people, so read the year as the nearest past one.
    if is_replacement:
        this_year = date.today().year % 100
        century = 2000 if year2 <= this_year else 1900
    else:
        century = century_for(year2, int(serial[0]))
    try:
        birth_date = date(century + year2, month, day)
    except ValueError:
        raise ValidationError(
            _("%(cpr)s does not start with a date that exists."),
            code="cpr_date",
            params={"cpr": format_cpr(value)},
        ) from None
    sex = "U" if is_replacement else "F" if int(serial[-1]) % 2 == 0 else "M"
    return Cpr(
        value=value,
        birth_date=birth_date,
        sex=sex,
        is_replacement=is_replacement,
        passes_modulus11=passes_modulus11(value),
    )


def looks_like_cpr(text: str) -> bool:
    """Whether search text is shaped like a CPR number (so search by CPR, not by name)."""
    return bool(_INPUT.match(text or ""))


def validate_cpr(raw: str) -> None:
    """Django validator for forms and models."""
    parse_cpr(raw)
