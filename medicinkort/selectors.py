"""Reads of medicinkort: the card as last read from FMK, with its age and whether FMK answers.

Every function takes the `PatientAccess` the gate granted. The FMK card belongs to no course or
department (it is the national card), so a blocking does not cover it; FMK's own private marking
(privatmarkering) does, and private drug medications are never read in full without consent.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_date, parse_datetime

from common.prepared import builder, rows_for
from medicinkort.models import CardLine, CardRead, CardSnapshot
from patients.access import PatientAccess, without_blocked

STATUS_ORDER: dict[str, int] = {
    CardLine.Status.ACTIVE: 0,
    CardLine.Status.PAUSED: 1,
    CardLine.Status.WITHDRAWN: 2,
}


@dataclass
class CardState:
    """What the pages show of the FMK card."""

    snapshot: CardSnapshot | None
    lines: list[CardLine] = field(default_factory=list)
    last_read: CardRead | None = None
    orders: list = field(default_factory=list)  # active hospital orders, when asked for

    @property
    def pending(self) -> bool:
        """A read is on its way: the page refreshes itself when it is in."""
        return self.last_read is not None and self.last_read.status in (
            CardRead.Status.PENDING,
            CardRead.Status.READING,
        )

    @property
    def failed(self) -> CardRead | None:
        """The newest read, when it failed (FMK down or refusing): shown in words."""
        if self.last_read is not None and self.last_read.status in (
            CardRead.Status.UNREACHABLE,
            CardRead.Status.REFUSED,
        ):
            return self.last_read
        return None

    @property
    def unreachable(self) -> bool:
        failed = self.failed
        return failed is not None and failed.status == CardRead.Status.UNREACHABLE

    @property
    def fetched_at(self) -> datetime | None:
        return self.snapshot.fetched_at if self.snapshot else None

    @property
    def marker(self) -> str:
        """Changes when anything shown changes: the htmx poll's `since`."""
        read = self.last_read
        return _marker(self.snapshot.pk if self.snapshot else 0, read.pk if read else 0,
                       read.status if read else "")  # fmt: skip


# What the pages show of a snapshot and of its lines, fetched inside the read's one query.
SNAPSHOT_FIELDS = [
    "id", "public_id", "version", "previous_version", "fetched_at", "modified_by",
    "modified_at", "reviewed_by", "reviewed_at", "private_count", "dose_dispensed",
]  # fmt: skip
LINE_FIELDS = [
    "identifier", "version", "drug_name", "atc_code", "atc_text", "drug_id", "form_text",
    "strength_text", "route_text", "indication", "dosage_text", "start", "status", "created_by",
    "created_org_kind",
]  # fmt: skip


def _from_json(model, row: dict):
    """A model instance (for display only) from a JSON object PostgreSQL built."""
    values = {}
    for name, value in row.items():
        field = model._meta.get_field(name)
        if value is not None and field.get_internal_type() == "DateTimeField":
            value = parse_datetime(value)
        elif value is not None and field.get_internal_type() == "DateField":
            value = parse_date(value)
        values[name] = value
    return model(**values)


READ_FIELDS = ["id", "public_id", "status", "reason", "created_at", "occasion", "requested_by_id"]
ORDER_FIELDS = ["drug_name", "strength", "dose_text", "status", "schedule", "pn_max_per_day"]


@builder
def _card_query(
    with_withdrawn: bool,
    with_orders: bool,
    blocked_departments: tuple,
    blocked_courses: tuple,
    *,
    patient: int,
):
    """The one query of `card_state`, for `common.prepared` to compile once per shape."""
    from medicinkort.models import MedicationOrder
    from patients.models import Patient

    reads = CardRead.objects.filter(patient=OuterRef("pk")).order_by("-created_at")
    snapshots = CardSnapshot.objects.filter(patient=OuterRef("pk")).order_by("-fetched_at")
    newest = CardSnapshot.objects.filter(patient=OuterRef(OuterRef("pk"))).order_by("-fetched_at")
    lines = CardLine.objects.filter(snapshot=Subquery(newest.values("pk")[:1])).order_by(
        "drug_name"
    )
    if not with_withdrawn:
        lines = lines.exclude(status=CardLine.Status.WITHDRAWN)
    annotations = {
        "read_row": Subquery(reads.values(row=JSONObject(**{f: f for f in READ_FIELDS}))[:1]),
        "snapshot_row": Subquery(
            snapshots.values(row=JSONObject(**{f: f for f in SNAPSHOT_FIELDS}))[:1]
        ),
        "line_rows": ArraySubquery(lines.values(row=JSONObject(**{f: f for f in LINE_FIELDS}))),
    }
    if with_orders:
        orders = without_blocked(
            MedicationOrder.objects.filter(
                patient=OuterRef("pk"),
                status__in=[MedicationOrder.Status.ACTIVE, MedicationOrder.Status.PAUSED],
            ),
            department_ids=blocked_departments,
            course_ids=blocked_courses,
        ).order_by("drug_name")
        annotations["order_rows"] = ArraySubquery(
            orders.values(row=JSONObject(**{f: f for f in ORDER_FIELDS}))
        )
    return Patient.objects.filter(pk=patient).annotate(**annotations).values(*annotations)


