"""Hospital orders (ordinationer): created after the checks, changed with history, stopped,
co-signed."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from medicinkort.checks import Candidate, Warning, warnings_for
from medicinkort.dosage import (
    TIMES_A_DAY,
    Dosage,
    Dose,
    Period,
    every_days_from_text,
    taper_from_text,
)
from medicinkort.dosage import quantity_from_text as dosage_quantity
from medicinkort.models import CheckOverride, Drug, Interaction, MedicationOrder
from organisation.models import Role
from patients.access import PatientAccess, access_change_record
from patients.models import CaveEntry

# Words of a Danish dosage text and the ward's usual times for them.
TIME_WORDS = {"morgen": "08:00", "middag": "12:00", "aften": "18:00", "nat": "22:00"}


class ChecksNeedReasons(Exception):
    """The checks found warnings that were not answered with a reason. `warnings` is every
    warning found (shown again, each with the reason already given), `unanswered` those that
    still want one."""

    def __init__(self, warnings: list[Warning], unanswered: list[Warning] | None = None):
        self.warnings = warnings
        self.unanswered = warnings if unanswered is None else unanswered
        super().__init__(", ".join(w.text for w in self.unanswered))


@dataclass
class OrderData:
    """What a prescriber orders."""

    drug: Drug | None
    drug_name: str
    atc_code: str
    dose_text: str
    strength: str = ""
    form_text: str = ""
    route_text: str = ""
    dose: Decimal | None = None
    dose_unit: str = ""
    schedule: str = MedicationOrder.Schedule.FIXED
    times: list[str] = field(default_factory=list)
    pn_max_per_day: int | None = None
    indication: str = ""
    starts_at: datetime | None = None
    fmk_identifier: str = ""
    substance: str = ""
    # The structured dosage (medicinkort.dosage): when given, it decides schedule, times and
    # the most a day, and the medication round's due doses come from it.
    dosage: Dosage | None = None

    @classmethod
    def from_drug(cls, drug: Drug, **values) -> "OrderData":
        return cls(
            drug=drug,
            drug_name=drug.name,
            atc_code=drug.atc_code,
            strength=drug.strength,
            form_text=drug.form_text,
            route_text=drug.route_text,
            dose_unit=drug.unit_plural,
            substance=drug.substance,
            **values,
        )


NUMBER_WORDS = {"en": 1, "én": 1, "een": 1, "to": 2, "tre": 3, "fire": 4, "fem": 5, "seks": 6}
_COUNT = r"(\d+|en|én|een|to|tre|fire|fem|seks)"
_DAILY = r"(?:dagl\w*|i døgnet|om dagen|pr\.? døgn|/døgn|/dag)"
# How many doses a day a Danish dosage text says: "3 gange dagligt", "tre gange daglig",
# "400 mg x 3", "1 tablet 3 x dagligt", "3x1", "x 2 dagl."
_PER_DAY = [
    re.compile(r"\b" + _COUNT + r"\s*gange?\b"),
    re.compile(r"\bx\s*(\d+)\b"),
    # "3x1" (three times one), not "2 x 500 mg" (two of 500 mg).
    re.compile(r"\b(\d+)\s*x\s*(?:\d+\b(?!\s*(?:mg|g|ml|µg|mikrog|ie)\b)|" + _DAILY + ")"),
]
# A rhythm that is not every day: the hospital's schedule of fixed times a day cannot hold it.
_NOT_DAILY = re.compile(
    r"ugentl|om ugen|pr\.? uge|/uge|hver (?:anden|tredje|\d+\.?) dag|månedl|om måneden"
)
_EVERY_HOURS = re.compile(r"hver\s*(\d+)\.?\s*(?:time|timer)\b")


def dosage_propose(
    text: str, *, start, times=None, every_days=None, quantity=None, end=None, pn_max=None,
    as_needed: bool | None = None, taper: str = "", unit_singular: str = "",
    unit_plural: str = "",
) -> Dosage:  # fmt: skip
    """The structure a clinician's entry makes: "1 tablet 3 gange dagligt" proposes 08-14-20
    (the times typed win), "hver anden dag" and "ugentligt" their rhythm (the rhythm chosen
    wins), "efter behov" as needed with `pn_max` a day, and a taper "3 dage: 2; 3 dage: 1" a
    period per step; `quantity` (else the one the text starts with) of `unit` at each time."""
    units = {"unit_singular": unit_singular, "unit_plural": unit_plural}
    lowered = text.lower()
    amount = quantity or dosage_quantity(text)
    if as_needed is None:
        as_needed = "efter behov" in lowered or bool(re.search(r"\bpn\b", lowered))
    if as_needed:
        period = Period(start=start, end=end, doses=(Dose(amount),))
        return Dosage(periods=(period,), as_needed=True, most_a_day=pn_max,
                      unit_singular=unit_singular, unit_plural=unit_plural)  # fmt: skip
    if not times:
        spoken = [t for word, t in TIME_WORDS.items() if re.search(rf"\b{word}", lowered)]
        try:
            times = spoken or times_from_text(re.sub(_NOT_DAILY, "", lowered))[1]
        except ValidationError:
            times = ["08:00"]
    if taper.strip():
        tapered = taper_from_text(taper, start, times, **units)
        if tapered is None:
            raise ValidationError({"taper": _(
                "Write the taper as “3 dage: 2; 3 dage: 1” (1 to 365 days a step, at most 10 "
                "steps)."
            )})  # fmt: skip
        return tapered
    rhythm = every_days or every_days_from_text(text)
    doses = tuple(Dose(amount, time) for time in times)
    period = Period(start=start, end=end, every_days=rhythm, doses=doses)
    return Dosage(periods=(period,), unit_singular=unit_singular, unit_plural=unit_plural)


def times_from_text(text: str) -> tuple[str, list[str]]:
    """(schedule, times) read from a Danish dosage text: "1 tablet morgen og aften" is fixed at
    08:00 and 18:00; "400 mg x 3", "3 gange dagligt" and "tre gange daglig" are three doses a
    day (08, 14, 20); "hver 6. time" every six hours from 06:00; "efter behov" is PN. A rhythm
    that is not daily ("ugentligt", "hver anden dag") is a ValidationError, never a daily order;
    a text that says none of these is fixed in the morning (one dose a day)."""
    lowered = text.lower()
    if "efter behov" in lowered or re.search(r"\bpn\b", lowered):
        return MedicationOrder.Schedule.PN, []
    if _NOT_DAILY.search(lowered):
        # Never a daily order of a weekly drug (methotrexate once a week given every day).
        raise ValidationError(
            _("“%(text)s” is not given every day: order it with its days and times by hand.")
            % {"text": text}
        )
    times = [time for word, time in TIME_WORDS.items() if re.search(rf"\b{word}", lowered)]
    if times:
        return MedicationOrder.Schedule.FIXED, times
    every = _EVERY_HOURS.search(lowered)
    if every and 0 < int(every.group(1)) <= 24 and 24 % int(every.group(1)) == 0:
        step = int(every.group(1))
        start = 6 if step <= 6 else 8
        hours = sorted((start + step * i) % 24 for i in range(24 // step))
        return MedicationOrder.Schedule.FIXED, [f"{h:02d}:00" for h in hours]
    for pattern in _PER_DAY:
        found = pattern.search(lowered)
        if found:
            count = NUMBER_WORDS.get(found.group(1)) or int(found.group(1))
            if count in TIMES_A_DAY:
                return MedicationOrder.Schedule.FIXED, TIMES_A_DAY[count]
    return MedicationOrder.Schedule.FIXED, ["08:00"]


def active_orders(patient, *, course=None, access: PatientAccess | None = None) -> list:
    """The patient's active and paused orders (of one course, and those `access` may see)."""
    orders = MedicationOrder.objects.filter(
        MedicationOrder.not_ended(),
        patient=patient,
        status__in=[MedicationOrder.Status.ACTIVE, MedicationOrder.Status.PAUSED],
    )
    if course is not None:
        orders = orders.filter(care_course=course)
    if access is not None:
        orders = access.unblocked(orders, care_course="care_course_id")
    return list(orders)


