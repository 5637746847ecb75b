"""Every write of medicinkort: reads of the FMK card asked for, run, and stored.

A web request never waits on FMK: it asks for a read (a `CardRead` row, sent to a worker when
the transaction commits) and shows the newest snapshot at once. The worker reads the card as
the clinician who asked, through the gate again, and stores a snapshot. A read that reached FMK
is a disclosure of the card and writes its one access event.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from audit.models import Action, DataKind
from medicinkort.fmk import client
from medicinkort.fmk.reader import Card
from medicinkort.fmk.requests import Identity
from medicinkort.fmk.transport import FmkFault, FmkUnavailable
from medicinkort.models import CardLine, CardRead, CardSnapshot
from organisation.models import Role, StaffMember
from outbox import engine
from outbox.kinds import Kind, register
from outbox.kinds import get as engine_kind
from patients.access import AccessRefused, PatientAccess, access_decide, access_record
from patients.models import CareCourse

log = logging.getLogger(__name__)
READ_KIND = "medicinkort.cardread"

# DGWS user roles (the Danish authorisation register's profession codes) FMK knows.
DGWS_ROLES: dict[str, str] = {Role.LAEGE: "7170", Role.SYGEPLEJERSKE: "5166"}


class NoFmkIdentity(Exception):
    """The staff member cannot be sent to FMK: no authorisation id or no FMK role."""


def identity_for(staff: StaffMember) -> Identity:
    """The identity card's content for this staff member in their active department."""
    role = DGWS_ROLES.get(staff.role)
    if not staff.authorisation_id or not role:
        raise NoFmkIdentity(
            "FMK kræver en autoriseret sundhedsperson (læge eller sygeplejerske med "
            "autorisations-id)."
        )
    department = staff.active_department or staff.departments.select_related("hospital").first()
    if department is None:
        raise NoFmkIdentity("FMK kræver en afdeling: vælg en aktiv afdeling.")
    return Identity(
        authorisation_id=staff.authorisation_id,
        name=staff.user.get_full_name() or staff.user.username,
        role=role,
        organisation=f"{department.hospital.name}, {department.name}"[:200],
        sor_code=department.sor_code,
    )


def card_read_request(*, access: PatientAccess, occasion: str) -> CardRead:
    """Ask for a read of the card as this clinician; one pending read per patient is enough."""
    pending = (
        CardRead.objects.filter(
            patient=access.patient,
            status__in=[CardRead.Status.PENDING, CardRead.Status.READING],
            created_at__gte=timezone.now() - timedelta(seconds=settings.SUNDHED_FMK_SWEEP_AFTER),
        )
        .order_by("-created_at")
        .first()
    )
    if pending is not None:
        return pending
    read = CardRead.objects.create(
        patient=access.patient, requested_by=access.user, occasion=occasion
    )
    engine.dispatch_on_commit(READ_KIND, read.pk)
    return read


def card_read_on_admission(course) -> CardRead | None:
    """An admission opened: read the card as the responsible clinician (or as the system)."""
    if not settings.SUNDHED_FMK_READ_ON_ADMISSION or course.kind != "admission":
        return None
    requested_by = course.responsible.user if course.responsible_id else None
    read = CardRead.objects.create(
        patient_id=course.patient_id,
        requested_by=requested_by,
        occasion=CardRead.Occasion.ADMISSION,
    )
    engine.dispatch(engine_kind(READ_KIND), [read.pk])
    return read


def cards_refresh_admitted(*, now=None) -> int:
    """Every admitted patient's card is read again when its last good read is older than
    `SUNDHED_FMK_ADMITTED_REFRESH` seconds, or there is none (an admission made before FMK
    could be reached, or filed without its hook): as the responsible clinician, unless a read
    already waits. Returns how many reads were asked for (beat, `medicinkort.refresh_cards`)."""
    now = now or timezone.now()
    fresh = now - timedelta(seconds=settings.SUNDHED_FMK_ADMITTED_REFRESH)
    reads = CardRead.objects.filter(patient_id=OuterRef("patient_id"))
    waiting = reads.filter(status__in=[CardRead.Status.PENDING, CardRead.Status.READING])
    recent = reads.filter(status=CardRead.Status.DONE, finished_at__gte=fresh)
    admissions = (
        CareCourse.objects.filter(kind=CareCourse.Kind.ADMISSION, ended_at__isnull=True)
        .exclude(Exists(waiting))
        .exclude(Exists(recent))
        .select_related("responsible")
        .order_by("patient_id", "started_at")
    )
    wanted: dict[int, CardRead] = {}
    for course in admissions:
        wanted.setdefault(course.patient_id, CardRead(
            patient_id=course.patient_id, occasion=CardRead.Occasion.SCHEDULE,
            requested_by_id=course.responsible.user_id if course.responsible_id else None,
        ))  # fmt: skip
    made = CardRead.objects.bulk_create(wanted.values())
    if made:
        engine.dispatch_on_commit(READ_KIND, [read.pk for read in made])
    return len(made)


def card_reads_again(breaker: str, *, now=None) -> int:
    """FMK answers again (its breaker closed after failures): each patient whose newest read
    could not reach FMK, within the last `SUNDHED_FMK_ADMITTED_REFRESH` seconds, is read again
    as the clinician who asked, unless a read already waits. Returns how many were asked for."""
    if breaker != "fmk":
        return 0
    now = now or timezone.now()
    newer = CardRead.objects.filter(
        patient_id=OuterRef("patient_id"), created_at__gt=OuterRef("created_at")
    )
    failed = (
        CardRead.objects.filter(
            status=CardRead.Status.UNREACHABLE,
            created_at__gte=now - timedelta(seconds=settings.SUNDHED_FMK_ADMITTED_REFRESH),
        )
        .exclude(Exists(newer))
        .values_list("patient_id", "requested_by_id")
    )
    made = CardRead.objects.bulk_create(
        CardRead(patient_id=patient_id, requested_by_id=user_id, occasion=CardRead.Occasion.RETRY)
        for patient_id, user_id in failed
    )
    if made:
        engine.dispatch(engine_kind(READ_KIND), [read.pk for read in made])
    return len(made)


