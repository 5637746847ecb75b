"""Medication reconciliation (medicinafstemning) at admission and at discharge.

The doctor sees FMK's lines (the newest snapshot) and the hospital's orders side by side and
decides per line: continue, pause, withdraw, change, or a new drug; then confirms once. The
hospital orders change in that one transaction; the changes for FMK become outbox rows in the
same transaction (sent after commit, in order, each with its request id and the card version).
An admission reconciliation ends with the card marked reviewed on FMK. A discharge is complete
when every change reached FMK (ajourført) or the doctor recorded why FMK was not updated.
"""

import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from medicinkort.checks import Candidate
from medicinkort.dosage import Dosage
from medicinkort.fmk.requests import DrugMedicationData
from medicinkort.models import (
    CardLine,
    CardSnapshot,
    Drug,
    FmkWrite,
    Interaction,
    MedicationOrder,
    Reconciliation,
    ReconciliationLine,
)
from medicinkort.selectors import queue_position
from medicinkort.services.completion import complete as _complete
from medicinkort.services.completion import reconciliation_fmk_updated
from medicinkort.services.orders import (
    ChecksNeedReasons,
    OrderData,
    active_orders,
    order_create,
    order_stop,
    order_warnings,
    others_for_checks,
    times_from_text,
)
from medicinkort.services.outbox import KIND as WRITE_KIND
from medicinkort.services.outbox import builds_on, next_sequence
from outbox import engine
from patients.access import PatientAccess, access_change_record
from patients.models import CaveEntry, Patient

D = ReconciliationLine.Decision


class QueueChanged(ValidationError):
    """Other changes for FMK were queued since the page was drawn (a second post of the same
    page, another doctor): the doctor must see them before confirming anything."""


class CardChanged(Exception):
    """The card changed since the page was drawn: the doctor must see the new one."""

    def __init__(self, snapshot: CardSnapshot | None, shown_version: str):
        super().__init__(f"card {shown_version} is now {snapshot.version if snapshot else '?'}")
        self.snapshot, self.shown_version = snapshot, shown_version


@dataclass
class Decision:
    """One line of the reconciliation form."""

    decision: str
    fmk_identifier: str = ""  # a line of the FMK card
    order: MedicationOrder | None = None  # a hospital order (discharge)
    dose_text: str = ""  # the new dosage (change, new)
    reason: str = ""
    new: OrderData | None = None  # a new drug
    key: str = ""  # the form's name for this line, for the reasons of its warnings


@dataclass
class _Plan:
    lines: list[ReconciliationLine] = field(default_factory=list)
    orders: list[tuple[OrderData, list, str]] = field(default_factory=list)
    # Lines continued whose dosage is not daily: the clinician orders them by hand.
    by_hand: list[str] = field(default_factory=list)
    # New drugs that go to FMK with no hospital order (at discharge): checked all the same.
    checked: list[tuple[OrderData, list, str]] = field(default_factory=list)
    # (operation, payload, the line it comes from): a new drug's order learns its FMK id.
    writes: list[tuple[str, dict, ReconciliationLine | None]] = field(default_factory=list)


def _line_data(line: CardLine, dosage: str | None = None) -> DrugMedicationData:
    return DrugMedicationData(
        drug_name=line.drug_name,
        atc_code=line.atc_code,
        atc_text=line.atc_text,
        drug_id=line.drug_id,
        form_code=line.form_code,
        form_text=line.form_text,
        strength_text=line.strength_text,
        route_code=line.route_code,
        route_text=line.route_text,
        indication=line.indication,
        dosage_text=dosage if dosage is not None else line.dosage_text,
        start=line.start or date.today(),
    )


def _order_data_payload(data: OrderData) -> dict:
    drug = data.drug
    fmk = DrugMedicationData(
        drug_name=data.drug_name,
        atc_code=data.atc_code,
        atc_text=drug.substance if drug else data.substance,
        drug_id=drug.drug_id if drug else "",
        form_code=drug.form_code if drug else "",
        form_text=data.form_text,
        strength_text=data.strength,
        route_code=drug.route_code if drug else "",
        route_text=data.route_text,
        indication=data.indication,
        dosage_text=data.dose_text,
        start=date.today(),
        # An order's structured dosage goes to FMK as FMK's structures: the dose text on FMK
        # and the ward's schedule are then the same structure's.
        structure=data.dosage.to_json() if data.dosage else None,
    )
    return _payload(fmk)


