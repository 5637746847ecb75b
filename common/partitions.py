"""Tables partitioned by time (docs/scaling.md): the SQL their migrations share, and the
partitions made ahead by beat.

A table `T` partitioned by month (the access log) has a function `T_add_month(day)` that makes
the partition of `day`'s month (`T_yYYYYmMM`) when it is missing; one partitioned by year (the
results) has `T_add_year(day)` (`T_yYYYY`). Periods are cut in UTC. The function runs with the
rights of the role that ran the migration (SECURITY DEFINER), so the application's role, which
does not own the table, can make the next period's partition and nothing more.

The migrations call these functions to build their SQL: what they return must never change for
the same arguments, or an old migration would mean something else.
"""

from datetime import date

from django.db import connection

# Periods made ahead of the current one, by unit.
AHEAD = {"month": 3, "year": 1}
_NAME = {
    "month": "'{table}_y' || to_char(first, 'YYYY') || 'm' || to_char(first, 'MM')",
    "year": "'{table}_y' || to_char(first, 'YYYY')",
}


def add_partition_function_sql(table: str, unit: str = "month") -> str:
    """`CREATE FUNCTION {table}_add_{unit}(day date)`, which makes the period's partition."""
    return f"""
CREATE OR REPLACE FUNCTION {table}_add_{unit}(day date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    first date := date_trunc('{unit}', day)::date;
    name text := {_NAME[unit].format(table=table)};
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF {table} FOR VALUES FROM (%L) TO (%L)',
            name, first::timestamp AT TIME ZONE 'UTC',
            (first + interval '1 {unit}')::timestamp AT TIME ZONE 'UTC'
        );
    END IF;
    RETURN name;
END
$$;
"""  # noqa: S608 - names are the migrations' own constants, never input


def copy_grants_sql(
    *, old: str, new: str, sequence: str, privileges: tuple[str, ...] = ("SELECT", "INSERT")
) -> str:
    """Give on `new` the `privileges` that other roles hold on `old` (the application's role,
    README), with the use of `sequence` to those that insert; nothing more. The access log's
    are SELECT and INSERT (it is append-only); the results' add UPDATE (corrected in place)."""
    wanted = ", ".join(f"'{p}'" for p in privileges)
    return f"""
DO $$
DECLARE
    granted record;
BEGIN
    FOR granted IN
        SELECT grantee, privilege_type FROM information_schema.role_table_grants
        WHERE table_schema = current_schema() AND table_name = '{old}'
          AND grantee <> current_user AND privilege_type IN ({wanted})
    LOOP
        EXECUTE format(
            'GRANT %s ON {new} TO %s', granted.privilege_type,
            CASE WHEN granted.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(granted.grantee) END
        );
        IF granted.privilege_type = 'INSERT' THEN
            EXECUTE format(
                'GRANT USAGE ON SEQUENCE {sequence} TO %s',
                CASE WHEN granted.grantee = 'PUBLIC' THEN 'PUBLIC'
                     ELSE quote_ident(granted.grantee) END
            );
        END IF;
    END LOOP;
END
$$;
"""  # noqa: S608 - names are the migrations' own constants, never input


def periods_from(first: date, count: int, unit: str) -> list[date]:
    """The first days of `count` months or years from `first`'s on."""
    if unit == "year":
        return [date(first.year + n, 1, 1) for n in range(count)]
    start = first.year * 12 + first.month - 1
    return [date((start + n) // 12, (start + n) % 12 + 1, 1) for n in range(count)]


def add_partitions(table: str, unit: str, *, today: date, ahead: int | None = None) -> list[str]:
    """Make `table`'s partitions of `today`'s period and the `ahead` after it where they are
    missing (idempotent). Returns the partitions' names."""
    names = []
    with connection.cursor() as cursor:
        for first in periods_from(today, (AHEAD[unit] if ahead is None else ahead) + 1, unit):
            cursor.execute(f"SELECT {table}_add_{unit}(%s)", [first])
            names.append(cursor.fetchone()[0])
    return names
