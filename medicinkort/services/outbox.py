"""The changes for FMK: a kind of durable work of the outbox, sent in order, each with its
request id.

A row is written in the transaction of the change it comes from (a reconciliation) and handed
to a worker after commit. The engine claims a patient's first open row only (`in_order_of`
patient, by `sequence`), committed before FMK is called. Sending one row:
1. fix the card version it is based on (the result of the row before, or the newest snapshot),
   kept for every retry;
2. call FMK with the row's message id (outside any transaction);
3. store the answer and the access event of the change, only while the claim is still ours.
A worker killed between 2 and 3 leaves the row claimed; the sweeper takes it back after
`SUNDHED_FMK_SWEEP_AFTER` and it is sent again with the same message id and version, FMK
recognises it and answers as before, so nothing is written twice. FMK down: the row waits again
after a pause (the engine's backoff, never given up) and rows behind it wait too, so a patient's
changes reach FMK in the order they were made. The card changed on FMK: the row and the rest of
its reconciliation become `conflict`, the card is read again, and the doctor is asked again.
"""

import logging
from datetime import date

from django.db import transaction
from django.utils import timezone

from audit.models import Action, DataKind
from medicinkort.fmk import client
from medicinkort.fmk.requests import DrugMedicationData
from medicinkort.fmk.transport import FmkFault, FmkUnavailable
from medicinkort.models import CardRead, CardSnapshot, FmkWrite, MedicationOrder, Reconciliation
from medicinkort.selectors import not_on_card, queue_position
from medicinkort.services.completion import reconciliation_fmk_updated
from medicinkort.services.reads import READ_KIND, identity_for
from outbox import engine
from outbox.kinds import Kind, Retry, get, register
from patients.access import (
    AccessRefused,
    access_change_record,
    access_decide,
    access_patient_as_system,
)
from patients.models import Patient

log = logging.getLogger(__name__)
OPEN = [FmkWrite.Status.PENDING, FmkWrite.Status.SENDING]
# A row that fails for a reason other than FMK (a bug) this many times is given up, with why.
MAX_ATTEMPTS = 10


def next_sequence(patient) -> int:
    """The next place in the patient's queue (taken under the row lock of the caller)."""
    return queue_position(patient.pk) + 1


def current_version(patient_id: int) -> str:
    """The card version FMK has now, as far as we know: the newest of the last write's answer
    and the last snapshot."""
    write = (
        FmkWrite.objects.filter(patient_id=patient_id, status=FmkWrite.Status.SENT)
        .order_by("-finished_at")
        .values_list("result_version", "finished_at")
        .first()
    )
    snapshot = (
        CardSnapshot.objects.filter(patient_id=patient_id)
        .order_by("-fetched_at")
        .values_list("version", "fetched_at")
        .first()
    )
    candidates = [(at, version) for version, at in (write or ("", None), snapshot or ("", None))
                  if at is not None]  # fmt: skip
    return max(candidates)[1] if candidates else "0"


def _basis(row: FmkWrite) -> str:
    """The card version a row is based on: the answer to the row before it in its
    reconciliation, else the version the doctor reconciled on (so a reconciliation confirmed
    twice, or over a card changed since, is refused by FMK as a conflict, never written twice);
    a row of no reconciliation takes what FMK has now as far as we know."""
    if row.reconciliation_id is None:
        return current_version(row.patient_id)
    before = (
        FmkWrite.objects.filter(
            reconciliation_id=row.reconciliation_id,
            sequence__lt=row.sequence,
            status=FmkWrite.Status.SENT,
        )
        .order_by("-sequence")
        .values_list("result_version", flat=True)
        .first()
    )
    if before:
        return before
    card_version, builds_on = Reconciliation.objects.values_list("card_version", "builds_on").get(
        pk=row.reconciliation_id
    )
    if builds_on:
        # Confirmed on top of the patient's writes still queued then: FMK's card is the one
        # those writes made (never a conflict with Sundhed's own queue). Had that write not
        # reached FMK, the card the doctor saw is the basis, and FMK decides.
        queued = (
            FmkWrite.objects.filter(
                patient_id=row.patient_id, sequence=builds_on, status=FmkWrite.Status.SENT
            )
            .values_list("result_version", flat=True)
            .first()
        )
        if queued:
            return queued
    return card_version


