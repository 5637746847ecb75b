"""Reading query parameters: a value that cannot be read is a 400 that names the parameter.

Views read their query parameters through these (POST bodies go through forms); `BadParameter`
reaches the project's middleware (`sundhed.middleware.BadParameterMiddleware`), which answers
400 with the reason, in the user's language. Nothing is shown and nothing is logged as a disclosure.
"""

import uuid
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _


class BadParameter(ValueError):
    """A query parameter that cannot be read."""

    def __init__(self, name: str, value: str, expected: str):
        self.name, self.value, self.expected = name, value, expected
        super().__init__(
            _("The parameter %(name)s must be %(expected)s; %(value)s cannot be read.")
            % {"name": name, "expected": expected, "value": repr(value[:60])}
        )


def query_datetime(request, name: str) -> datetime | None:
    """An ISO 8601 moment (as the pages write them), or None when absent or empty; from the
    query."""
    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, raw, _("a date and time (ISO 8601)")) from None
    if not 1900 <= value.year <= 2200:  # beyond, date arithmetic would overflow
        raise BadParameter(name, raw, _("a date and time (ISO 8601)"))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def query_date(request, name: str):
    """A date (YYYY-MM-DD, as a date input sends it), or None when absent or empty."""
    from datetime import date

    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, raw, _("a date (YYYY-MM-DD)")) from None
    if not 1900 <= value.year <= 2200:  # beyond, date arithmetic would overflow
        raise BadParameter(name, raw, _("a date (YYYY-MM-DD)"))
    return value


def query_time(request, name: str):
    """A time of day (HH:MM), or None when absent or empty."""
    from datetime import time

    raw = request.GET.get(name, "")
    if not raw:
        return None
    try:
        return time.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, raw, _("a time of day (HH:MM)")) from None


def query_int(request, name: str, default: int, *, low: int, high: int) -> int:
    """A whole number between `low` and `high`, or the default when absent or empty."""
    raw = request.GET.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(
            name, raw, _("a whole number from %(low)s to %(high)s") % {"low": low, "high": high}
        )
    return int(raw)


def query_choice(request, name: str, choices, default: str = "") -> str:
    """One of `choices`, or the default when absent or empty."""
    raw = request.GET.get(name, "")
    if not raw:
        return default
    if raw not in choices:
        raise BadParameter(name, raw, _("one of %(choices)s") % {"choices": ", ".join(choices)})
    return raw


def query_choice_list(request, name: str, choices) -> list[str]:
    """Repeated values, each one of `choices`."""
    values = request.GET.getlist(name)
    for raw in values:
        if raw not in choices:
            raise BadParameter(name, raw, _("one of %(choices)s") % {"choices": ", ".join(choices)})
    return values


def query_int_list(request, name: str) -> list[int]:
    """Repeated whole numbers (ids)."""
    values = []
    for raw in request.GET.getlist(name):
        if not raw.isdigit() or len(raw) > 18:
            raise BadParameter(name, raw, _("a whole number"))
        values.append(int(raw))
    return values


def query_flag(request, name: str) -> bool:
    """A switch: 1 (on) or 0 (off); absent is off."""
    return query_choice(request, name, ("0", "1"), "0") == "1"


def query_uuid_list(request, name: str) -> list[uuid.UUID]:
    """Repeated public ids (UUIDs) of the query."""
    values = []
    for raw in request.GET.getlist(name):
        try:
            values.append(uuid.UUID(raw))
        except ValueError:
            raise BadParameter(name, raw, _("an id (UUID)")) from None
    return values


def query_text(request, name: str, *, max_length: int) -> str:
    """Text typed into a search field, stripped; longer than `max_length` or holding control
    characters is a 400."""
    raw = request.GET.get(name, "")
    if len(raw) > max_length or any(ord(c) < 32 and c not in "\t" for c in raw):
        raise BadParameter(name, raw, _("text of at most %(n)s characters") % {"n": max_length})
    return raw.strip()
