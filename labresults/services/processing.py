"""Processing a stored message: parse, match the patient by CPR, upsert reports and results.

Everything happens in one transaction that holds the message row locked, so a killed worker
leaves the message `received` for the sweeper, and two workers never process one message.
Upserts use stable keys (sender + filler order number; report + analysis code): a re-sent
message changes nothing, a preliminary result becomes final in place, a correction replaces
the value and pghistory keeps the old one."""

import logging

from django.db import DataError, transaction
from django.utils import timezone

from audit.models import Action, DataKind
from labresults.hl7.oru import Observation, ResultMessage
from labresults.hl7.parser import Hl7Error
from labresults.interpret import catalogue_for, interpret
from labresults.models import InboundMessage, LabReport, LabResult
from labresults.selectors import message_patient_match, message_results, report_origin
from labresults.services.inbox import inbox_item_refresh
from patients.access import access_patient_as_system
from patients.models import Patient

SYSTEM = "Laboratory integration"


log = logging.getLogger(__name__)


def _result_fields(observation: Observation, order_status: str, *, analysis, patient, at):
    status = observation.status
    if order_status == "corrected" and status == "final":
        status = "corrected"
    flag, computed, critical = interpret(
        analysis=analysis,
        value=observation.numeric,
        sender_flags=observation.flags,
        patient=patient,
        observed_at=observation.observed_at or at,
    )
    return {
        "name": observation.name[:200],
        "coding_system": observation.coding_system[:30],
        "value_numeric": observation.numeric,
        "value_text": observation.value,
        "unit": observation.unit[:40],
        "reference_range": observation.reference_range[:60],
        "flag": flag,
        "flag_computed": computed,
        "is_critical": critical,
        "status": status,
        "observed_at": observation.observed_at,
    }


def _upsert(model, key: dict, fields: dict, *, on_create=None):
    """Create, or update only what changed (so an unchanged re-send writes no history).

    `on_create` is a dict, or a function giving one, of fields set only on a new row.
    Returns (row, changed, created).
    """
    row = model.objects.filter(**key).first()
    if row is None:
        extra = on_create() if callable(on_create) else (on_create or {})
        return model.objects.create(**key, **fields, **extra), True, True
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, fields[name])
        row.save(update_fields=[*changed, "updated_at"])
    return row, bool(changed), False


def _upsert_results(report: LabReport, rows: dict[str, dict], *, created: bool) -> list:
    """Upsert a report's results by analysis code in a few statements; return those changed.

    A new report has no results yet, so nothing is looked up; otherwise one query finds the
    existing ones, new ones are inserted together and changed ones updated together.
    """
    existing = (
        {}
        if created
        else {r.code: r for r in LabResult.objects.filter(report=report, code__in=list(rows))}
    )
    now = timezone.now()
    new, changed, fields_changed = [], [], set()
    for code, fields in rows.items():
        row = existing.get(code)
        if row is None:
            new.append(LabResult(report=report, code=code, **fields))
            continue
        different = [name for name, value in fields.items() if getattr(row, name) != value]
        if different:
            for name in different:
                setattr(row, name, fields[name])
            row.updated_at = now
            changed.append(row)
            fields_changed.update(different)
    if new:
        LabResult.objects.bulk_create(new)
    if changed:
        LabResult.objects.bulk_update(changed, [*sorted(fields_changed), "updated_at"])
    return new + changed


class ReportConflict(Exception):
    """A report key of the message is another patient's report: change nothing in either."""

    def __init__(self, key: str, other_patient_id: int):
        super().__init__(key)
        self.key, self.other_patient_id = key, other_patient_id


def report_key_conflict(message: InboundMessage, results: ResultMessage, patient: Patient):
    """Raise ReportConflict when any report key of the message belongs to another patient.

    Filler numbers collide in real life (ranges reset, two analysers behind one facility, test
    traffic on a production link); a match must never move a report to another record.
    """
    fillers = [_filler(message, order) for order in results.orders]
    other = (
        LabReport.objects.filter(sender=message.sender, filler_order_number__in=fillers)
        .exclude(patient=patient)
        .values_list("filler_order_number", "patient_id")
        .first()
    )
    if other is not None:
        raise ReportConflict(f"{message.sender} / {other[0]}", other[1])


def _filler(message: InboundMessage, order) -> str:
    suffix = f"~{message.report_key_suffix}" if message.report_key_suffix else ""
    return (order.filler_order[: 100 - len(suffix)] + suffix)[:100]