def _json(value):
    """A JSON value as the database sent it (Django reads jsonb as text)."""
    return json.loads(value) if isinstance(value, str) else value


def card_state(
    access: PatientAccess, *, with_withdrawn: bool = False, with_orders: bool = False
) -> CardState:
    """The newest read, the newest snapshot and its lines (active first), and with `with_orders`
    the active hospital orders: one query, from the patient's row, however much there is.

    The query is compiled once per shape (`common.prepared`): building it cost 30 times as
    much as running it, on every overview and medication tab."""
    from medicinkort.models import MedicationOrder

    read_row, snapshot_row, line_rows, *order_rows = rows_for(
        _card_query,
        with_withdrawn,
        with_orders,
        *(access.blocked_ids if with_orders else ((), ())),
        patient=access.patient.pk,
    )[0]
    read = _from_json(CardRead, _json(read_row)) if read_row else None
    state = CardState(snapshot=None, last_read=read)
    if with_orders:
        state.orders = [_from_json(MedicationOrder, _json(o)) for o in order_rows[0]]
    if snapshot_row:
        state.snapshot = _from_json(CardSnapshot, _json(snapshot_row))
        state.lines = sorted(
            (_from_json(CardLine, _json(line)) for line in line_rows),
            key=lambda line: STATUS_ORDER.get(line.status, 9),
        )
    return state


def card_marker(access: PatientAccess) -> str:
    """The state's marker without loading the lines (the poll asks this first)."""
    snapshot_id = (
        CardSnapshot.objects.filter(patient=access.patient)
        .order_by("-fetched_at")
        .values_list("pk", flat=True)
        .first()
    )
    read = (
        CardRead.objects.filter(patient=access.patient)
        .order_by("-created_at")
        .values_list("pk", "status")
        .first()
    )
    return _marker(snapshot_id or 0, read[0] if read else 0, read[1] if read else "")


def _marker(snapshot_id: int, read_id: int, status: str) -> str:
    """A read waiting and a read under way look alike on the page (both say it is on its way):
    one marker, so the poll does not redraw when a worker takes the read."""
    if status in (CardRead.Status.PENDING, CardRead.Status.READING):
        status = "pending"
    return f"{snapshot_id}-{read_id}-{status}"


def orders_for_patient(access: PatientAccess, *, include_ended: bool = False) -> list:
    """The patient's hospital orders, active first (blocked departments hidden)."""
    from medicinkort.models import MedicationOrder

    orders = MedicationOrder.objects.filter(patient=access.patient).select_related(
        "prescriber__user", "cosigned_by__user"
    )
    if not include_ended:
        orders = orders.filter(
            MedicationOrder.not_ended(),
            status__in=[MedicationOrder.Status.ACTIVE, MedicationOrder.Status.PAUSED],
        )
    orders = access.unblocked(orders, care_course="care_course_id")
    return list(orders.order_by("status", "drug_name"))


def reconciliation_latest(access: PatientAccess):
    """The newest reconciliation with its lines and FMK writes, or None."""
    from medicinkort.models import Reconciliation

    return (
        access.unblocked(
            Reconciliation.objects.filter(patient=access.patient),
            department=None,
            care_course="care_course_id",
        )
        .select_related("confirmed_by__user")
        .prefetch_related("lines", "writes")
        .order_by("-confirmed_at")
        .first()
    )


@dataclass
class Queue:
    """The patient's changes for FMK that have not reached it yet, in the order they go, and
    the card as it will be after them (what a second reconciliation builds on)."""

    writes: list = field(default_factory=list)  # FmkWrite rows not on the card, `drug` named
    position: int = 0  # the place of the patient's last write: the reconciliation posts it
    by_line: dict = field(default_factory=dict)  # FMK identifier: the last write queued for it
    order_ids: set = field(default_factory=set)  # hospital orders on their way to FMK

    def withdrawn(self, identifier: str) -> bool:
        write = self.by_line.get(identifier)
        return write is not None and write.operation == "withdraw"


