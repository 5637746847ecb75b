"""Template filters for result tables."""

import re
from decimal import Decimal

from django import template
from django.utils.formats import get_format

from labresults.selectors import is_abnormal

register = template.Library()


@register.filter
def abnormal(result) -> bool:
    """Whether a result is outside its reference interval (or critical)."""
    return is_abnormal(result)


_NUMBER = re.compile(r"(?:[<>]=?|[≤≥])?\s*[-+]?\d*\.?\d+")
_RANGE = re.compile(r"[-+]?\d*\.?\d+\s*[-–]\s*[-+]?\d*\.?\d+")


@register.filter
def number(value) -> str:
    """A measured number the way the reader's language writes it (38,6 in Danish). A value as
    the laboratory sent it keeps its decimals ("7.600" stays three); a stored number (the trend)
    drops trailing zeros. Text that is not one number or a range of numbers ("Positiv", "se
    kommentar", "5.2 mmol/L") is shown as it is."""
    if value is None or value == "":
        return ""
    separator = get_format("DECIMAL_SEPARATOR")
    if isinstance(value, (Decimal, float, int)):
        text = format(Decimal(str(value)).normalize(), "f")
    else:
        text = str(value).strip()
        if not (_NUMBER.fullmatch(text) or _RANGE.fullmatch(text)):
            return text
    return text.replace(".", separator)
