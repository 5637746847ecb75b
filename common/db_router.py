"""Reads of chosen pages from a streaming replica of PostgreSQL (docs/scaling.md).

Only when a replica is configured (`DATABASE_REPLICA_URL`): the database alias "replica".

- Which pages: `SUNDHED_REPLICA_PAGES` (URL names), only GET and HEAD. Everything else reads
  from the primary, and every write goes to the primary.
- What a page reads there: the patient record's tables (`REPLICA_APPS`). Sessions, accounts,
  second factors and the organisation stay on the primary: a sign-in just made must not be
  missing on the replica.
- The gate decides on the primary: the patient's look-up, blockings, break the glass and the
  care relation are read inside `primary()`, so a blocking made a moment ago hides at once,
  and the access event is written on the primary before the response leaves.
- Read your own writes: after a request that may have written (any other method than GET,
  HEAD, OPTIONS), the primary's WAL position goes into the session. A page goes to the
  replica only when the replica has replayed past it, and only when the replica is not
  lagging: it is streaming from the primary now (a replica cut off from the primary has
  "replayed all it received" forever), and it has replayed all it received or its last replay
  is under 5 s old. Its connection gives up after 2 s; then the primary answers.
"""

import contextlib
import contextvars
import logging

from django.conf import settings
from django.db import DatabaseError, connections

log = logging.getLogger(__name__)

REPLICA = "replica"
SESSION_LSN = "_sundhed_primary_lsn"
SAFE_METHODS = ("GET", "HEAD")
# The tables a page read from the replica may read there: the record, its results and its log.
REPLICA_APPS = frozenset({"journal", "labresults", "chart", "patients", "audit", "medicinkort"})
MAX_LAG_SECONDS = 5

_reading_from = contextvars.ContextVar("sundhed_reading_from", default="default")


def replica_configured() -> bool:
    return REPLICA in connections.settings


@contextlib.contextmanager
def primary():
    """Read from the primary inside this block, whatever the page."""
    token = _reading_from.set("default")
    try:
        yield
    finally:
        _reading_from.reset(token)


class ReplicaRouter:
    """Reads of the record go where the page's middleware said; all else to the primary."""

    def db_for_read(self, model, **hints):
        if _reading_from.get() == REPLICA and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return "default"

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaMiddleware:
    """Route the chosen pages' reads to the replica when it has the user's latest writes; keep
    the primary's position after a request that may have written."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        token = None
        if request.method in SAFE_METHODS and self._chosen(request) and self._caught_up(request):
            token = _reading_from.set(REPLICA)
            request.reads_from_replica = True
        try:
            response = self.get_response(request)
        finally:
            if token is not None:
                _reading_from.reset(token)
        # A signed-in user's write (a lab system's API call has no session to keep it in).
        user = getattr(request, "user", None)
        if request.method not in (*SAFE_METHODS, "OPTIONS") and user and user.is_authenticated:
            self._remember_position(request)
        return response

    @staticmethod
    def _chosen(request) -> bool:
        from django.urls import Resolver404, resolve

        try:
            name = resolve(request.path_info).view_name
        except Resolver404:
            return False
        return name in settings.SUNDHED_REPLICA_PAGES

    @staticmethod
    def _caught_up(request) -> bool:
        position = request.session.get(SESSION_LSN) if hasattr(request, "session") else None
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(
                    """SELECT pg_is_in_recovery(),
                              %s::pg_lsn IS NULL OR pg_last_wal_replay_lsn() >= %s::pg_lsn,
                              EXISTS (SELECT 1 FROM pg_stat_wal_receiver
                                      WHERE status = 'streaming')
                              AND (pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                                   OR now() - pg_last_xact_replay_timestamp()
                                      < make_interval(secs => %s))""",
                    [position, position, MAX_LAG_SECONDS],
                )
                in_recovery, has_my_writes, not_lagging = cursor.fetchone()
        except DatabaseError:
            log.warning("the replica did not answer; reading from the primary")
            return False
        return bool(in_recovery and has_my_writes and not_lagging)

    @staticmethod
    def _remember_position(request) -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_current_wal_lsn()::text")
                request.session[SESSION_LSN] = cursor.fetchone()[0]
        except DatabaseError:
            request.session.pop(SESSION_LSN, None)