def not_on_card(patient_id: int, snapshot: CardSnapshot | None):
    """The patient's writes the card as last read does not show yet: still queued, or sent
    after that read (the read after a write may not be in). A reconciliation page shows the card
    as these will make it, and builds on the last of them."""
    from django.db.models import Q

    from medicinkort.models import FmkWrite

    on_their_way = Q(status__in=[FmkWrite.Status.PENDING, FmkWrite.Status.SENDING])
    if snapshot is not None:
        on_their_way |= Q(status=FmkWrite.Status.SENT, finished_at__gt=snapshot.fetched_at)
    return FmkWrite.objects.filter(on_their_way, patient_id=patient_id)


def queue_position(patient_id: int) -> int:
    """The place of the patient's last FMK write (0 for none): a reconciliation posts the one it
    was drawn with, so a second confirmation of the same page (or one drawn before other writes
    were queued) is refused instead of written twice."""
    from django.db.models import Max

    from medicinkort.models import FmkWrite

    last = FmkWrite.objects.filter(patient_id=patient_id).aggregate(m=Max("sequence"))["m"]
    return last or 0


def fmk_queue(access: PatientAccess, snapshot=None, lines=()) -> Queue:
    """Every write of the patient that the card as read (`snapshot`) does not show yet: still
    on its way to FMK, or sent after that read (of every reconciliation, blocked courses' left
    out), each with the drug it concerns; `lines` (the card's) name the drugs of withdrawals
    and pauses."""
    names = {line.identifier: line.drug_name for line in lines}
    writes = list(
        access.unblocked(
            not_on_card(access.patient.pk, snapshot),
            department=None,
            care_course="reconciliation__care_course_id",
        )  # fmt: skip
        .select_related("reconciliation")
        .order_by("sequence")
    )
    queue = Queue(writes=writes, position=queue_position(access.patient.pk))
    for write in writes:
        data = write.payload.get("data") or {}
        identifier = write.payload.get("identifier", "")
        write.drug = data.get("drug_name") or names.get(identifier, identifier)
        write.dosage = data.get("dosage_text", "")
        if identifier:
            queue.by_line[identifier] = write
        if write.payload.get("order_id"):
            queue.order_ids.add(write.payload["order_id"])
    return queue


def drugs_matching(text: str, *, limit: int = 15) -> list:
    """The type-ahead of the drug pickers: active drugs of the catalogue matching every word
    typed (in the name, the active substance, the strength, or the start of the ATC code),
    names starting with the first word first; nothing for fewer than two characters."""
    from django.db.models import Case, IntegerField, Q, Value, When

    from medicinkort.models import Drug

    words = text.split()[:6]
    if len(text.strip()) < 2 or not words:
        return []
    drugs = Drug.objects.filter(is_active=True)
    for word in words:
        drugs = drugs.filter(
            Q(name__icontains=word) | Q(substance__icontains=word)
            | Q(strength__icontains=word) | Q(atc_code__istartswith=word)
        )  # fmt: skip
    first = Case(When(name__istartswith=words[0], then=Value(0)), default=Value(1),
                 output_field=IntegerField())  # fmt: skip
    return list(drugs.order_by(first, "name", "strength", "form_text")[:limit])


def drug_active(public_ids):
    """The active drug of the catalogue with the first of these public ids, or None."""
    from medicinkort.models import Drug

    return Drug.objects.filter(public_id__in=public_ids[:1], is_active=True).first()


def drug_label(public_id) -> str:
    """What a picker shows for the drug it holds ("" for none or an unknown id)."""
    import uuid

    from medicinkort.models import Drug

    try:
        public_id = uuid.UUID(str(public_id))
    except ValueError:  # posted wrong: the form says so, the picker shows nothing chosen
        return ""
    drug = Drug.objects.filter(public_id=public_id).values("name", "strength", "form_text").first()
    return " ".join(str(v) for v in drug.values() if v) if drug else ""


def card_difference(older, newer) -> list[dict]:
    """What changed between two snapshots: lines added, removed, or with another dosage."""
    before = {line.identifier: line for line in older.lines.all()} if older else {}
    after = {line.identifier: line for line in newer.lines.all()}
    changes = []
    for identifier, line in after.items():
        old = before.get(identifier)
        if old is None:
            changes.append({"kind": "added", "line": line, "before": ""})
        elif (old.dosage_text, old.status) != (line.dosage_text, line.status):
            changes.append({"kind": "changed", "line": line, "before": old.dosage_text})
    for identifier, line in before.items():
        if identifier not in after:
            changes.append({"kind": "removed", "line": line, "before": line.dosage_text})
    return changes