def _payload(data: DrugMedicationData, identifier: str = "") -> dict:
    values = asdict(data)
    values["start"] = data.start.isoformat()
    values["end"] = data.end.isoformat() if data.end else None
    payload: dict = {"data": values}
    if identifier:
        payload["identifier"] = identifier
    return payload


def _order_from_line(plan, line: CardLine, dosage: str, drugs: dict, record, key: str) -> None:
    """The hospital order that continues a card line, unless its dosage is not daily: such a
    drug is ordered by hand (`plan.by_hand`), never made a daily order."""
    try:
        plan.orders.append((_from_line(line, dosage, drugs), [record], key))
    except ValidationError:
        plan.by_hand.append(f"{line.drug_name} ({dosage})")


def _from_line(line: CardLine, dosage: str, drugs: dict) -> OrderData:
    """An order continuing an FMK line; `drugs` is the catalogue by (ATC, strength). FMK's own
    structure, where the line has one and its dosage is kept, is the order's (its rhythm, times
    and doses: "2 tabletter 3 gange daglig" is three doses of 2); else the text is read."""
    drug = drugs.get((line.atc_code, line.strength_text))
    structure = Dosage.from_json(line.dosage) if dosage == line.dosage_text else None
    if structure is not None:
        return OrderData(
            drug=drug, drug_name=line.drug_name, atc_code=line.atc_code,
            strength=line.strength_text, form_text=line.form_text, route_text=line.route_text,
            dose_text=dosage, indication=line.indication, fmk_identifier=line.identifier,
            substance=line.substance, dosage=structure,
            dose_unit=structure.unit_plural or (drug.unit_plural if drug else ""),
        )  # fmt: skip
    schedule, times = times_from_text(dosage)
    return OrderData(
        drug=drug,
        drug_name=line.drug_name,
        atc_code=line.atc_code,
        strength=line.strength_text,
        form_text=line.form_text,
        route_text=line.route_text,
        dose_text=dosage,
        schedule=schedule,
        times=times,
        pn_max_per_day=4 if schedule == MedicationOrder.Schedule.PN else None,
        indication=line.indication,
        fmk_identifier=line.identifier,
        substance=line.substance,
    )


