"""Processing stored messages: parse, match the patient by CPR, upsert reports and results.

The messages are an inbox of the outbox's engine with a held claim: a worker locks a batch of
waiting messages (SKIP LOCKED) and files it in that same transaction, so two workers never file
one message, and a killed worker's transaction is rolled back and its messages wait again.
Upserts use stable keys (sender + filler order number; report + analysis code): a re-sent
message changes nothing, a preliminary result becomes final in place, a correction replaces
the value and pghistory keeps the old one."""

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop as _noop

from audit.models import Action, DataKind
from labresults.hl7.oru import Observation, ResultMessage
from labresults.hl7.parser import Hl7Error, Reason
from labresults.interpret import catalogue_for, interpret
from labresults.kinds import INBOUND as INBOUND_KIND
from labresults.models import InboundMessage, LabReport, LabResult
from labresults.selectors import message_patient_match, message_results, report_origins
from labresults.services.inbox import inbox_item_refresh, inbox_items_for_new_reports
from outbox import engine, kinds
from patients.access import access_patients_as_system
from patients.models import Patient
from patients.selectors import patients_by_cpr

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


def _filler(message: InboundMessage, order) -> str:
    suffix = f"~{message.report_key_suffix}" if message.report_key_suffix else ""
    return (order.filler_order[: 100 - len(suffix)] + suffix)[:100]


def _report_fields(order, patient: Patient) -> dict:
    return {
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
    }


@dataclass
class _Filing:
    """One message on its way into the record: what it carries, for whom, what it wrote."""

    message: InboundMessage
    results: ResultMessage
    patient: Patient
    changed: int = 0
    reports: list = field(default_factory=list)  # (report, created, order)
    # Reports that existed and changed (a correction at order level, a new note): their inbox
    # item asks for a new acknowledgement even when no result changed.
    reports_changed: set = field(default_factory=set)


def _file(messages: list[InboundMessage]) -> None:
    """File these claimed messages together; sets each one's status and reason.

    Parsing, matching by CPR, the report-key check and the upserts are done for the whole batch
    in a few statements. Messages that share a report key (a preliminary and its final in one
    batch) are filed in rounds, in the order they arrived, so the later one sees the earlier.
    """
    schedules = [m for m in messages if (m.message_type or "").startswith("SIU")]
    if schedules:
        _file_schedules(schedules)
        messages = [m for m in messages if m not in schedules]
    filings = [f for f in _match(messages) if f is not None]
    while filings:
        round_: list[_Filing] = []
        later: list[_Filing] = []
        keys: set[tuple[str, str]] = set()
        for filing in filings:
            message = filing.message
            mine = {(message.sender, _filler(message, o)) for o in filing.results.orders}
            (later if mine & keys else round_).append(filing)
            # A waiting message still holds its keys: a later one sharing any of them waits
            # behind it, so no key is filed out of arrival order.
            keys |= mine
        _file_round(round_)
        filings = later


def _file_schedules(messages: list[InboundMessage]) -> None:
    """Appointments (SIU) from external scheduling systems: read, matched by CPR like results
    (an unknown patient waits in the same queue), then filed by the app that registered for
    them (booking)."""
    from dataclasses import asdict

    from labresults.hl7.parser import parse
    from labresults.hl7.siu import extract_schedule
    from patients.registry import inbound_handlers

    handler = inbound_handlers.get("SIU")
    for message in messages:
        try:
            schedule = extract_schedule(parse(message.text_to_process()))
        except Hl7Error as error:
            message.reason_set(InboundMessage.Status.FAILED, error.why)
            continue
        patient: Patient | None
        reason: Reason | str = ""
        if message.matched_patient_id:
            patient = Patient.objects.get(pk=message.matched_patient_id)
        else:
            # A ScheduleMessage carries patient_ids as a ResultMessage does.
            patient, reason = message_patient_match(schedule)  # type: ignore[arg-type]
        if patient is None:
            message.reason_set(InboundMessage.Status.UNMATCHED, reason)
            continue
        if handler is None:
            message.reason_set(
                InboundMessage.Status.FAILED, Reason(_noop("Nothing here files appointments."))
            )
            continue
        content = {**asdict(schedule), "key": schedule.key}
        try:
            with transaction.atomic():
                handler.file(
                    message_id=message.pk, sender=message.sender, patient=patient, content=content
                )
        except ValidationError as refused:  # the appointment's number is another patient's
            message.reason_set(InboundMessage.Status.FAILED, " ".join(refused.messages))
            continue
        message.reason_set(InboundMessage.Status.PROCESSED, "")