# What the medication round shows: the doses due around now, today's, or one patient's stay
# (from its start, at most STAY_DAYS back, to the end of tomorrow).
MAR_WINDOWS = ("now", "day", "stay")
# The stay view goes back at most this many days (a long stay's first weeks are in the history).
STAY_DAYS = 14
# A dose may be recorded at most this many hours before it is due.
RECORD_AHEAD_HOURS = 2


def _mar_span(window: str, now, orders) -> tuple:
    """The (first, last) due time of the window."""
    from datetime import timedelta

    from django.utils import timezone

    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    just_before = timedelta(microseconds=1)  # a day ends before the next one's 00:00
    if window == "day":
        return midnight, midnight + timedelta(days=1) - just_before
    if window == "stay":
        earliest = min((o.starts_at for o in orders), default=midnight)
        # Up to tomorrow's end: the doses planned next, as a nurse plans the shifts.
        start = max(earliest, midnight - timedelta(days=STAY_DAYS - 1))
        return start, midnight + timedelta(days=2) - just_before
    return now - timedelta(hours=4), now + timedelta(hours=2)


def administrations_due(*, department_id: int, user, now=None, window="now", patients=()):
    """The ward's doses of the window (`MAR_WINDOWS`: around now, today, or the stay of the
    `patients` asked for), each active fixed-time order's times with what was recorded; overdue
    when 30 minutes late and not recorded. And the as-needed orders, each with how many doses
    are left today (`left_today`). Only patients the user may open (care relation)."""
    from datetime import timedelta

    from django.db.models import Count, Q
    from django.utils import timezone

    from medicinkort.models import Administration, MedicationOrder
    from patients.models import Patient

    now = now or timezone.now()
    # Active orders; for the day and the stay also those stopped within it (their doses given
    # or not before they stopped are part of the record).
    stopped_since = None if window == "now" else now - timedelta(days=STAY_DAYS)
    shown = Q(status=MedicationOrder.Status.ACTIVE)
    if stopped_since is not None:
        shown |= Q(status=MedicationOrder.Status.STOPPED, ends_at__gte=stopped_since)
    active = MedicationOrder.objects.filter(
        shown, department_id=department_id,
        patient__in=Patient.objects.visible_to(user, at=now),
    ).select_related("patient")  # fmt: skip
    if patients:
        active = active.filter(patient__public_id__in=patients)
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    given_today = Count("administrations", filter=Q(administrations__given_at__gte=midnight)
                        & ~Q(administrations__status=Administration.Status.NOT_GIVEN))  # fmt: skip
    orders: list[Any] = list(active.annotate(given_today=given_today))
    first, last = _mar_span(window, now, orders)
    recorded = {
        (a.order_id, a.due_at): a
        for a in Administration.objects.filter(
            order__in=[o.pk for o in orders], due_at__gte=first, due_at__lte=last
        ).select_related("given_by__user")
    }
    due: list[dict[str, Any]] = []
    as_needed = []
    for order in orders:
        if order.schedule == MedicationOrder.Schedule.PN:
            if order.status != MedicationOrder.Status.ACTIVE:
                continue
            order.left_today = max((order.pn_max_per_day or 0) - order.given_today, 0)
            as_needed.append(order)
            continue
        # Its structured dosage (every day, every other day, weekly, a taper) gives the doses.
        for at, quantity in order.dosage_structure().due(first, last):
            if at < order.starts_at or (order.ends_at and at > order.ends_at):
                continue
            done = recorded.get((order.pk, at))
            due.append({
                "order": order, "patient": order.patient, "due_at": at, "recorded": done,
                "quantity": quantity, "overdue": done is None and at < now - timedelta(minutes=30),
                # Recorded only when due (two hours ahead at most) and while the order is on.
                "recordable": at <= now + timedelta(hours=RECORD_AHEAD_HOURS)
                and order.status == MedicationOrder.Status.ACTIVE,
            })  # fmt: skip
    due.sort(key=lambda row: (row["due_at"], row["patient"].family_name))
    return due, as_needed


def patient_open_course(access: PatientAccess):
    """The patient's open course in the viewer's active department, else any open one the viewer
    may see; None when there is none."""
    from patients.models import CareCourse

    courses = access.unblocked(
        CareCourse.objects.filter(patient=access.patient, ended_at__isnull=True),
        care_course="pk",
    ).order_by("-started_at")
    department_id = access.staff.active_department_id if access.staff else None
    return courses.filter(department_id=department_id).first() or courses.first()


