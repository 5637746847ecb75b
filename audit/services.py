"""Writing the access log."""

from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache

from django.db import connection, connections, router, transaction

from audit.models import AccessEvent, RightsChange
from common.context import current_request_id


@dataclass(frozen=True)
class Actor:
    """Who acts, as the log must remember them even after their role or department changes."""

    user_id: int | None
    display: str
    role: str = ""
    department_code: str = ""
    department_name: str = ""


def access_event_record(
    *,
    actor: Actor,
    patient_id: int | None,
    data_kind: str,
    action: str,
    legal_basis: str,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    path: str = "",
    flagged: bool = False,
) -> AccessEvent:
    """Write one access event: at once for a read, inside the change's transaction for a write.

    A change and its event commit or roll back together. Raises whatever the database raises:
    callers must then show nothing (fail closed).
    """
    event = _event(
        actor,
        patient_id,
        data_kind=data_kind,
        action=action,
        legal_basis=legal_basis,
        object_type=object_type,
        object_id=object_id,
        reason=reason,
        path=path,
        flagged=flagged,
    )
    _insert(event)
    return event


# Events a statement inserts at most (each takes 16 parameters).
INSERT_BATCH = 2000


@lru_cache(maxsize=1)
def _insert_statement() -> tuple[str, str, list]:
    fields = [f for f in AccessEvent._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    pk = quote(AccessEvent._meta.pk.column)
    table = quote(AccessEvent._meta.db_table)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES ", f" RETURNING {pk}", [row, fields]  # noqa: S608


def _insert(*events: AccessEvent) -> None:
    """Insert the events with one statement whose text is made once (a list makes one VALUES
    row per event). On every page `save()` and its transaction cost more than the insert (a
    BEGIN and a COMMIT around it), and `bulk_create` cost a work list of 136 patients 15 ms.
    A single statement is atomic by itself, and inside a change's transaction it is part of
    it."""
    if not events:
        return
    head, tail, (row, fields) = _insert_statement()
    alias = router.db_for_write(AccessEvent)
    db = connections[alias]
    # PostgreSQL takes at most 65,535 parameters a statement; several are one transaction.
    several = len(events) > INSERT_BATCH
    with transaction.atomic(using=alias) if several else nullcontext(), db.cursor() as cursor:
        for start in range(0, len(events), INSERT_BATCH):
            batch = events[start : start + INSERT_BATCH]
            params = [f.get_db_prep_save(f.pre_save(e, True), db) for e in batch for f in fields]
            cursor.execute(head + ", ".join([row] * len(batch)) + tail, params)
            for event, (pk,) in zip(batch, cursor.fetchall(), strict=True):
                event.pk = pk
                event._state.adding, event._state.db = False, alias


def _event(actor: Actor, patient_id, *, object_id="", path="", **fields) -> AccessEvent:
    """An unsaved event with the actor copied and the request id of this moment."""
    return AccessEvent(
        user_id=actor.user_id,
        user_display=actor.display[:200],
        role=actor.role,
        department_code=actor.department_code,
        department_name=actor.department_name[:200],
        patient_id=patient_id,
        object_id=str(object_id)[:64],
        request_id=current_request_id(),
        path=path[:300],
        **fields,
    )


def access_events_record_many(
    *,
    actor: Actor,
    patient_ids: list[int | None],
    data_kind: str,
    action: str,
    legal_basis: str,
    reason: str = "",
    path: str = "",
    object_type: str = "",
    object_id: str = "",
) -> list[AccessEvent]:
    """Write one event per patient of a list or search result, in one statement."""
    return access_events_record_each(
        events=[(actor, patient_id, object_id) for patient_id in patient_ids],
        data_kind=data_kind,
        action=action,
        legal_basis=legal_basis,
        reason=reason,
        path=path,
        object_type=object_type,
    )


def access_events_record_each(
    *,
    events: list[tuple[Actor, int | None, str]],
    data_kind: str,
    action: str,
    legal_basis: str,
    object_type: str = "",
    reason: str = "",
    path: str = "",
) -> list[AccessEvent]:
    """Write one event per (actor, patient, object id), in one statement: an integration that
    filed a batch of messages, each for its own patient."""
    rows = [
        _event(
            actor,
            patient_id,
            data_kind=data_kind,
            action=action,
            legal_basis=legal_basis,
            reason=reason,
            path=path,
            object_type=object_type,
            object_id=object_id,
        )
        for actor, patient_id, object_id in events
    ]
    _insert(*rows)
    return rows


def rights_change_record(*, changed_by, target, what: str, before, after) -> RightsChange | None:
    """Record one change of a user's rights (nothing when before and after are the same)."""
    before, after = _rights_text(before), _rights_text(after)
    if before == after:
        return None
    with transaction.atomic():
        return RightsChange.objects.create(
            changed_by=changed_by,
            changed_by_display=(changed_by.get_full_name() or changed_by.get_username())[:200],
            target=target,
            target_display=(target.get_full_name() or target.get_username())[:200],
            what=what[:60],
            before=before,
            after=after,
            request_id=current_request_id(),
        )


def _rights_text(value) -> str:
    if isinstance(value, set | frozenset | list | tuple):
        return ", ".join(sorted(str(v) for v in value))
    return "" if value is None else str(value)
