"""A small outpatient clinic in cardiology: a doctor and a room, 08:00–12:00 on weekdays, a
20-minute control that needs both."""

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from booking.models import AppointmentType, Resource, ResourceKind, ScheduleRule
from booking.slots import is_holiday


def next_working_day(after: date | None = None) -> date:
    """The first weekday after `after` (today) that is not a Danish public holiday."""
    day = (after or date.today()) + timedelta(days=1)
    while day.isoweekday() > 5 or is_holiday(day):
        day += timedelta(days=1)
    return day


@dataclass
class Clinic:
    control: AppointmentType
    doctor: Resource
    room: Resource
    rule_doctor: ScheduleRule
    rule_room: ScheduleRule
    day: date


@pytest.fixture
def clinic(cast):
    control = AppointmentType.objects.create(
        department=cast.cardiology, code="kontrol", name="Kontrol efter atrieflimren",
        duration_minutes=20, resource_kinds=[ResourceKind.CLINICIAN, ResourceKind.ROOM],
        preparation="Medbring din medicinliste.",
    )  # fmt: skip
    doctor = Resource.objects.create(
        department=cast.cardiology, kind=ResourceKind.CLINICIAN, name="Tove Hjertelæge",
        staff=cast.treating_doctor.staff,
    )  # fmt: skip
    room = Resource.objects.create(
        department=cast.cardiology, kind=ResourceKind.ROOM, name="Ambulatorium, rum 1"
    )
    rules = []
    for resource in (doctor, room):
        rule = ScheduleRule.objects.create(
            resource=resource, weekdays=[1, 2, 3, 4, 5], start_time=time(8),
            end_time=time(12), valid_from=date.today() - timedelta(days=7),
        )  # fmt: skip
        rule.appointment_types.add(control)
        rules.append(rule)
    return Clinic(control, doctor, room, rules[0], rules[1], next_working_day())


MESSAGE_KINDS = ("booking.reminder", "booking.offermessage")


def send_messages() -> dict:
    """Work every due message of booking's kinds as the outbox's worker does; how the rows it
    claimed ended: sent, failed, skipped, or back waiting to be retried after a pause."""
    from outbox import engine, kinds

    outcome = {"sent": 0, "failed": 0, "skipped": 0, "retried": 0}
    for name in MESSAGE_KINDS:
        model = kinds.get(name).model
        due = set(
            model.objects.filter(status="pending", due_at__lte=timezone.now()).values_list(
                "pk", flat=True
            )
        )
        engine.work(name)
        for status in model.objects.filter(pk__in=due).values_list("status", flat=True):
            outcome["retried" if status == "pending" else status] += 1
    return outcome


def sweep_messages(now=None) -> dict:
    """The outbox's sweep of booking's kinds, counts added up (dispatching left out)."""
    from outbox import engine, kinds

    counts: dict = {}
    for name in MESSAGE_KINDS:
        for key, n in engine.sweep(kinds.get(name), now=now).items():
            if key != "dispatched":
                counts[key] = counts.get(key, 0) + n
    return counts