def fmk_not_updated_markers(courses, department_id) -> dict[int, list[tuple[str, str, str]]]:
    """Work list markers: courses whose discharge reconciliation has not yet reached FMK (nor a
    reason why not) say "FMK ikke ajourført"."""
    from django.utils.translation import gettext as _

    from medicinkort.models import Reconciliation

    waiting = Reconciliation.objects.filter(
        care_course_id__in=[c.pk for c in courses],
        kind=Reconciliation.Kind.DISCHARGE,
        status__in=[
            Reconciliation.Status.SENDING,
            Reconciliation.Status.CONFLICT,
            Reconciliation.Status.FAILED,
        ],
    ).values_list("care_course_id", flat=True)
    return {
        course_id: [(_("FMK not updated"), "fmk-not-updated", "text-bg-danger")]
        for course_id in waiting
    }


def medication_text(access: PatientAccess) -> str:
    """`.med`: the current medication (hospital orders, the FMK card with its age) and the
    changes of the newest reconciliation, for a note or the epikrise."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    lines = [_("Current medication:")]
    for order in orders_for_patient(access):
        lines.append(f"- {order.drug_name} {order.strength}: {order.dose_text}".rstrip())
    if len(lines) == 1:
        lines.append(_("- no hospital orders"))
    state = card_state(access)
    if state.snapshot is not None:
        # Named by when FMK made the card (as the pages do), never by its 19-digit version.
        fetched = timezone.localtime(state.snapshot.fetched_at)
        made = timezone.localtime(state.snapshot.modified_at or state.snapshot.fetched_at)
        lines.append(
            _("FMK card of %(made)s, read %(when)s:")
            % {"made": made.strftime("%d.%m.%Y %H:%M"), "when": fetched.strftime("%d.%m.%Y %H:%M")}
        )
        for line in state.lines:
            dosage = " ".join(line.dosage_text.split())
            lines.append(f"- {line.drug_name} {line.strength_text}: {dosage}")
    reconciliation = reconciliation_latest(access)
    if reconciliation is not None:
        changes = [line for line in reconciliation.lines.all() if line.decision != "continue"]
        if changes:
            lines.append(
                _("Changes at %(kind)s %(when)s:")
                % {
                    "kind": reconciliation.get_kind_display().lower(),
                    "when": timezone.localtime(reconciliation.confirmed_at).strftime("%d.%m.%Y"),
                }
            )
            for change in changes:
                what = f"- {change.get_decision_display()}: {change.drug_name}"
                if change.after and change.decision in ("change", "new"):
                    what += f" ({change.after})"
                if change.reason:
                    what += f" – {change.reason}"
                lines.append(what)
    return "\n".join(lines)


def timeline_medication(access: PatientAccess, *, before, limit, departments):
    """Timeline items: orders started and reconciliations confirmed, in one query (a union)."""
    from django.db.models import CharField, IntegerField, Value
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from medicinkort.models import MedicationOrder, Reconciliation

    url = reverse("medicinkort:medication", kwargs={"patient_id": access.patient.public_id})
    orders = access.unblocked(
        MedicationOrder.objects.filter(patient=access.patient, starts_at__lt=before),
        care_course="care_course_id",
    )
    if departments:
        orders = orders.filter(department_id__in=departments)
    reconciliations = access.unblocked(
        Reconciliation.objects.filter(patient=access.patient, confirmed_at__lt=before),
        department=None,
        care_course="care_course_id",
    )
    text: CharField = CharField()
    rows = (
        orders.values_list(
            "starts_at", "drug_name", "strength", "dose_text", "status", "department_id",
            "care_course_id", Value("order", output_field=text),
        )
        .union(
            reconciliations.values_list(
                "confirmed_at", "kind", Value("", output_field=text), Value("", output_field=text),
                "status", Value(None, output_field=IntegerField()), "care_course_id",
                Value("reconciliation", output_field=text),
            )
        )
        .order_by("-starts_at")[:limit]
    )  # fmt: skip
    kinds = dict(Reconciliation.Kind.choices)
    order_status = dict(MedicationOrder.Status.choices)
    items = []
    for at, name, strength, dosage, status, department_id, course_id, source in rows:
        if source == "order":
            title = f"{name} {strength}".strip()
            detail = f"{dosage} · {order_status.get(status, status)}"
        else:
            title = _("Medication reconciliation: %(kind)s") % {"kind": kinds.get(name, name)}
            detail = dict(Reconciliation.Status.choices).get(status, status)
        items.append({
            "at": at, "kind": "medication", "title": title, "detail": detail, "status": status,
            "department_id": department_id, "department": "", "care_course_id": course_id,
            "url": url,
        })  # fmt: skip
    return items