def _plan(kind: str, snapshot: CardSnapshot, decisions: list[Decision]) -> _Plan:
    """What the decisions change: reconciliation lines, orders to make, FMK writes."""
    admission = kind == Reconciliation.Kind.ADMISSION
    lines = {line.identifier: line for line in snapshot.lines.all()}
    # The catalogue's drugs of the card's lines, in one query (not one a line).
    drugs: dict = {}
    for drug in Drug.objects.filter(
        atc_code__in={line.atc_code for line in lines.values() if line.atc_code}
    ).order_by("-pk"):
        drugs[(drug.atc_code, drug.strength)] = drug
    plan = _Plan()
    for d in decisions:
        if d.new is not None:
            plan.lines.append(
                ReconciliationLine(
                    decision=D.NEW,
                    drug_name=d.new.drug_name,
                    atc_code=d.new.atc_code,
                    after=d.new.dose_text,
                    reason=d.reason,
                )  # fmt: skip
            )
            if admission:
                plan.orders.append((d.new, [plan.lines[-1]], d.key))
            else:
                plan.checked.append((d.new, [plan.lines[-1]], d.key))
            plan.writes.append(
                (FmkWrite.Operation.CREATE, _order_data_payload(d.new), plan.lines[-1])
            )
            continue
        if d.order is not None:  # a hospital order at discharge
            order = d.order
            if d.decision == D.NEW:
                data = OrderData(
                    drug=order.drug, drug_name=order.drug_name, atc_code=order.atc_code,
                    strength=order.strength, form_text=order.form_text,
                    route_text=order.route_text, dose_text=d.dose_text or order.dose_text,
                    indication=order.indication,
                    dosage=order.dosage_structure() if order.dosage and not d.dose_text else None,
                )  # fmt: skip
                plan.lines.append(ReconciliationLine(decision=D.NEW, drug_name=order.drug_name,
                                  atc_code=order.atc_code, after=data.dose_text,
                                  reason=d.reason, order=order))  # fmt: skip
                plan.writes.append(
                    (FmkWrite.Operation.CREATE, _order_data_payload(data), plan.lines[-1])
                )
            continue
        line = lines.get(d.fmk_identifier)
        if line is None:
            raise ValidationError(_("A line of the card is no longer on it: reconcile again."))
        record = ReconciliationLine(
            decision=d.decision, fmk_identifier=line.identifier, drug_name=line.drug_name,
            atc_code=line.atc_code, before=line.dosage_text, reason=d.reason,
        )  # fmt: skip
        plan.lines.append(record)
        if d.decision == D.CONTINUE:
            record.after = line.dosage_text
            if admission and line.status == CardLine.Status.ACTIVE:
                _order_from_line(plan, line, line.dosage_text, drugs, record, d.key)
        elif d.decision == D.CHANGE:
            if not d.dose_text.strip():
                raise ValidationError({d.key or "dose": _("Write the new dosage.")})
            record.after = d.dose_text.strip()
            if admission:
                _order_from_line(plan, line, record.after, drugs, record, d.key)
            payload = _payload(_line_data(line, record.after), line.identifier)
            payload["reason"] = d.reason.strip()  # reaches FMK with the change
            plan.writes.append((FmkWrite.Operation.UPDATE, payload, None))
        elif d.decision in (D.PAUSE, D.WITHDRAW):
            if not d.reason.strip():
                raise ValidationError({d.key or "reason": _("Write why.")})
            operation = (
                FmkWrite.Operation.PAUSE if d.decision == D.PAUSE else FmkWrite.Operation.WITHDRAW
            )
            plan.writes.append(
                (operation, {"identifier": line.identifier, "reason": d.reason.strip()}, None)
            )
        else:
            raise ValidationError(_("Unknown decision: %(d)s") % {"d": d.decision})
    return plan


def _check(access: PatientAccess, plan: _Plan, reasons: dict[str, str]) -> dict[str, list]:
    """The checks of every new or changed drug against the medication that will result."""
    everything = [Candidate(data.drug_name, data.atc_code, data.substance)
                  for data, _, _ in plan.orders]  # fmt: skip
    everything += others_for_checks(access)
    # The patient's CAVE and the interaction table once, for every drug checked.
    caves = list(CaveEntry.objects.filter(patient=access.patient, status=CaveEntry.Status.ACTIVE))
    pairs = list(Interaction.objects.all())
    found, unanswered = {}, []
    for data, records, key in plan.orders + plan.checked:
        if records[0].decision not in (D.NEW, D.CHANGE):
            continue
        others = [c for c in everything if c.name != data.drug_name]
        warnings = [
            replace(w, key=f"{key}:{w.key}")
            for w in order_warnings(access.patient, data, others=others, caves=caves, pairs=pairs)
        ]
        found[key] = warnings
        unanswered += [w for w in warnings if w.key not in reasons]
    if unanswered:
        raise ChecksNeedReasons([w for warnings in found.values() for w in warnings], unanswered)
    return found


