"""Free slots, computed from the weekly rules when asked.

A slot of an appointment type is a start time at which, for every kind of resource the type
needs, one resource of that kind has a rule that allows the type over the whole appointment, no
exception and no active allocation overlapping it, on a day that is not a Danish public holiday.
Slots are computed on the fly from three queries (the resources with their rules, their
exceptions, their allocations in the window), not stored ahead: a stored slot table would have
to be rewritten on every rule change and is one more thing that can disagree with the bookings.
`bench/booking.py` measures the search beside one indexed range query on the same tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Prefetch, Q, Value
from django.utils import timezone

from booking.models import (
    ACTIVE_STATUSES,
    Allocation,
    AppointmentType,
    Resource,
    ScheduleException,
    ScheduleRule,
)

MAX_DAYS = 16 * 7


@dataclass(frozen=True)
class Slot:
    """A free time for one appointment type, with the resources that would be booked."""

    appointment_type: AppointmentType
    starts_at: datetime
    ends_at: datetime
    resources: tuple[Resource, ...]


@lru_cache(maxsize=8)
def _holidays(year: int) -> dict:
    return dict(holidays.country_holidays("DK", years=year))


def is_holiday(day: date) -> bool:
    """A Danish public holiday (helligdag); Sundays are closed by the rules themselves."""
    return day in _holidays(day.year)


def _busy(resources, start, end) -> dict[int, list[tuple[datetime, datetime]]]:
    busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    ids = [r.pk for r in resources]
    window = (start, end)
    # The bookings' allocations and the absences in one round trip (UNION ALL).
    allocations = Allocation.objects.filter(
        resource_id__in=ids, active=True, period__overlap=window
    ).values_list("resource_id", "period")
    absences = ScheduleException.objects.filter(
        resource_id__in=ids, period__overlap=window
    ).values_list("resource_id", "period")
    for resource_id, period in allocations.union(absences, all=True):
        # An absence without an end (or a start) lasts beyond the window.
        busy[resource_id].append((period.lower or start, period.upper or end))
    return busy


def _free(busy, resource_id, start, end) -> bool:
    return all(
        not (b_start < end and start < b_end) for b_start, b_end in busy.get(resource_id, ())
    )


def _rule_types(resources) -> dict[int, set[int]]:
    """Which appointment types each rule allows: read with the rules (`type_ids`)."""
    return {
        rule.pk: set(rule.type_ids or ())
        for resource in resources
        for rule in resource.current_rules
    }


def _rule_open(rule, types_of, type_id, day, weekday) -> bool:
    """Whether a weekly rule applies to this appointment type on this day."""
    if weekday not in rule.weekdays or type_id not in types_of.get(rule.pk, ()):
        return False
    return rule.valid_from <= day and (rule.valid_until is None or day <= rule.valid_until)


def _opening(rule, day: date) -> tuple[datetime, datetime]:
    """When a rule opens and closes on a day, as instants in UTC. Slots are stepped from the
    opening in real time, so a night shift across a change to or from summer time has the
    hours it really has: no start in the hour that does not exist in March, two starts at
    02:00 and 02:30 (summer time, then winter time) in October, and none twice."""
    opens = timezone.make_aware(datetime.combine(day, rule.start_time))
    closes = timezone.make_aware(datetime.combine(day, rule.end_time))
    return opens.astimezone(UTC), closes.astimezone(UTC)


def _covering(rules, types_of, type_id, day, start, end) -> bool:
    """Whether one of a resource's rules allows the type over [start, end) on this day."""
    weekday = day.isoweekday()
    for rule in rules:
        if not _rule_open(rule, types_of, type_id, day, weekday):
            continue
        opens, closes = _opening(rule, day)
        if opens <= start and end <= closes:
            return True
    return False


