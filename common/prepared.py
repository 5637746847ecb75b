"""Queries the ORM builds once and the pages run again with another row's id.

Building and compiling a queryset of subqueries and JSON objects costs milliseconds of Python
on every request, for SQL text that never changes between patients (bench/results/load.md: the
medication card's one query cost 5-7 ms to build and 1 ms to run). `values_for` compiles the
queryset once per shape, with an id no row has in place of the real one, and then only swaps
that parameter.

A shape is whatever changes the SQL text (a flag, the ids a blocking hides): the builder is
called with it, and it is part of the cache key. The builder must use the id it is given in
exactly the parameters that must change, and nowhere else.
"""

from collections.abc import Callable, Hashable
from functools import lru_cache

from django.db import connections, router
from django.db.models import QuerySet

# An id no row has (ids are positive), standing in for the real one while compiling.
MARK = -7_300_001


@lru_cache(maxsize=256)
def _compiled(build: Callable[..., QuerySet], shape: tuple) -> tuple[type, str, tuple, tuple]:
    queryset = build(MARK, *shape)
    sql, params = queryset.query.sql_with_params()
    marks = tuple(i for i, p in enumerate(params) if type(p) is int and p == MARK)
    if not marks:
        raise ValueError(f"{build.__qualname__} does not use the id it is given")
    return queryset.model, sql, tuple(params), marks


def values_for(build: Callable[..., QuerySet], pk: int, *shape: Hashable) -> list[tuple]:
    """The rows of `build(pk, *shape)`, as tuples in its `values()` order, without building it
    again. Read through the same database the router gives the queryset's model now."""
    model, sql, params, marks = _compiled(build, shape)
    values = list(params)
    for i in marks:
        values[i] = pk
    with connections[router.db_for_read(model)].cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.fetchall()