def reconciliation_confirm(
    *,
    access: PatientAccess,
    kind: str,
    card_version: str,
    decisions: list[Decision],
    reasons: dict[str, str] | None = None,
    course=None,
    queue_seen: int | None = None,
) -> Reconciliation:
    """Confirm a reconciliation: orders change now, FMK's changes go to the outbox. A line
    continued whose dosage is not daily gets no hospital order: `by_hand` on the result names
    it, for the clinician to order with its days and times.

    `queue_seen` is the patient's queue of FMK writes as the page showed it (`queue_position`):
    the reconciliation then builds on the writes still queued (their card is its basis), and a
    page confirmed a second time, or drawn before other writes were queued, is refused. Without
    it, the writes are based on the card version alone (FMK refuses them if the card moved)."""
    staff = access.staff
    if staff is None or staff.role != "laege":
        raise ValidationError(_("A doctor reconciles medication."))
    reasons = {k: v.strip() for k, v in (reasons or {}).items() if v and v.strip()}
    snapshot = CardSnapshot.objects.filter(patient=access.patient).order_by("-fetched_at").first()
    if snapshot is None:
        raise ValidationError(_("Read the card from FMK before reconciling."))
    if snapshot.version != card_version:
        raise CardChanged(snapshot, card_version)
    plan = _plan(kind, snapshot, decisions)
    warnings = _check(access, plan, reasons)
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=access.patient.pk).values_list("pk").first()
        if queue_seen is not None and queue_seen != queue_position(access.patient.pk):
            raise QueueChanged(
                _("Other changes for FMK were made since this page was opened: open the "
                  "reconciliation again to see them.")
            )  # fmt: skip
        reconciliation = Reconciliation.objects.create(
            patient=access.patient, care_course=course, kind=kind, card_version=card_version,
            confirmed_by=staff, confirmed_at=timezone.now(),
            builds_on=builds_on(access.patient.pk, snapshot) if queue_seen is not None else None,
        )  # fmt: skip
        for _data, records, key in plan.checked:  # no order to hold them: the line does
            overridden = [f"{w.text[:120]} – {reasons[w.key]}" for w in warnings.get(key, [])]
            if overridden:
                records[0].reason = "; ".join([records[0].reason, *overridden]).strip("; ")
        for data, records, key in plan.orders:
            given = {w.key: reasons[w.key] for w in warnings.get(key, [])}
            order = order_create(
                access=access, data=data, reasons=given, course=course,
                warnings=warnings.get(key, []), record=False,
            )  # fmt: skip
            for record in records:
                record.order = order
        if kind == Reconciliation.Kind.DISCHARGE:
            # The orders of this stay end with it (not other departments' or courses').
            for order in active_orders(access.patient, course=course, access=access):
                order_stop(access=access, order=order, reason=_("Discharged"), record=False)
        for record in plan.lines:
            record.reconciliation = reconciliation
        ReconciliationLine.objects.bulk_create(plan.lines)
        writes = []
        for operation, payload, record in plan.writes:
            if record is not None and record.order is not None:
                payload = {**payload, "order_id": record.order.pk}
            writes.append((operation, payload))
        if kind == Reconciliation.Kind.ADMISSION:
            writes.append((FmkWrite.Operation.REVIEWED, {}))
        sequence = next_sequence(access.patient)
        FmkWrite.objects.bulk_create(
            FmkWrite(
                patient=access.patient, reconciliation=reconciliation, sequence=sequence + i,
                operation=operation, payload=payload, message_id=uuid.uuid4(),
                requested_by=access.user,
            )
            for i, (operation, payload) in enumerate(writes)
        )  # fmt: skip
        if not writes:
            reconciliation_fmk_updated(reconciliation_id=reconciliation.pk)
        access_change_record(
            access, data_kind=DataKind.MEDICATION, action=Action.CREATE, obj=reconciliation
        )
        if writes:
            engine.dispatch_on_commit(WRITE_KIND)
    # Said to the clinician at once (not kept: the lines themselves are).
    reconciliation.by_hand = plan.by_hand  # type: ignore[attr-defined]
    return reconciliation


def reconciliation_not_updated(
    *, access: PatientAccess, reconciliation: Reconciliation, reason: str
) -> Reconciliation:
    """The doctor records why FMK was not (or not fully) updated: the discharge completes, and
    what was not sent is not sent."""
    if not reason.strip():
        raise ValidationError({"reason": _("Write why FMK is not updated.")})
    with transaction.atomic():
        reconciliation = Reconciliation.objects.select_for_update().get(pk=reconciliation.pk)
        if reconciliation.status == Reconciliation.Status.UPDATED:
            return reconciliation
        FmkWrite.objects.filter(
            reconciliation=reconciliation, status__in=[FmkWrite.Status.PENDING]
        ).update(status=FmkWrite.Status.FAILED, reason=f"Ikke sendt: {reason.strip()}")
        reconciliation.status = Reconciliation.Status.NOT_UPDATED
        reconciliation.not_updated_reason = reason.strip()
        reconciliation.save(update_fields=["status", "not_updated_reason", "updated_at"])
        _complete(reconciliation)
        access_change_record(
            access, data_kind=DataKind.MEDICATION, action=Action.UPDATE, obj=reconciliation
        )
    return reconciliation