def free_slots(
    *,
    appointment_types,
    start_date: date,
    end_date: date,
    time_from: time | None = None,
    time_until: time | None = None,
    patient=None,
    limit: int = 20,
    exact_start: datetime | None = None,
) -> list[Slot]:
    """The first `limit` free slots of these appointment types (one type, or the same type in
    several departments) between two dates, earliest first."""
    types = [t for t in appointment_types if t.is_active]
    if not types or end_date < start_date:
        return []
    end_date = min(end_date, start_date + timedelta(days=MAX_DAYS))
    type_ids = {t.pk for t in types}
    departments = {t.department_id for t in types}
    rules = ScheduleRule.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=start_date),
        valid_from__lte=end_date,
    ).annotate(type_ids=ArrayAgg("appointment_types", default=Value([])))
    resources = list(
        Resource.objects.filter(
            is_active=True,
            department_id__in=departments,
            rules__appointment_types__in=type_ids,
        )
        .distinct()
        .select_related("staff__user")
        .prefetch_related(Prefetch("rules", queryset=rules, to_attr="current_rules"))
        .order_by("name", "pk")
    )
    if not resources:
        return []
    types_of = _rule_types(resources)
    by_kind: dict[tuple[int, str], list[Resource]] = defaultdict(list)
    for resource in resources:
        by_kind[(resource.department_id, resource.kind)].append(resource)
    now = timezone.now()
    found: list[Slot] = []
    # The calendar is read in growing windows (1, 2, 4, 8 ... days): the first free times are
    # usually near, and a region-wide search must not read four weeks of 2,000 calendars.
    day, span = start_date, 1
    while day <= end_date and len(found) < limit:
        last = min(end_date, day + timedelta(days=span - 1))
        window_start = timezone.make_aware(datetime.combine(day, time.min))
        window_end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
        busy = _busy(resources, window_start, window_end)
        own: list[tuple[datetime, datetime]] = []
        if patient is not None:
            own = list(
                patient.bookings.filter(
                    status__in=ACTIVE_STATUSES, starts_at__lt=window_end, ends_at__gt=window_start
                ).values_list("starts_at", "ends_at")
            )
        while day <= last and len(found) < limit:
            if not is_holiday(day):
                today: list[Slot] = []
                for kind_type in types:
                    today.extend(
                        _slots_of_day(
                            kind_type,
                            day,
                            by_kind,
                            types_of,
                            busy,
                            own,
                            now,
                            time_from,
                            time_until,
                            exact_start,
                            limit - len(found),
                        )  # fmt: skip
                    )
                today.sort(key=lambda slot: (slot.starts_at, slot.resources[0].name))
                found.extend(today)
            day += timedelta(days=1)
        span *= 2
    return found[:limit]


def _slots_of_day(
    appointment_type,
    day,
    by_kind,
    types_of,
    busy,
    own,
    now,
    time_from,
    time_until,
    exact_start,
    limit,
) -> list[Slot]:
    kinds = appointment_type.resource_kinds or ["clinician"]
    duration = timedelta(minutes=appointment_type.duration_minutes)
    primary, others = kinds[0], kinds[1:]
    weekday = day.isoweekday()
    # First the candidate starts of the primary resources (cheap: rule arithmetic), in time
    # order; then the costlier checks, only until `limit` slots are found: a day with 20
    # scanners and 16 starts each looks at as few as it needs.
    candidates = []
    for resource in by_kind.get((appointment_type.department_id, primary), []):
        for rule in resource.current_rules:
            if not _rule_open(rule, types_of, appointment_type.pk, day, weekday):
                continue
            start, closes = _opening(rule, day)
            while start + duration <= closes:
                if exact_start is None or start == exact_start:
                    candidates.append((start, resource.name, resource))
                start += duration
    candidates.sort(key=lambda c: (c[0], c[1]))
    partners = {kind: by_kind.get((appointment_type.department_id, kind), []) for kind in others}
    # The partners already given to a slot at each start: the slots found at one start can be
    # booked all at once (20 scanners and one room offer one slot, not 20 wanting the room).
    paired: dict[datetime, set[int]] = defaultdict(set)
    slots: list[Slot] = []
    for start, _name, resource in candidates:
        if len(slots) >= limit:
            break
        end = start + duration
        if start <= now:
            continue
        if time_from is not None and timezone.localtime(start).time() < time_from:
            continue
        if time_until is not None and timezone.localtime(end).time() > time_until:
            continue
        if not _free(busy, resource.pk, start, end):
            continue
        if any(b < end and start < e for b, e in own):
            continue
        chosen = [resource]
        for kind in others:
            partner = next(
                (
                    r
                    for r in partners[kind]
                    if r not in chosen
                    and r.pk not in paired[start]
                    and _free(busy, r.pk, start, end)
                    and _covering(r.current_rules, types_of, appointment_type.pk, day, start, end)
                ),
                None,
            )
            if partner is None:
                break
            chosen.append(partner)
        else:
            paired[start].update(r.pk for r in chosen[1:])
            slots.append(Slot(appointment_type, start, end, tuple(chosen)))
    return slots
