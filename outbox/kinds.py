"""The kinds of durable work, registered by the apps that own them in their `AppConfig.ready()`.

A kind names its table, which of its statuses mean waiting and claimed, and its policy: how
long a claim may stay before the sweeper takes it back, what a stale claim that had already
handed its work over becomes, how often and how far apart it is retried, the circuit breaker of
the outside system it calls, and whether rows of one key (a patient's FMK writes) go strictly
in order. The kind's own step (`perform`) does the work of the rows it is given and finishes
each through `outbox.engine`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import models
from django.utils.functional import Promise


@dataclass(frozen=True)
class Retry:
    """How often a row is tried before it is failed, and the pause between tries (seconds,
    doubling from `first` up to `longest`)."""

    attempts: int = 5
    first: float = 5.0
    longest: float = 300.0

    def pause(self, attempt: int) -> float:
        return min(self.first * 2 ** max(attempt - 1, 0), self.longest)


@dataclass(frozen=True)
class Kind:
    """One kind of durable work and its policy (see the module docstring)."""

    name: str
    model: type[models.Model]
    # perform(rows): do the work of these claimed rows, finishing each (outbox.engine).
    perform: Callable[[list], object]
    label: str | Promise = ""
    waiting: str = "pending"
    working: str = "sending"
    # The statuses in which a row is done with (for the queue page: the rest need a person or
    # are still open).
    failed: str = "failed"
    # The setting that holds how long (seconds) a claim may last before the sweeper takes it.
    stale_after_setting: str = "SUNDHED_OUTBOX_STALE_AFTER"
    # A stale claim whose work had been handed over: "again" (the outside recognises a repeat:
    # the same message id or reference) or the status it becomes ("uncertain" for e-mail).
    # A callable(queryset) -> {outcome: count} decides per row (notifications by channel).
    stale_handed: str | Callable = "again"
    retry: Retry = field(default_factory=Retry)
    # The name of the circuit breaker of the outside system (shared by kinds that call it).
    breaker: str = ""
    # Rows with the same value of this field are done strictly in the order of `order_field`:
    # one is claimed only when no earlier one of its key is open.
    in_order_of: str = ""
    order_field: str = "pk"
    batch: int = 10
    # A worker sent for some rows tops its batch up with other due rows (an inbox under load).
    top_up: bool = False
    # The claim is held, not committed: a row lock taken (SKIP LOCKED) in the transaction in
    # which `perform` does all of the work and ends each row. For work that never leaves the
    # database (an inbox filing what arrived): a killed worker's transaction is rolled back and
    # its rows wait again at once, there is no stale claim to sweep, and the claim costs no
    # write of its own. A row's attempt is counted as it is ended: by `engine.finish` and
    # `engine.retry`, or by a `perform` that ends its rows itself (the inbox), never both.
    # A worker hanging between statements is cut off after `stale_after` (PostgreSQL's
    # idle_in_transaction_session_timeout, set for that transaction).
    held: bool = False
    queue: str = ""
    related: tuple[str, ...] = ()

    @property
    def stale_after(self) -> int:
        return int(getattr(settings, self.stale_after_setting))


_kinds: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Register a kind (from an app's ready()); registering the same name again replaces it."""
    _kinds[kind.name] = kind
    return kind


def get(name: str) -> Kind:
    return _kinds[name]


def all_kinds() -> list[Kind]:
    return sorted(_kinds.values(), key=lambda kind: kind.name)
