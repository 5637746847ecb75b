"""A table rebuilt as partitioned keeps the rights other roles held on the old one, those asked
for and no more (`common.partitions.copy_grants_sql`, used by the access log's and the results'
migrations)."""

import pytest
from django.db import connection

from common.partitions import copy_grants_sql

pytestmark = pytest.mark.django_db

ROLE = "sundhed_grants_test_app"


def rights(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT privilege_type FROM information_schema.role_table_grants
               WHERE table_name = %s AND grantee = %s""",
            [table, ROLE],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        (("SELECT", "INSERT"), {"SELECT", "INSERT"}),  # the access log: append-only
        (("SELECT", "INSERT", "UPDATE", "DELETE"), {"SELECT", "INSERT", "UPDATE"}),  # results
    ],
)
def test_the_rights_held_on_the_old_table_are_given_on_the_new(db, asked, expected):
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {ROLE}")
        cursor.execute("CREATE TABLE grants_old (id bigint)")
        cursor.execute("CREATE SEQUENCE grants_new_seq")
        cursor.execute("CREATE TABLE grants_new (id bigint DEFAULT nextval('grants_new_seq'))")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, TRUNCATE ON grants_old TO {ROLE}")
        cursor.execute(
            copy_grants_sql(
                old="grants_old", new="grants_new", sequence="grants_new_seq", privileges=asked
            )
        )
        assert rights("grants_new") == expected
        cursor.execute("SELECT has_sequence_privilege(%s, 'grants_new_seq', 'USAGE')", [ROLE])
        assert cursor.fetchone()[0]