def builds_on(patient_id: int, snapshot: CardSnapshot) -> int | None:
    """The write a reconciliation on this snapshot builds on: the last that the card as read
    does not show yet (`not_on_card`), or None."""
    return (
        not_on_card(patient_id, snapshot)
        .order_by("-sequence")
        .values_list("sequence", flat=True)
        .first()
    )


def _data(values: dict) -> DrugMedicationData:
    values = dict(values)
    values["start"] = date.fromisoformat(values["start"]) if values.get("start") else date.today()
    values["end"] = date.fromisoformat(values["end"]) if values.get("end") else None
    return DrugMedicationData(**values)


def _send(row: FmkWrite, patient: Patient) -> tuple[str, str]:
    """Call FMK for one row; returns (new card version, drug medication identifier)."""
    access = access_decide(user=row.requested_by, patient=patient, data_kind=DataKind.FMK_CARD)
    identity = identity_for(access.staff)
    payload, version = row.payload, row.based_on_version
    message_id = str(row.message_id)
    data = _data(payload.get("data") or {"drug_name": ""})
    identifier = payload.get("identifier", "")
    cpr = patient.cpr
    if row.operation == FmkWrite.Operation.CREATE:
        new_version, done = client.drug_medication_create(
            cpr, version, identity, data, message_id=message_id
        )
        return new_version, done[0][0] if done else ""
    reason = payload.get("reason", "")  # the clinician's, for a change, pause or withdrawal
    if row.operation == FmkWrite.Operation.UPDATE:
        new_version, _ = client.drug_medication_update(
            cpr, version, identity, identifier, data, message_id=message_id, reason=reason
        )
        return new_version, identifier
    if row.operation == FmkWrite.Operation.REVIEWED:
        return client.medicine_card_reviewed(
            cpr, version, identity, at=row.created_at, message_id=message_id
        ), ""
    if row.operation == FmkWrite.Operation.UNPAUSE:
        new_version, _ = client.drug_medications_unpause(
            cpr, version, identity, [identifier], message_id=message_id
        )
        return new_version, identifier
    operation = {
        FmkWrite.Operation.PAUSE: client.drug_medications_pause,
        FmkWrite.Operation.WITHDRAW: client.drug_medications_withdraw,
    }[FmkWrite.Operation(row.operation)]
    new_version, _ = operation(
        cpr, version, identity, [identifier], message_id=message_id, reason=reason
    )
    return new_version, identifier


def _after_reconciliation_rows(row: FmkWrite):
    if row.reconciliation_id is None:
        return FmkWrite.objects.none()
    return FmkWrite.objects.filter(
        reconciliation_id=row.reconciliation_id, status__in=OPEN, sequence__gt=row.sequence
    )


def _sent(row: FmkWrite, patient: Patient, new_version: str, identifier: str) -> None:
    with transaction.atomic():
        done = engine.finish(
            _kind(), row, FmkWrite.Status.SENT, reason="", result_version=new_version,
            result_identifier=identifier,
        )  # fmt: skip
        if not done:
            return  # another worker re-claimed it and records the same answer
        if row.operation == FmkWrite.Operation.CREATE and row.payload.get("order_id"):
            # The order now continues the drug medication it was put on FMK as.
            MedicationOrder.objects.filter(pk=row.payload["order_id"], fmk_identifier="").update(
                fmk_identifier=identifier
            )
        action = Action.CREATE if row.operation == FmkWrite.Operation.CREATE else Action.UPDATE
        try:
            access = access_decide(
                user=row.requested_by, patient=patient, data_kind=DataKind.FMK_CARD
            )
        except AccessRefused:  # the relation ended meanwhile; FMK has the change all the same
            access_patient_as_system(
                patient=patient, data_kind=DataKind.FMK_CARD, action=action,
                system=f"FMK outbox ({row.requested_by})", object_type="medicinkort.fmkwrite",
                object_id=str(row.public_id),
            )  # fmt: skip
        else:
            access_change_record(access, data_kind=DataKind.FMK_CARD, action=action, obj=row)
        if (
            row.reconciliation_id
            and not FmkWrite.objects.filter(
                reconciliation_id=row.reconciliation_id, status__in=OPEN
            ).exists()
        ):
            reconciliation_fmk_updated(reconciliation_id=row.reconciliation_id)


