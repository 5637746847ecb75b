"""The outbox of changes for FMK: durable rows sent in order, each with its request id.

A row is written in the transaction of the change it comes from (a reconciliation) and sent
after commit by `medicinkort.send_fmk_writes`. Sending one row:
1. in a short transaction, fix the card version it is based on (the result of the row before,
   or the newest snapshot) and mark it `sending` - committed before FMK is called;
2. call FMK with the row's message id (outside any transaction);
3. store the answer and the access event of the change.
A worker killed between 2 and 3 leaves the row `sending`; the sweeper sends it again with the
same message id and version, FMK recognises it and answers as before, so nothing is written
twice. FMK down: the row waits (`pending`) and the task retries; rows behind it wait too, so a
patient's changes reach FMK in the order they were made. The card changed on FMK: the row and
the rest of its reconciliation become `conflict`, the card is read again, and the doctor is
asked again.
"""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from audit.models import Action, DataKind
from medicinkort.fmk import client
from medicinkort.fmk.requests import DrugMedicationData
from medicinkort.fmk.transport import FmkFault, FmkUnavailable
from medicinkort.models import CardRead, CardSnapshot, FmkWrite, MedicationOrder, Reconciliation
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
    last = FmkWrite.objects.filter(patient=patient).aggregate(m=Max("sequence"))["m"]
    return (last or 0) + 1


