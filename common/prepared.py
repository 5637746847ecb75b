"""Queries the ORM builds once and the pages run again with other values.

Building and compiling a queryset costs Python time on every request (a queryset of subqueries
and JSON objects, milliseconds), for SQL text that does not change between patients and users:
the medication card's one query cost 6.6 ms of CPU to build and 0.2 ms to run. Here a queryset
is built and compiled once per shape, with marker values standing in for the real ones; each
call then only puts the real values where the markers were, runs the SQL and turns the rows
into values or model instances as the ORM would (its converters, `select_related`,
annotations).

- The values that change from call to call (a patient's id, the user's, now) are passed by
  name, and the builder receives a marker for each: an int, a datetime, a date or a UUID no
  row has. Each marker must reach the SQL as a parameter, unchanged, or compiling raises.
- A shape is whatever changes the SQL text (a flag, how many departments): the builder is
  called with it, and it is part of the cache key. The builder must not read anything else
  that changes (the clock, settings, the request), nor compute from a marker (now minus a grace
  period would be frozen in the SQL: compiling refuses a parameter near a marker). The access
  gate's decision does both, and is not compiled this way.
- The SQL runs on the database the router gives the model at the time of the call.
- Only what it can compile faithfully: a queryset with `prefetch_related` (queries of its own)
  or `select_for_update` (a lock belongs in a transaction) is refused when it is compiled.
  Deferred fields (`only`, `defer`: the note lists leave out the text) come out deferred, as
  from the ORM; the test below compares them too.
- Every builder is registered (`@builder`); `tests/sundhed/test_prepared.py` runs every one
  compiled and plain through the chart's pages and compares the rows. A Django upgrade runs that
  test first: this module reads the compiler's internals.
"""

from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model, QuerySet

# Django's internals, which this module reads on purpose (its test runs first on an upgrade).
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

# Ids are positive: these are no row's.
MARK = -7_300_001

Value = int | datetime | date | UUID


def _marker(kind: type, k: int) -> Value:
    if kind is int:
        return MARK - k
    if kind is datetime:
        return datetime(1901, 1, 1, 0, 0, 0, k + 1, tzinfo=UTC)
    if kind is date:
        return date(1901, 1, 1) + timedelta(days=k)
    if kind is UUID:
        return UUID(int=0x5EED_0000_0000_0000 + k)
    raise TypeError(f"no marker for {kind.__name__}")


def _near_marker(param) -> bool:
    if type(param) is int:
        return abs(param - MARK) < 1_000_000
    if type(param) in (datetime, date):
        return param.year < 1903
    if type(param) is UUID:
        return abs(param.int - 0x5EED_0000_0000_0000) < 1_000_000
    return False


BUILDERS: dict[str, Callable[..., QuerySet]] = {}
# While a list (a test): every call, as (how, builder, shape, values), to be run again plainly.
RECORD: list | None = None


def builder(build: Callable[..., QuerySet]) -> Callable[..., QuerySet]:
    """Register a builder of a query that `objects_for` and `rows_for` compile once."""
    BUILDERS[_name(build)] = build
    return build


def _name(build) -> str:
    return f"{build.__module__}.{build.__qualname__}"


def _refuse_what_is_not_compiled_faithfully(queryset: QuerySet) -> None:
    if queryset._prefetch_related_lookups:  # type: ignore[attr-defined]
        raise ValueError("prefetch_related runs queries of its own: it is not compiled here")
    if queryset.query.select_for_update:
        raise ValueError("select_for_update belongs in a transaction, not in a compiled read")


class Prepared:
    """A compiled query: its SQL and parameters, where each value goes, and its compiler."""

    def __init__(self, queryset: QuerySet, markers: dict[str, Value]):
        _refuse_what_is_not_compiled_faithfully(queryset)
        self.model = queryset.model
        self.queryset = queryset
        self.compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        self.sql, params = self.compiler.as_sql()
        self.params = tuple(params)
        self.slots = tuple(
            (i, name)
            for i, param in enumerate(self.params)
            for name, marker in markers.items()
            if type(param) is type(marker) and param == marker
        )
        taken = {i for i, _name in self.slots}
        derived = [p for i, p in enumerate(self.params) if i not in taken and _near_marker(p)]
        if derived:
            # A value computed from a marker (now minus a grace period) would be frozen in the
            # SQL: pass it as a value of its own.
            raise ValueError(f"the SQL takes values computed from a marker: {derived}")
        missing = set(markers) - {name for _i, name in self.slots}
        if missing:
            raise ValueError(f"the SQL does not take {sorted(missing)} as parameters")

    def rows(self, values: dict[str, Value]) -> list[tuple]:
        params = list(self.params)
        for i, name in self.slots:
            params[i] = values[name]
        with connections[router.db_for_read(self.model)].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        # The ORM's converters (JSON, dates, decimals), as for the queryset itself.
        return list(self.compiler.results_iter(results=[fetched], tuple_expected=True))


@lru_cache(maxsize=512)
def _prepared(build: Callable[..., QuerySet], kinds: tuple, shape: tuple) -> Prepared:
    markers = {name: _marker(kind, k) for k, (name, kind) in enumerate(kinds)}
    return Prepared(build(*shape, **markers), markers)


def _prepare(build, shape, values, how: str) -> Prepared:
    if _name(build) not in BUILDERS:
        raise ValueError(f"{_name(build)} is not registered with @common.prepared.builder")
    if RECORD is not None:
        RECORD.append((how, build, tuple(shape), dict(values)))
    kinds = tuple((name, type(value)) for name, value in sorted(values.items()))
    return _prepared(build, kinds, tuple(shape))


def rows_for(build: Callable[..., QuerySet], *shape: Hashable, **values: Value) -> list[tuple]:
    """The rows of `build(*shape, **values)`, a `values()` or `values_list()` queryset, as
    tuples in its columns' order, without building it again."""
    return _prepare(build, shape, values, "rows").rows(values)


def objects_for(build: Callable[..., QuerySet], *shape: Hashable, **values: Value) -> list:
    """The model instances of `build(*shape, **values)`, with its `select_related` objects and
    annotations, without building it again."""
    prepared = _prepare(build, shape, values, "objects")
    rows = prepared.rows(values)
    compiler = prepared.compiler
    select, klass_info = compiler.select, compiler.klass_info
    db = router.db_for_read(prepared.model)
    model_cls: type[Model] = klass_info["model"]
    fields = klass_info["select_fields"]
    start, end = fields[0], fields[-1] + 1
    names = [f[0].target.attname for f in select[start:end]]
    populators = get_related_populators(klass_info, select, db)
    annotations = compiler.annotation_col_map.items()
    found = []
    for row in rows:
        obj = model_cls.from_db(db, names, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, position in annotations:
            setattr(obj, name, row[position])
        found.append(obj)
    return found
