"""The one engine of durable work: claim, finish while the claim is mine, retry, sweep, dispatch.

1. A service writes the row in its own transaction and calls `dispatch_on_commit`: after the
   commit the row's id goes to a worker (`outbox.work`). A broker that is down, or dispatch
   switched off (`SUNDHED_OUTBOX_DISPATCH`), loses nothing: the sweeper dispatches what waits.
2. The worker `claim`s rows in a committed transaction (SKIP LOCKED: two workers never take one
   row): status `working`, `claimed_at`, a fresh `claim_token`, one more attempt. A `held`
   kind (work that never leaves the database) instead holds its claim as the row locks of the
   one transaction in which it does the work: nothing to commit, nothing to sweep.
3. The kind's `perform` does the work. Just before anything leaves the house it calls `hand`;
   it ends each row with `finish` (done, failed, or any status of its own) or `retry` (back to
   waiting after a backoff, failed once the attempts are used). Both change the row only while
   the claim is still this worker's (`mine`): a worker that was too slow and lost its claim to
   the sweeper changes nothing.
4. `sweep` takes back claims older than the kind's "stale after": not yet handed over, the row
   simply waits again; handed over, it is sent again where the outside recognises a repeat
   (the same message id or reference), or marked as the kind says (an e-mail: perhaps sent).
   Waiting rows that are due and no worker has are dispatched.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextlib import nullcontext
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef
from django.utils import timezone

from outbox.breaker import Breaker
from outbox.kinds import Kind, all_kinds, get
from outbox.models import reason_columns

log = logging.getLogger(__name__)
WORK_TASK = "outbox.work"
WORK_SECONDS = 60


# --- Handing to a worker ----------------------------------------------------------------------


def dispatch_on_commit(kind: Kind | str, ids: list[int] | int | None = None) -> None:
    """Once the caller's transaction commits, hand these rows (or, with None, whatever of the
    kind is due) to a worker."""
    kind = get(kind) if isinstance(kind, str) else kind
    ids = [ids] if isinstance(ids, int) else ids
    transaction.on_commit(lambda: dispatch(kind, ids))


def dispatch(kind: Kind, ids: list[int] | None = None, *, countdown: float = 0) -> bool:
    """Hand rows to a worker now (they are committed); False when the broker could not be
    reached or dispatch is off. Nothing is lost either way: the sweeper finds what waits."""
    if not settings.SUNDHED_OUTBOX_DISPATCH:
        return False
    options: dict[str, object] = {"countdown": countdown} if countdown > 0 else {}
    if kind.queue:
        options["queue"] = kind.queue
    # Many ids go a batch per task.
    size = kind.batch
    groups = [None] if ids is None else [ids[i : i + size] for i in range(0, len(ids), size)]
    try:
        for group in groups:
            current_app.send_task(WORK_TASK, args=[kind.name, group], **options)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweeper dispatches it later
        log.warning("%s %s not handed to a worker; the sweeper will", kind.name, ids)
        return False
    return True


# --- Claiming and finishing -------------------------------------------------------------------


def _claimable(kind: Kind, now):
    model = kind.model
    rows = model._default_manager.filter(status=kind.waiting, due_at__lte=now)
    if kind.in_order_of:
        earlier = model._default_manager.filter(
            **{kind.in_order_of: OuterRef(kind.in_order_of)},
            **{f"{kind.order_field}__lt": OuterRef(kind.order_field)},
            status__in=[kind.waiting, kind.working],
        )
        rows = rows.exclude(Exists(earlier))
    return rows


def claim(
    kind: Kind, *, ids: list[int] | None = None, keys: list | None = None, limit: int = 0,
    besides: list[int] | None = None, now=None,
) -> list:  # fmt: skip
    """Claim up to `limit` (the kind's batch) due rows, these `ids` only when given (or rows of
    these `keys` of an in-order kind), never those `besides` (a top-up of rows this worker
    already holds), committed; returns them claimed.

    One statement: `UPDATE ... WHERE id = ANY(ARRAY(SELECT ... FOR UPDATE SKIP LOCKED LIMIT n))
    RETURNING id`, so two workers never take one row and a claim costs one round trip. A
    `held` kind's claim is the rows' locks in the caller's transaction (SKIP LOCKED as well),
    and they come back loaded."""
    if (ids is not None and not ids) or (keys is not None and not keys):
        return []
    now = now or timezone.now()
    model = kind.model
    rows = _claimable(kind, now)
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    if keys is not None:
        rows = rows.filter(**{f"{kind.in_order_of}__in": keys})
    if besides:
        rows = rows.exclude(pk__in=besides)
    rows = rows.order_by("due_at", kind.order_field, "pk")
    if kind.held:
        if not connection.in_atomic_block:
            raise RuntimeError(f"{kind.name}: a held claim needs the work's transaction")
        # A worker that hangs between statements would hold the rows without end (no sweeper
        # sees a lock): PostgreSQL ends its session after the kind's "stale after".
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                [f"{kind.stale_after * 1000}"],
            )
        locked = rows.select_for_update(skip_locked=True, of=("self",))
        if kind.related:
            locked = locked.select_related(*kind.related)
        return list(locked[: limit or kind.batch])
    token = uuid.uuid4()
    picked = rows.values("pk")[: limit or kind.batch]
    quote = connection.ops.quote_name
    pk = quote(model._meta.pk.column)
    with transaction.atomic(savepoint=False):
        select, params = picked.select_for_update(
            skip_locked=True, of=("self",)
        ).query.sql_with_params()
        # Names come from the model, every value is a parameter.
        sql = (
            f"UPDATE {quote(model._meta.db_table)} SET {quote('status')} = %s, "  # noqa: S608
            f"{quote('claimed_at')} = %s, {quote('claim_token')} = %s, "
            f"{quote('handed_at')} = NULL, {quote('attempts')} = {quote('attempts')} + 1 "
            f"WHERE {pk} = ANY(ARRAY({select})) RETURNING {pk}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [kind.working, now, token, *params])
            pks = [row[0] for row in cursor.fetchall()]
    if not pks:
        return []
    claimed = model._default_manager.filter(pk__in=pks, claim_token=token)
    if kind.related:
        claimed = claimed.select_related(*kind.related)
    return list(claimed.order_by("due_at", kind.order_field, "pk"))


def mine(kind: Kind, row):
    """The row, as long as it is still this worker's claim (a held kind's: still waiting, as
    its lock, held by this transaction, is the claim)."""
    rows = kind.model._default_manager.filter(pk=row.pk)
    if kind.held:
        return rows.filter(status=kind.waiting)
    return rows.filter(status=kind.working, claim_token=row.claim_token)


def hand(kind: Kind, row) -> bool:
    """Mark the row handed over, just before its work leaves the house; False when the claim
    is no longer mine (then nothing may leave)."""
    row.handed_at = timezone.now()
    return bool(mine(kind, row).update(handed_at=row.handed_at))


def finish(kind: Kind, row, status: str, *, reason=None, **fields) -> bool:
    """End the row in `status` with its reason and these fields, only while the claim is mine.
    Returns whether it was (a caller inside a transaction ends its work with it)."""
    now = timezone.now()
    values = _reason_values(reason) | _held_attempt(kind, row) | fields
    done = mine(kind, row).update(status=status, finished_at=now, updated_at=now, **values)
    if done:
        row.status, row.finished_at = status, now
        for name, value in values.items():
            setattr(row, name, value)
    return bool(done)


def retry(
    kind: Kind, row, *, reason=None, after: float | None = None, give_up: bool = True, **fields
) -> bool:
    """The work could not be done now: back to waiting after the kind's backoff (or `after`
    seconds), failed with the reason once its attempts are used (unless `give_up` is False:
    work that must get through, such as a change for FMK). Only while the claim is mine."""
    tried = row.attempts + 1 if kind.held else row.attempts
    if give_up and tried >= kind.retry.attempts:
        return finish(kind, row, kind.failed, reason=reason, **fields)
    pause = kind.retry.pause(tried) if after is None else after
    due = timezone.now() + timedelta(seconds=pause)
    values = _reason_values(reason) | _held_attempt(kind, row) | fields
    done = mine(kind, row).update(
        status=kind.waiting, due_at=due, claimed_at=None, claim_token=None, handed_at=None,
        updated_at=timezone.now(), **values,
    )  # fmt: skip
    if done:
        row.status, row.due_at = kind.waiting, due
        transaction.on_commit(lambda: dispatch(kind, [row.pk], countdown=pause))
    return bool(done)


def _held_attempt(kind: Kind, row) -> dict:
    """A held kind counts the attempt as it ends it (its claim wrote nothing)."""
    return {"attempts": row.attempts + 1} if kind.held else {}


def _reason_values(reason) -> dict:
    """The columns of a reason: None leaves them as they are, "" clears them."""
    return {} if reason is None else reason_columns(reason)


# --- The worker's loop --------------------------------------------------------------------------


def work(kind: Kind | str, ids: list[int] | None = None) -> int:
    """Claim and perform: these rows (topped up to a batch with other due ones), or with None
    every due row of the kind, batch after batch; rows of an in-order kind go on with the next
    of the same key. Returns how many rows were claimed."""
    kind = get(kind) if isinstance(kind, str) else kind
    if kind.breaker:
        wait = Breaker(kind.breaker).wait()
        if wait > 0:
            dispatch(kind, ids, countdown=wait)
            return 0
    done = 0
    keys = None
    # A backlog is worked for a while, then handed on to a fresh task (well inside the task's
    # time limit, and fair to the other kinds waiting on the same queue).
    deadline = time.monotonic() + WORK_SECONDS
    while True:
        if ids is None and keys is None and time.monotonic() > deadline:
            dispatch(kind)
            return done
        with transaction.atomic() if kind.held else nullcontext():
            rows = claim(kind, ids=ids if keys is None else None, keys=keys)
            if kind.top_up and ids is not None and keys is None and len(rows) < kind.batch:
                rows += claim(kind, limit=kind.batch - len(rows), besides=[r.pk for r in rows])
                ids = [row.pk for row in rows]
            if rows:
                kind.perform(rows)
        if not rows:
            if keys is not None and ids is None:
                keys = None  # these keys are done: on with any other due rows
                continue
            return done
        done += len(rows)
        if kind.in_order_of:
            keys = sorted({getattr(row, kind.in_order_of) for row in rows})
        elif ids is not None or len(rows) < kind.batch:
            return done


# --- The sweeper ------------------------------------------------------------------------------


def sweep(kind: Kind, *, now=None) -> dict:
    """Take back stale claims and dispatch what is due and waiting; returns the counts."""
    now = now or timezone.now()
    model = kind.model
    stale = model._default_manager.filter(
        status=kind.working, claimed_at__lt=now - timedelta(seconds=kind.stale_after)
    )
    # A claimed row was due when it was claimed: it is due again at once.
    back = {"status": kind.waiting, "claim_token": None, "claimed_at": None}
    counts = {"requeued": stale.filter(handed_at__isnull=True).update(**back)}
    handed = stale.filter(handed_at__isnull=False)
    if callable(kind.stale_handed):
        counts.update(kind.stale_handed(handed))
    elif kind.stale_handed == "again":
        counts["again"] = handed.update(**back, handed_at=None)
    else:
        counts["uncertain"] = handed.update(status=kind.stale_handed, finished_at=now)
    due = model._default_manager.filter(status=kind.waiting, due_at__lte=now)
    counts["dispatched"] = 0
    if due.exists():
        counts["dispatched"] = int(dispatch(kind))
    return counts


def sweep_all(*, now=None) -> dict[str, dict]:
    """Sweep every registered kind (beat)."""
    return {kind.name: sweep(kind, now=now) for kind in all_kinds()}


def breaker_recovered(name: str) -> int:
    """The system behind breaker `name` answers again: the waiting rows of its kinds, pausing
    after failures, are due now and handed to workers. Returns how many were made due."""
    now = timezone.now()
    made_due = 0
    for kind in all_kinds():
        if kind.breaker != name:
            continue
        waiting = kind.model._default_manager.filter(status=kind.waiting)
        made_due += waiting.filter(due_at__gt=now).update(due_at=now)
        if waiting.exists():
            dispatch(kind)
    return made_due


# --- What the queue page shows -------------------------------------------------------------------


def queue_summary() -> list[dict]:
    """Per kind: rows by status, and the oldest waiting row's due time."""
    summary = []
    for kind in all_kinds():
        rows = kind.model._default_manager
        counts = dict(rows.values_list("status").annotate(n=Count("pk")).order_by())
        oldest = rows.filter(status=kind.waiting).aggregate(m=Min("due_at"))["m"]
        summary.append({"kind": kind, "counts": counts, "oldest_waiting": oldest})
    return summary