def _stopped(row: FmkWrite, status: str, problem: str) -> None:
    """The row (and the rest of its reconciliation) cannot be sent as it is."""
    with transaction.atomic():
        if not engine.finish(_kind(), row, status, reason=problem[:2000]):
            return
        _after_reconciliation_rows(row).update(
            status=status,
            reason="Ikke sendt: en tidligere ændring blev ikke modtaget.",
            finished_at=timezone.now(),
        )
        if row.reconciliation_id:
            Reconciliation.objects.filter(pk=row.reconciliation_id).update(
                status=(
                    Reconciliation.Status.CONFLICT
                    if status == FmkWrite.Status.CONFLICT
                    else Reconciliation.Status.FAILED
                ),
                problem=problem[:2000],
            )
        if status == FmkWrite.Status.CONFLICT:
            read = CardRead.objects.create(
                patient_id=row.patient_id, requested_by=row.requested_by,
                occasion=CardRead.Occasion.AFTER_WRITE,
            )  # fmt: skip
            engine.dispatch_on_commit(READ_KIND, read.pk)


def _send_one(row: FmkWrite) -> None:
    """Send one claimed row and end it: sent, stopped (a conflict, a refusal), or waiting again
    (FMK down, or a bug: tried again, and given up after MAX_ATTEMPTS)."""
    kind = _kind()
    patient = row.patient
    if not row.based_on_version:
        row.based_on_version = _basis(row)
        engine.mine(kind, row).update(based_on_version=row.based_on_version)
    if not engine.hand(kind, row):
        return
    try:
        new_version, identifier = _send(row, patient)
    except FmkUnavailable as error:
        engine.retry(kind, row, reason=str(error)[:2000], give_up=False)
        return
    except FmkFault as fault:
        status = FmkWrite.Status.CONFLICT if fault.version_conflict else FmkWrite.Status.FAILED
        _stopped(row, status, fault.text or str(fault))
        return
    except AccessRefused as refused:
        _stopped(row, FmkWrite.Status.FAILED, f"Adgang nægtet: {refused}")
        return
    except Exception as error:  # a bug, not FMK: tried again, then given up with why
        log.exception("FMK write %s failed", row.pk)
        if row.attempts >= MAX_ATTEMPTS:
            _stopped(row, FmkWrite.Status.FAILED, f"Fejl i Sundhed: {error}")
        else:
            engine.retry(kind, row, reason=repr(error)[:2000], give_up=False)
        return
    try:
        _sent(row, patient, new_version, identifier)
    except Exception:
        # FMK has the change; storing its answer failed. The row stays claimed: the sweeper
        # takes it back, it is sent again with the same message id, FMK replays the answer,
        # and it is stored then.
        log.exception("FMK write %s done but not stored; the sweeper sends it again", row.pk)


def fmk_writes_perform(rows: list[FmkWrite]) -> None:
    """The kind's step: each claimed row (a patient's first open one) sent and ended."""
    for row in rows:
        _send_one(row)


KIND = "medicinkort.fmkwrite"


def _kind() -> Kind:
    return get(KIND)


def register_fmk_writes() -> None:
    """The changes for FMK are a kind of the outbox (from MedicinkortConfig.ready)."""
    from django.conf import settings
    from django.utils.translation import gettext_lazy

    register(
        Kind(
            name=KIND,
            model=FmkWrite,
            perform=fmk_writes_perform,
            label=gettext_lazy("Changes for FMK"),
            waiting=FmkWrite.Status.PENDING,
            working=FmkWrite.Status.SENDING,
            failed=FmkWrite.Status.FAILED,
            stale_after_setting="SUNDHED_FMK_SWEEP_AFTER",
            stale_handed="again",
            retry=Retry(attempts=MAX_ATTEMPTS, first=settings.SUNDHED_FMK_WRITE_RETRY_SECONDS),
            breaker="fmk",
            in_order_of="patient_id",
            order_field="sequence",
            related=("patient",),
        )  # fmt: skip
    )
