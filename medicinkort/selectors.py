"""Reads of medicinkort: the card as last read from FMK, with its age and whether FMK answers.

Every function takes the `PatientAccess` the gate granted. The FMK card belongs to no course or
department (it is the national card), so a blocking does not cover it; FMK's own private marking
(privatmarkering) does, and private drug medications are never read in full without consent.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef, Subquery
from django.db.models.functions import JSONObject
from django.utils.dateparse import parse_date, parse_datetime

from medicinkort.models import CardLine, CardRead, CardSnapshot
from patients.access import PatientAccess

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

    @property
    def pending(self) -> bool:
        """A read is on its way: the page refreshes itself when it is in."""
        return self.last_read is not None and self.last_read.status == CardRead.Status.PENDING

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
        return f"{self.snapshot.pk if self.snapshot else 0}-{read.pk if read else 0}-" + (
            read.status if read else ""
        )


# What the pages show of a snapshot and of its lines, fetched inside the read's one query.
SNAPSHOT_FIELDS = [
    "id", "public_id", "version", "previous_version", "fetched_at", "modified_by",
    "modified_at", "reviewed_by", "reviewed_at", "private_count",
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


def card_state(access: PatientAccess, *, with_withdrawn: bool = False) -> CardState:
    """The newest read, the newest snapshot and its lines (active first), in one query.

    Every snapshot comes from a read, so a patient without reads has no snapshot either.
    """
    snapshots = CardSnapshot.objects.filter(patient=OuterRef("patient")).order_by("-fetched_at")
    newest = CardSnapshot.objects.filter(patient=OuterRef(OuterRef("patient"))).order_by(
        "-fetched_at"
    )
    lines = CardLine.objects.filter(snapshot=Subquery(newest.values("pk")[:1])).order_by(
        "drug_name"
    )
    if not with_withdrawn:
        lines = lines.exclude(status=CardLine.Status.WITHDRAWN)
    read = (
        CardRead.objects.filter(patient=access.patient)
        .order_by("-created_at")
        .annotate(
            snapshot_row=Subquery(
                snapshots.values(row=JSONObject(**{f: f for f in SNAPSHOT_FIELDS}))[:1]
            ),
            line_rows=ArraySubquery(lines.values(row=JSONObject(**{f: f for f in LINE_FIELDS}))),
        )
        .first()
    )
    if read is None or read.snapshot_row is None:
        return CardState(snapshot=None, last_read=read)
    shown = sorted(
        (_from_json(CardLine, row) for row in read.line_rows),
        key=lambda line: STATUS_ORDER.get(line.status, 9),
    )
    snapshot = _from_json(CardSnapshot, read.snapshot_row)
    return CardState(snapshot=snapshot, lines=shown, last_read=read)


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
    return f"{snapshot_id or 0}-{read[0] if read else 0}-" + (read[1] if read else "")