def _match(messages: list[InboundMessage]) -> list[_Filing | None]:
    """Parse each message and find its patient: by hand-matched patient, else by CPR (one
    query for the batch); a message that cannot be read or matched gets its status here."""
    parsed = []
    for message in messages:
        try:
            parsed.append((message, message_results(message)))
        except Hl7Error as error:
            message.reason_set(InboundMessage.Status.FAILED, error.why)
    hand_ids = {m.matched_patient_id for m, _r in parsed if m.matched_patient_id}
    by_hand = {p.pk: p for p in Patient.objects.filter(pk__in=hand_ids)} if hand_ids else {}
    by_cpr = patients_by_cpr(
        {i for m, r in parsed if not m.matched_patient_id for i, _kind in r.patient_ids}
    )
    filings: list[_Filing | None] = []
    for message, results in parsed:
        reason: Reason | str
        if message.matched_patient_id:
            patient, reason = by_hand[message.matched_patient_id], ""
        else:
            found = [by_cpr[i] for i, _kind in results.patient_ids if i in by_cpr]
            patient, reason = (found[0], "") if found else message_patient_match(results)
        if patient is None:
            message.reason_set(InboundMessage.Status.UNMATCHED, reason)
            filings.append(None)
            continue
        filings.append(_Filing(message, results, patient))
    return filings


def _file_round(filings: list[_Filing]) -> None:
    """Upsert the reports and results of messages whose report keys are all different."""
    wanted = {(f.message.sender, _filler(f.message, o)) for f in filings for o in f.results.orders}
    existing = {
        (r.sender, r.filler_order_number): r
        for r in LabReport.objects.filter(
            sender__in={s for s, _n in wanted}, filler_order_number__in={n for _s, n in wanted}
        )
        if (r.sender, r.filler_order_number) in wanted
    }
    filings = [f for f in filings if not _conflict(f, existing)]
    fresh = [
        (f, order)
        for f in filings
        for order in f.results.orders
        if (f.message.sender, _filler(f.message, order)) not in existing
    ]
    origins = report_origins([(order.placer_order[:100], f.patient) for f, order in fresh])
    origin_of = {id(order): origin for (_f, order), origin in zip(fresh, origins, strict=True)}
    now = timezone.now()
    created, updated, update_fields = [], {}, set()
    is_new: set[int] = set()  # id() of the reports made in this round
    for f in filings:
        for order in f.results.orders:
            key = (f.message.sender, _filler(f.message, order))
            fields = _report_fields(order, f.patient)
            report = existing.get(key)
            if report is None:
                report = LabReport(
                    sender=key[0],
                    filler_order_number=key[1],
                    source_message=f.message,
                    **fields,
                    **origin_of[id(order)],
                )
                # Two orders with one key in one message: the second updates the first.
                existing[key] = report
                created.append(report)
                is_new.add(id(report))
                f.reports.append((report, True, order))
                f.changed += 1
                continue
            different = [name for name, value in fields.items() if getattr(report, name) != value]
            made_now = id(report) in is_new
            if different:
                for name in different:
                    setattr(report, name, fields[name])
                if not made_now:
                    report.source_message, report.updated_at = f.message, now
                    update_fields.update([*different, "source_message", "updated_at"])
                    updated[report.pk] = report
                    f.reports_changed.add(report.pk)
                f.changed += 1
            f.reports.append((report, made_now, order))
    LabReport.objects.bulk_create(created)
    if updated:
        LabReport.objects.bulk_update(list(updated.values()), sorted(update_fields))
    _file_results(filings)
    access_patients_as_system(
        touched=[
            (f"{SYSTEM}: {f.message.sender}", f.patient.pk, str(f.message.public_id))
            for f in filings
        ],
        data_kind=DataKind.LAB_RESULTS,
        action=Action.CREATE,
        object_type="labresults.inboundmessage",
    )
    finished_at = timezone.now()
    for f in filings:
        f.message.reason_set(InboundMessage.Status.PROCESSED, "")
        f.message.finished_at = finished_at


def _conflict(filing: _Filing, existing: dict) -> bool:
    """Whether a report key of the message is another patient's report; then the message waits
    for laboratory staff, and nothing changes in either record.

    Filler numbers collide in real life (ranges reset, two analysers behind one facility, test
    traffic on a production link); a match must never move a report to another record.
    """
    message = filing.message
    for order in filing.results.orders:
        key = (message.sender, _filler(message, order))
        report = existing.get(key)
        if report is not None and report.patient_id != filing.patient.pk:
            message.matched_patient, message.conflict_patient_id = filing.patient, report.patient_id
            message.reason_set(
                InboundMessage.Status.CONFLICT,
                Reason(
                    _noop(
                        "The report number %(key)s belongs to another patient's report; nothing "
                        "was changed. File the message as a new report for its patient, or "
                        "reject it."
                    ),
                    key=f"{key[0]} / {key[1]}",
                ),
            )
            return True
    return False


