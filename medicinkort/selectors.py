"""Reads of medicinkort: the card as last read from FMK, with its age and whether FMK answers.

Every function takes the `PatientAccess` the gate granted. The FMK card belongs to no course or
department (it is the national card), so a blocking does not cover it; FMK's own private marking
(privatmarkering) does, and private drug medications are never read in full without consent.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from medicinkort.models import CardLine, CardRead, CardSnapshot
from patients.access import PatientAccess

STATUS_ORDER = {CardLine.Status.ACTIVE: 0, CardLine.Status.PAUSED: 1, CardLine.Status.WITHDRAWN: 2}


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


def card_state(access: PatientAccess, *, with_withdrawn: bool = False) -> CardState:
    """The newest snapshot with its lines (active first), and the newest read. Three queries."""
    lines = CardLine.objects.order_by("drug_name")
    if not with_withdrawn:
        lines = lines.exclude(status=CardLine.Status.WITHDRAWN)
    snapshot = (
        CardSnapshot.objects.filter(patient=access.patient)
        .order_by("-fetched_at")
        .prefetch_related(Prefetch("lines", queryset=lines))
        .first()
    )
    last_read = CardRead.objects.filter(patient=access.patient).order_by("-created_at").first()
    shown = (
        sorted(snapshot.lines.all(), key=lambda line: STATUS_ORDER.get(line.status, 9))
        if snapshot
        else []
    )
    return CardState(snapshot=snapshot, lines=shown, last_read=last_read)


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