def current_version(patient_id: int) -> str:
    """The card version FMK has now, as far as we know: the newest of the last write's answer
    and the last snapshot."""
    write = (
        FmkWrite.objects.filter(patient_id=patient_id, status=FmkWrite.Status.SENT)
        .order_by("-sent_at")
        .values_list("result_version", "sent_at")
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
    return Reconciliation.objects.values_list("card_version", flat=True).get(
        pk=row.reconciliation_id
    )


def _claim(patient_id: int) -> FmkWrite | None:
    """The patient's first open row, marked sending with its version fixed; or None when there
    is none, or it is being sent by another worker right now."""
    stale = timezone.now() - timedelta(seconds=settings.SUNDHED_FMK_SWEEP_AFTER)
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk").first()
        row = (
            FmkWrite.objects.filter(patient_id=patient_id, status__in=OPEN)
            .order_by("sequence")
            .first()
        )
        if row is None:
            return None
        if (
            row.status == FmkWrite.Status.SENDING
            and row.sending_since
            and row.sending_since > stale
        ):
            return None  # another worker is on it
        if not row.based_on_version:
            row.based_on_version = _basis(row)
        row.status = FmkWrite.Status.SENDING
        row.sending_since = timezone.now()
        row.attempts += 1
        row.save(
            update_fields=["based_on_version", "status", "sending_since", "attempts", "updated_at"]
        )
        return row


def _data(values: dict) -> DrugMedicationData:
    values = dict(values)
    values["start"] = date.fromisoformat(values["start"]) if values.get("start") else date.today()
    values["end"] = date.fromisoformat(values["end"]) if values.get("end") else None
    return DrugMedicationData(**values)


def _send(row: FmkWrite, patient: Patient) -> tuple[str, str]:
    """Call FMK for one row; returns (new card version, drug medication identifier)."""
    from medicinkort.services.reads import identity_for

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
    if row.operation == FmkWrite.Operation.UPDATE:
        new_version, _ = client.drug_medication_update(
            cpr, version, identity, identifier, data, message_id=message_id
        )
        return new_version, identifier
    if row.operation == FmkWrite.Operation.REVIEWED:
        return client.medicine_card_reviewed(
            cpr, version, identity, at=row.created_at, message_id=message_id
        ), ""
    operation = {
        FmkWrite.Operation.PAUSE: client.drug_medications_pause,
        FmkWrite.Operation.UNPAUSE: client.drug_medications_unpause,
        FmkWrite.Operation.WITHDRAW: client.drug_medications_withdraw,
    }[FmkWrite.Operation(row.operation)]
    new_version, _ = operation(cpr, version, identity, [identifier], message_id=message_id)
    return new_version, identifier


def _after_reconciliation_rows(row: FmkWrite):
    if row.reconciliation_id is None:
        return FmkWrite.objects.none()
    return FmkWrite.objects.filter(
        reconciliation_id=row.reconciliation_id, status__in=OPEN, sequence__gt=row.sequence
    )


def _mine(row: FmkWrite):
    """The row as long as it is still this worker's claim (not re-claimed after a long send)."""
    return FmkWrite.objects.filter(
        pk=row.pk, status=FmkWrite.Status.SENDING, sending_since=row.sending_since
    )


def _sent(row: FmkWrite, patient: Patient, new_version: str, identifier: str) -> None:
    with transaction.atomic():
        done = _mine(row).update(
            status=FmkWrite.Status.SENT,
            sent_at=timezone.now(),
            result_version=new_version,
            result_identifier=identifier,
            last_error="",
            updated_at=timezone.now(),
        )
        if not done:
            return  # another worker re-claimed it and records the same answer
        row.refresh_from_db()
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
            from medicinkort.services.reconciliation import reconciliation_fmk_updated

            reconciliation_fmk_updated(reconciliation_id=row.reconciliation_id)


def _stopped(row: FmkWrite, status: str, problem: str) -> None:
    """The row (and the rest of its reconciliation) cannot be sent as it is."""
    with transaction.atomic():
        if not _mine(row).update(status=status, last_error=problem[:2000],
                                 updated_at=timezone.now()):  # fmt: skip
            return
        _after_reconciliation_rows(row).update(
            status=status, last_error="Ikke sendt: en tidligere ændring blev ikke modtaget."
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
                reason=CardRead.Reason.AFTER_WRITE,
            )  # fmt: skip
            from medicinkort.services.reads import _enqueue

            transaction.on_commit(lambda: _enqueue(read.pk))


def fmk_writes_send(*, patient_id: int) -> str:
    """Send the patient's open rows in order until none is left, FMK is down, or one is refused.

    Returns "done", "unavailable" (retry later), "busy" (another worker sends) or "stopped".
    """
    patient = Patient.objects.get(pk=patient_id)
    while True:
        row = _claim(patient_id)
        if row is None:
            open_rows = FmkWrite.objects.filter(patient_id=patient_id, status__in=OPEN)
            return "busy" if open_rows.exists() else "done"
        try:
            new_version, identifier = _send(row, patient)
        except FmkUnavailable as error:
            _mine(row).update(
                status=FmkWrite.Status.PENDING, last_error=str(error)[:2000], sending_since=None,
                updated_at=timezone.now(),
            )  # fmt: skip
            return "unavailable"
        except FmkFault as fault:
            status = FmkWrite.Status.CONFLICT if fault.version_conflict else FmkWrite.Status.FAILED
            _stopped(row, status, fault.text or str(fault))
            return "stopped"
        except AccessRefused as refused:
            _stopped(row, FmkWrite.Status.FAILED, f"Adgang nægtet: {refused}")
            return "stopped"
        except Exception as error:  # a bug, not FMK: tried again by the sweeper, then given up
            if row.attempts >= MAX_ATTEMPTS:
                _stopped(row, FmkWrite.Status.FAILED, f"Fejl i Sundhed: {error}")
                return "stopped"
            _mine(row).update(
                status=FmkWrite.Status.PENDING, last_error=repr(error)[:2000], sending_since=None,
                updated_at=timezone.now(),
            )  # fmt: skip
            raise
        try:
            _sent(row, patient, new_version, identifier)
        except Exception:
            # FMK has the change; storing its answer failed. The row stays `sending`: the
            # sweeper sends it again with the same message id, FMK replays the answer, and it
            # is stored then.
            log.exception("FMK write %s done but not stored; the sweeper sends it again", row.pk)
            raise


def fmk_writes_sweep() -> int:
    """Send again for every patient with a row left waiting, or left `sending` by a worker that
    died. Returns how many patients were sent to a worker."""
    from medicinkort.services.reads import _enqueue_writes

    stale = timezone.now() - timedelta(seconds=settings.SUNDHED_FMK_SWEEP_AFTER)
    patient_ids = set(
        FmkWrite.objects.filter(
            Q(status=FmkWrite.Status.PENDING, updated_at__lt=stale)
            | Q(status=FmkWrite.Status.SENDING, sending_since__lt=stale)
        ).values_list("patient_id", flat=True)[:500]
    )
    for patient_id in patient_ids:
        _enqueue_writes(patient_id)
    return len(patient_ids)