def others_for_checks(access: PatientAccess) -> list[Candidate]:
    """The patient's active orders as the checks see them. An order in blocked information still
    interacts, but the warning does not name it."""
    visible = {o.pk for o in active_orders(access.patient, access=access)}
    return [
        Candidate(o.drug_name, o.atc_code)
        if o.pk in visible
        else Candidate(_("a drug in blocked information"), o.atc_code)
        for o in active_orders(access.patient)
    ]


def drug_warnings(access: PatientAccess, drug, *, prefix: str = "", card_lines=()) -> list:
    """The checks of a drug as it is picked, before anything is confirmed: against the patient's
    CAVE, their active orders and `card_lines` (the FMK card's, when reconciling), keyed as
    confirming keys them (`<prefix>:<key>` for a reconciliation's row), so a reason given now
    answers the confirmation's check of the same warning."""
    from dataclasses import replace

    others = others_for_checks(access) + [
        Candidate(line.drug_name, line.atc_code, line.substance)
        for line in card_lines
        if line.status == "active"
    ]  # fmt: skip
    warnings = order_warnings(
        access.patient, OrderData.from_drug(drug, dose_text=""), others=others
    )
    return [replace(w, key=f"{prefix}:{w.key}") for w in warnings] if prefix else warnings


def order_warnings(
    patient, data: OrderData, *, others: list[Candidate], caves=None, pairs=None
) -> list[Warning]:
    """The checks for one drug against the patient's CAVE and `others` (their other drugs).
    A caller checking several drugs passes `caves` and `pairs`, read once."""
    candidate = Candidate(data.drug_name, data.atc_code, data.substance)
    if caves is None:
        caves = list(CaveEntry.objects.filter(patient=patient, status=CaveEntry.Status.ACTIVE))
    if pairs is None:
        pairs = list(Interaction.objects.all())
    return warnings_for(candidate, caves=caves, others=others, pairs=pairs)