def _file_results(filings: list[_Filing]) -> None:
    """Upsert the results of the round's reports by analysis code, in a few statements; then
    their inbox items (new reports from the results just written, nothing read back)."""
    catalogue = catalogue_for(
        o.code[:60] for f in filings for order in f.results.orders for o in order.observations
    )
    old_reports = [report.pk for f in filings for report, created, _o in f.reports if not created]
    existing = (
        {(r.report_id, r.code): r for r in LabResult.objects.filter(report_id__in=old_reports)}
        if old_reports
        else {}
    )
    now = timezone.now()
    new: dict[tuple, SimpleNamespace] = {}
    changed, fields_changed = [], set()
    fresh_items: dict[int, tuple] = {}  # report id: (report, results written)
    refresh = []
    for f in filings:
        for report, created, order in f.reports:
            written: list = []
            for observation in order.observations:
                code = observation.code[:60]
                fields = _result_fields(
                    observation,
                    order.status,
                    analysis=catalogue.get(code),
                    patient=f.patient,
                    at=order.observed_at,
                )
                fields["observed_at"] = fields["observed_at"] or order.observed_at
                row = existing.get((report.pk, code))
                if row is None:
                    # New (a code twice in one report: the last value is the one inserted).
                    pending = new.get((report.pk, code))
                    if pending is None:
                        pending = SimpleNamespace(
                            report_id=report.pk,
                            patient_id=f.patient.pk,
                            code=code,
                            arrived_at=report.created_at,  # the partition key
                        )
                        new[(report.pk, code)] = pending
                        written.append(pending)
                    pending.__dict__.update(fields)
                    continue
                fields["patient_id"] = f.patient.pk
                different = [n for n, v in fields.items() if getattr(row, n) != v]
                if different:
                    for name in different:
                        setattr(row, name, fields[name])
                    row.updated_at = now
                    changed.append(row)
                    fields_changed.update(different)
                    written.append(row)
            f.changed += len(written)
            if created:
                # Two orders with one key in one message: one report, one inbox item.
                fresh_items.setdefault(report.pk, (report, []))[1].extend(written)
            elif written or report.pk in f.reports_changed:
                refresh.append((report, f.patient))
    _results_insert(list(new.values()), now)
    if changed:
        rows = list({r.pk: r for r in changed}.values())
        LabResult.objects.bulk_update(rows, [*sorted(fields_changed), "updated_at"])
    inbox_items_for_new_reports(list(fresh_items.values()))
    for report, patient in dict.fromkeys(refresh):
        inbox_item_refresh(report, patient)


# Every column of a result but its key, in the table's order, for COPY.
_RESULT_FIELDS = [f for f in LabResult._meta.concrete_fields if not f.primary_key]


def _results_insert(rows: list[SimpleNamespace], now) -> None:
    """Insert new results with one COPY: a tenth of the CPU of building and inserting model
    instances, which was the largest cost of filing a batch. Row triggers fire for COPY as for
    INSERT, so every result still gets its history row; a value the database refuses raises,
    and the batch is filed again message by message (which names the reason)."""
    if not rows:
        return
    columns = ", ".join(connection.ops.quote_name(f.column) for f in _RESULT_FIELDS)
    table = connection.ops.quote_name(LabResult._meta.db_table)
    # Django's error classes, as for every other statement (DataError: a NUL byte, a number
    # too large), so the message is failed with the reason.
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row([_column_value(f, row.__dict__, now) for f in _RESULT_FIELDS])


def _column_value(field, values: dict, now):
    if field.attname in values:
        return values[field.attname]
    if field.attname == "public_id":
        return uuid.uuid4()
    if field.attname in ("created_at", "updated_at"):
        return now
    return field.get_default()


# A message whose processing raised this many times goes to the failed queue: it never loops.
MAX_ATTEMPTS = 5
# What filing changes on a message.
_SAVED = [
    *InboundMessage.REASON_FIELDS,
    "attempts",
    "finished_at",
    "matched_patient",
    "conflict_patient",
    "updated_at",
]
_SAVED_COLUMNS = [
    field.attname for field in InboundMessage._meta.concrete_fields if field.name in _SAVED
]


def inbound_message_process(*, message_id: int) -> InboundMessage | None:
    """Process one stored message if nobody else is; None when it is taken or already done."""
    done = inbound_messages_process(message_ids=[message_id])
    return done[0] if done else None