def store_results(message: InboundMessage, results: ResultMessage, patient: Patient) -> int:
    """Upsert the message's reports and results for the patient; return how many changed.

    The caller checked `report_key_conflict` first: every key here is this patient's or new.
    """
    changed = 0
    catalogue = catalogue_for(o.code[:60] for order in results.orders for o in order.observations)
    for order in results.orders:
        report, report_changed, created = _upsert(
            LabReport,
            {"sender": message.sender, "filler_order_number": _filler(message, order)},
            {
                "patient": patient,
                "placer_order_number": order.placer_order[:100],
                "service_code": order.service_code[:60],
                "service_name": order.service_name[:200],
                "status": order.status,
                "observed_at": order.observed_at,
                "reported_at": order.reported_at,
                "notes": "\n".join(order.notes),
                "section": order.section[:10],
                "study_uid": (order.study_uids[0] if order.study_uids else "")[:64],
            },
            on_create=lambda order=order: {
                "source_message": message,
                **report_origin(order.placer_order[:100], patient),
            },
        )
        if report_changed and not created and report.source_message_id != message.pk:
            report.source_message = message
            report.save(update_fields=["source_message", "updated_at"])
        rows: dict[str, dict] = {}
        for observation in order.observations:
            fields = _result_fields(
                observation,
                order.status,
                analysis=catalogue.get(observation.code[:60]),
                patient=patient,
                at=order.observed_at,
            )
            fields["patient"] = patient
            fields["observed_at"] = fields["observed_at"] or order.observed_at
            rows[observation.code[:60]] = fields
        written = _upsert_results(report, rows, created=created)
        if report_changed or written:
            inbox_item_refresh(report, patient, new_results=written if created else None)
        changed += report_changed + len(written)
    return changed


# A message whose processing raised this many times goes to the failed queue: it never loops.
MAX_ATTEMPTS = 5


def inbound_message_process(*, message_id: int) -> InboundMessage | None:
    """Process one stored message if nobody else is; None when it is taken or already done.

    The work runs in a savepoint: if it raises (a NUL byte the database refuses, a bug), the
    attempt and its reason are still committed, and after MAX_ATTEMPTS the message is failed.
    A value the database cannot store fails at once: trying again cannot help.
    """
    with transaction.atomic():
        message = (
            InboundMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=InboundMessage.Status.RECEIVED)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        try:
            with transaction.atomic():
                _process(message)
        except DataError as error:
            message.status = InboundMessage.Status.FAILED
            message.error = _reason("The message holds a value the database cannot store", error)
        except Exception as error:  # noqa: BLE001 - any failure is kept as the reason
            log.exception("processing message %s failed", message.pk)
            message.error = _reason(f"Processing failed (attempt {message.attempts})", error)
            if message.attempts >= MAX_ATTEMPTS:
                message.status = InboundMessage.Status.FAILED
        message.save(
            update_fields=[
                "status",
                "error",
                "attempts",
                "processed_at",
                "matched_patient",
                "conflict_patient",
                "updated_at",
            ]
        )
    return message


def _reason(what: str, error: Exception) -> str:
    detail = str(error).replace("\x00", "\\0").splitlines()[0] if str(error) else ""
    return f"{what}: {type(error).__name__} {detail}".strip()[:1000]


def _process(message: InboundMessage) -> None:
    """Parse, match and store one message; sets its status and reason."""
    try:
        results = message_results(message)
    except Hl7Error as error:
        message.status, message.error = InboundMessage.Status.FAILED, error.reason
        return
    if message.matched_patient_id:
        patient, reason = message.matched_patient, ""
    else:
        patient, reason = message_patient_match(results)
    if patient is None:
        message.status, message.error = InboundMessage.Status.UNMATCHED, reason
        return
    try:
        report_key_conflict(message, results, patient)
    except ReportConflict as conflict:
        message.status = InboundMessage.Status.CONFLICT
        message.matched_patient, message.conflict_patient_id = patient, conflict.other_patient_id
        message.error = (
            f"The report number {conflict.key} belongs to another patient's report; nothing was "
            "changed. File the message as a new report for its patient, or reject it."
        )
        return
    store_results(message, results, patient)
    access_patient_as_system(
        patient=patient,
        data_kind=DataKind.LAB_RESULTS,
        action=Action.CREATE,
        system=f"{SYSTEM}: {message.sender}",
        object_type="labresults.inboundmessage",
        object_id=str(message.public_id),
    )
    message.status, message.error = InboundMessage.Status.PROCESSED, ""
    message.processed_at = timezone.now()