def _period_of(data: OrderData) -> tuple[datetime, datetime | None]:
    """When the order starts (now, or the first day of its dosage when that is later) and ends
    (the end of its dosage's last day, when every period of it ends: a taper ends)."""
    from datetime import time, timedelta

    starts_at = data.starts_at or timezone.now()
    periods = data.dosage.periods if data.dosage else ()
    if not periods:
        return starts_at, None
    first = timezone.make_aware(datetime.combine(min(p.start for p in periods), time.min))
    if data.starts_at is None:
        # A daily order starts now (the day's earlier times are not meant); a rhythm or a
        # taper counts from its first day, so that day's doses are due (an early one overdue),
        # never silently skipped until the next turn.
        daily = len(periods) == 1 and periods[0].every_days == 1
        starts_at = max(starts_at, first) if daily or first > starts_at else first
    ends = [p.end for p in periods]
    if any(end is None for end in ends):
        return starts_at, None
    last = max(end for end in ends if end is not None) + timedelta(days=1)
    return starts_at, max(timezone.make_aware(datetime.combine(last, time.min)), starts_at)


def _validate(data: OrderData) -> None:
    if data.dosage is not None:
        structure = data.dosage
        data.schedule = (
            MedicationOrder.Schedule.PN if structure.as_needed else MedicationOrder.Schedule.FIXED
        )
        data.times = structure.periods[0].times() if structure.periods else []
        data.pn_max_per_day = structure.most_a_day if structure.as_needed else None
        problems = structure.problems()
        if problems:
            raise ValidationError(problems)
    errors = {}
    if not data.drug_name.strip():
        errors["drug"] = _("Choose a drug.")
    if not data.dose_text.strip():
        errors["dose_text"] = _("Write the dosage.")
    if data.schedule == MedicationOrder.Schedule.PN and not data.pn_max_per_day:
        errors["pn_max_per_day"] = _("An as-needed order needs a maximum a day.")
    if data.schedule == MedicationOrder.Schedule.FIXED:
        if not data.times:
            errors["times"] = _("A fixed order needs at least one time.")
        for time in data.times:
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", time):
                errors["times"] = _("Times are written HH:MM, e.g. 08:00.")
    if errors:
        raise ValidationError(errors)