def inbound_messages_process(*, message_ids: list[int], fill_to: int = 0) -> list[InboundMessage]:
    """Claim these messages where they still wait (skipping those another worker holds) and,
    with `fill_to`, the oldest other waiting ones up to that many; file them in one transaction.

    Under load one task thus files a batch and the tasks of the messages it took find nothing
    left to do; at low traffic a batch is one message.
    """
    kind = kinds.get(INBOUND_KIND)
    with transaction.atomic():
        claimed = engine.claim(kind, ids=message_ids, limit=max(len(message_ids), 1))
        if fill_to > len(claimed):
            besides = [message.pk for message in claimed]
            claimed += engine.claim(kind, limit=fill_to - len(claimed), besides=besides)
        return inbound_messages_file(claimed)


def inbound_messages_file(claimed: list[InboundMessage]) -> list[InboundMessage]:
    """The kind's step, in the transaction that holds the claimed messages' row locks: file
    them together, count the attempt and save how each ended.

    When the batch raises, it is rolled back to a savepoint and each message is filed on its
    own in a savepoint, so its attempt and reason are kept, a message that keeps failing is
    failed after MAX_ATTEMPTS, and one bad message never holds up the others. A value the
    database cannot store fails at once.
    """
    if not claimed:
        return []
    # In arrival order: a preliminary topped up from the waiting ones is filed before the
    # final this task was sent for.
    claimed = sorted(claimed, key=lambda m: (m.received_at, m.pk))
    try:
        with transaction.atomic():
            _file(claimed)
    except Exception:  # noqa: BLE001 - filed one by one below, each failure with its reason
        if len(claimed) > 1:
            log.warning("a batch of %s messages failed; filing them one by one", len(claimed))
        for message in claimed:
            message.refresh_from_db()
            message.attempts += 1
            _file_alone(message)
        return claimed
    for message in claimed:
        message.attempts += 1
    _save_statuses(claimed)
    return claimed


def register_inbound_messages() -> None:
    """Stored messages are an inbox of the outbox's engine (from LabresultsConfig.ready)."""
    from django.conf import settings
    from django.utils.translation import gettext_lazy

    kinds.register(
        kinds.Kind(
            name=INBOUND_KIND,
            model=InboundMessage,
            perform=inbound_messages_file,
            label=gettext_lazy("Messages from laboratories"),
            waiting=InboundMessage.Status.RECEIVED,
            working=InboundMessage.Status.PROCESSING,
            failed=InboundMessage.Status.FAILED,
            stale_after_setting="SUNDHED_LAB_SWEEP_AFTER",
            stale_handed="again",
            batch=settings.SUNDHED_LAB_BATCH_SIZE,
            top_up=True,
            held=True,
        )  # fmt: skip
    )


def _save_statuses(messages: list[InboundMessage]) -> None:
    """Save what filing set on the messages: one UPDATE per set of equal values (most of a
    batch is simply processed), which costs a fraction of Django's bulk_update."""
    now = timezone.now()
    same: dict[tuple, tuple[tuple, list[int]]] = {}
    for message in messages:
        message.updated_at = now
        values = tuple(getattr(message, name) for name in _SAVED_COLUMNS)
        key = tuple(json.dumps(v, sort_keys=True) if isinstance(v, dict) else v for v in values)
        same.setdefault(key, (values, []))[1].append(message.pk)
    for values, ids in same.values():
        changes = dict(zip(_SAVED_COLUMNS, values, strict=True))
        InboundMessage.objects.filter(pk__in=ids).update(**changes)


def _file_alone(message: InboundMessage) -> None:
    """File one message in a savepoint; the caller holds its row lock. A message that raised
    waits again for a while (the sweeper hands it over), and is failed after MAX_ATTEMPTS."""
    try:
        with transaction.atomic():
            _file([message])
    except DataError as error:
        message.reason_set(
            InboundMessage.Status.FAILED,
            Reason(
                _noop("The message holds a value the database cannot store: %(detail)s"),
                detail=_detail(error),
            ),
        )
    except Exception as error:  # noqa: BLE001 - any failure is kept as the reason
        log.exception("processing message %s failed", message.pk)
        status = InboundMessage.Status.RECEIVED
        message.due_at = timezone.now() + timedelta(seconds=10 * message.attempts)
        if message.attempts >= MAX_ATTEMPTS:
            status = InboundMessage.Status.FAILED
        message.reason_set(
            status,
            Reason(
                _noop("Processing failed (attempt %(attempt)s): %(detail)s"),
                attempt=message.attempts,
                detail=_detail(error),
            ),
        )
    message.save(update_fields=[*_SAVED, "due_at"])


def _detail(error: Exception) -> str:
    detail = str(error).replace("\x00", "\\0").splitlines()[0] if str(error) else ""
    return f"{type(error).__name__} {detail}".strip()[:900]