def _snapshot_store(patient, card: Card, raw: str) -> CardSnapshot:
    snapshot = CardSnapshot.objects.create(
        patient=patient,
        version=card.version,
        previous_version=card.previous_version,
        fetched_at=timezone.now(),
        modified_by=str(card.modified)[:300],
        modified_at=card.modified.at,
        reviewed_by=str(card.reviewed)[:300] if card.reviewed else "",
        reviewed_at=card.reviewed.at if card.reviewed else None,
        private_count=len(card.private_identifiers),
        dose_dispensed=card.dose_dispensed,
        raw=raw,
    )
    CardLine.objects.bulk_create(
        CardLine(
            snapshot=snapshot,
            identifier=line.identifier,
            version=line.version,
            drug_name=line.drug_name[:300] or "?",
            atc_code=line.atc_code[:10],
            atc_text=line.atc_text[:200],
            drug_id=line.drug_id[:20],
            form_code=line.form_code[:20],
            form_text=line.form_text[:200],
            route_code=line.route_code[:10],
            strength_text=line.strength_text[:100],
            substance=line.substance[:300],
            route_text=line.route_text[:200],
            indication=line.indication[:500],
            dosage_text=line.dosage_text,
            dosage=line.dosage,
            start=line.start,
            end=line.end,
            status=line.status,
            created_by=str(line.created)[:300],
            created_org_kind=line.created.organisation_kind[:50],
            created_org_id=line.created.organisation_id[:50],
            modified_by=str(line.modified)[:300],
            modified_at=line.modified.at,
            unknown=line.unknown,
            raw=line.raw,
        )
        for line in card.lines
    )
    return snapshot


def card_read_run(*, read_id: int) -> CardRead | None:
    """Run one read now in this process (a test): claimed through the engine, as a worker
    does; None when it is finished already or another worker has it."""
    if not engine.work(READ_KIND, [read_id]):
        return None
    return CardRead.objects.get(pk=read_id)


def card_reads_perform(reads: list[CardRead]) -> None:
    """The kind's step: each claimed read is run."""
    for read in reads:
        try:
            _read_one(read)
        except LostClaim:
            log.warning("FMK read %s taken over by another worker; its answer is dropped", read.pk)


def _read_one(read: CardRead) -> CardRead:
    """Call FMK as the clinician who asked (outside any transaction) and store the snapshot with
    its access event; a refusal or an FMK that cannot be reached ends the read with why."""
    engine.hand(engine_kind(READ_KIND), read)
    try:
        if read.requested_by is None:
            raise NoFmkIdentity("Ingen kliniker at læse FMK som.")
        # The read is the clinician's: through the gate again, as they are now.
        access = access_decide(
            user=read.requested_by, patient=read.patient, data_kind=DataKind.FMK_CARD
        )
        if access.staff is None:
            raise NoFmkIdentity("Kun hospitalets personale kan læse FMK.")
        card, raw = client.medicine_card_get(read.patient.cpr, identity_for(access.staff))
    except AccessRefused as refused:
        return _finish(read, CardRead.Status.REFUSED, f"Adgang nægtet: {refused}")
    except NoFmkIdentity as error:
        return _finish(read, CardRead.Status.REFUSED, str(error))
    except FmkFault as fault:
        return _finish(read, CardRead.Status.REFUSED, fault.text or str(fault))
    except FmkUnavailable as error:
        return _finish(read, CardRead.Status.UNREACHABLE, str(error))
    except ValueError as error:  # an answer the reader could not make a card of
        return _finish(read, CardRead.Status.REFUSED, f"FMK's svar kunne ikke læses: {error}")
    with transaction.atomic():
        read.snapshot = _snapshot_store(read.patient, card, raw)
        access.disclose(read.snapshot)
        access_record(access, action=Action.VIEW, path="fmk:GetMedicineCard")
        return _finish(read, CardRead.Status.DONE, "")


def _finish(read: CardRead, status: str, error: str) -> CardRead:
    """End the read, if it is still this worker's (not re-claimed after a very long call); the
    caller inside a transaction rolls back its snapshot with it when it is not."""
    if (
        not engine.finish(
            engine_kind(READ_KIND), read, status, reason=error[:2000], snapshot=read.snapshot
        )
        and read.snapshot is not None
    ):
        raise LostClaim(f"the read {read.pk} was taken over by another worker")
    return read


class LostClaim(Exception):
    """The claim went to another worker meanwhile (a very long call): nothing is stored."""


def register_card_reads() -> None:
    """Reads of the FMK card are a kind of the outbox (from MedicinkortConfig.ready)."""
    from django.utils.translation import gettext_lazy

    register(
        Kind(
            name=READ_KIND,
            model=CardRead,
            perform=card_reads_perform,
            label=gettext_lazy("Reads of FMK cards"),
            waiting=CardRead.Status.PENDING,
            working=CardRead.Status.READING,
            failed=CardRead.Status.REFUSED,
            stale_after_setting="SUNDHED_FMK_SWEEP_AFTER",
            stale_handed="again",
            related=("patient", "requested_by"),
        )  # fmt: skip
    )