def order_create(
    *,
    access: PatientAccess,
    data: OrderData,
    reasons: dict[str, str] | None = None,
    course=None,
    warnings: list[Warning] | None = None,
    record: bool = True,
) -> MedicationOrder:
    """Order a drug. Every warning of the checks needs a reason (ChecksNeedReasons otherwise);
    the overrides are stored with the order. A junior doctor's order waits for co-signing."""
    _validate(data)
    staff = access.staff
    if staff is None or staff.role != Role.LAEGE:
        raise ValidationError(_("A doctor orders medication."))
    reasons = {k: v.strip() for k, v in (reasons or {}).items() if v and v.strip()}
    if warnings is None:
        warnings = order_warnings(access.patient, data, others=others_for_checks(access))
    unanswered = [w for w in warnings if w.key not in reasons]
    if unanswered:
        raise ChecksNeedReasons(warnings, unanswered)
    department = staff.active_department or (course.department if course else None)
    if department is None:
        raise ValidationError(_("Choose an active department first."))
    starts_at, ends_at = _period_of(data)
    with transaction.atomic():
        order = MedicationOrder.objects.create(
            patient=access.patient,
            care_course=course,
            department=department,
            drug=data.drug,
            drug_name=data.drug_name[:300],
            atc_code=data.atc_code[:7],
            strength=data.strength[:100],
            form_text=data.form_text[:200],
            dose=data.dose,
            dose_unit=data.dose_unit,
            dose_text=data.dose_text,
            route_text=data.route_text[:100],
            schedule=data.schedule,
            times=data.times if data.schedule == MedicationOrder.Schedule.FIXED else [],
            pn_max_per_day=data.pn_max_per_day,
            dosage=data.dosage.to_json() if data.dosage else None,
            indication=data.indication[:300],
            starts_at=starts_at,
            ends_at=ends_at,
            prescriber=staff,
            cosign_required=staff.requires_cosign,
            fmk_identifier=data.fmk_identifier,
        )
        CheckOverride.objects.bulk_create(
            CheckOverride(
                order=order, kind=w.kind, warning=w.text, reason=reasons[w.key],
                overridden_by=staff,
            )
            for w in warnings
        )  # fmt: skip
        if record:
            access_change_record(
                access, data_kind=DataKind.MEDICATION, action=Action.CREATE, obj=order
            )
    return order


def order_stop(
    *, access: PatientAccess, order: MedicationOrder, reason: str, record: bool = True
) -> MedicationOrder:
    """Stop an order now, with the reason (kept in its history). A doctor stops orders."""
    if access.staff is None or access.staff.role != Role.LAEGE:
        raise ValidationError(_("A doctor stops an order."))
    with transaction.atomic():
        order = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if order.status in (MedicationOrder.Status.ACTIVE, MedicationOrder.Status.PAUSED):
            order.status = MedicationOrder.Status.STOPPED
            order.ends_at = max(timezone.now(), order.starts_at)
            order.change_reason = reason
            order.save(update_fields=["status", "ends_at", "change_reason", "updated_at"])
            if record:
                access_change_record(
                    access, data_kind=DataKind.MEDICATION, action=Action.UPDATE, obj=order
                )
    return order


def order_cosign(*, access: PatientAccess, order: MedicationOrder) -> MedicationOrder:
    """A senior doctor co-signs a junior doctor's order."""
    staff = access.staff
    if staff is None or staff.requires_cosign or staff.role != Role.LAEGE:
        raise ValidationError(_("Only a doctor who does not need co-signing may co-sign."))
    if staff.pk == order.prescriber_id:
        raise ValidationError(_("An order is co-signed by another doctor."))
    with transaction.atomic():
        order = MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if order.awaiting_cosign:
            order.cosigned_by = staff
            order.cosigned_at = timezone.now()
            order.save(update_fields=["cosigned_by", "cosigned_at", "updated_at"])
            access_change_record(
                access, data_kind=DataKind.MEDICATION, action=Action.UPDATE, obj=order
            )
    return order
