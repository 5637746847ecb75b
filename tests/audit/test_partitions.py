"""The access log is partitioned by month: each event lands in its month's partition (or the
default one outside them), the pages that read the log see every month, the gate still writes
its one event, the log stays append-only in every partition, a query bounded in time reads only
its months, and beat's task makes the months ahead."""

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from audit.tasks import add_partitions


def insert_event(patient_id: int, days_ago: int, where: str) -> int:
    """An access as it was then (the log refuses changes, so it is written with its time)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO audit_accessevent (occurred_at, user_display, role, department_code,
                   department_name, patient_id, data_kind, object_type, object_id, action,
                   legal_basis, reason, request_id, path, flagged)
               VALUES (now() - make_interval(days => %s), 'Tidligere Læge', 'laege', '', %s,
                   %s, 'journal', '', '', 'view', 'treatment', '', '', '', false)
               RETURNING id""",
            [days_ago, where, patient_id],
        )
        return cursor.fetchone()[0]


def partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_accessevent WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def month_name(moment) -> str:
    return f"audit_accessevent_y{moment:%Y}m{moment:%m}"


def test_the_table_is_partitioned_by_month_of_occurred_at(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.partstrat, a.attname FROM pg_partitioned_table p
               JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
               WHERE p.partrelid = 'audit_accessevent'::regclass"""
        )
        assert cursor.fetchone() == ("r", "occurred_at")
        cursor.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'audit_accessevent'::regclass"
        )
        # 24 months back, this one, 3 ahead, and the default.
        assert cursor.fetchone()[0] >= 29


def test_events_land_in_their_months_and_every_page_reads_across_them(cast, client):
    now = timezone.now()
    recent = insert_event(cast.patient.pk, 0, "Denne måned")
    last_month = insert_event(cast.patient.pk, 35, "Sidste måned")
    last_year = insert_event(cast.patient.pk, 400, "Sidste år")
    long_ago = insert_event(cast.patient.pk, 365 * 5, "For længe siden")
    assert partition_of(recent) == month_name(now)
    assert partition_of(last_month) == month_name(now - timedelta(days=35))
    assert partition_of(last_year) == month_name(now - timedelta(days=400))
    assert partition_of(long_ago) == "audit_accessevent_default"

    # The ORM reads across the partitions, newest first, and the id alone finds a row.
    rows = list(AccessEvent.objects.filter(patient_id=cast.patient.pk))
    assert [r.pk for r in rows] == [recent, last_month, last_year, long_ago]
    assert AccessEvent.objects.get(pk=last_year).department_name == "Sidste år"

    # The gate writes its one event for a page, and the patient's "who has looked" (the staff
    # page of the log) shows the events of every month.
    client.force_login(cast.treating_doctor)
    before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
    page = client.get(reverse("patients:access_log", kwargs={"patient_id": cast.patient.public_id}))
    assert page.status_code == 200
    body = page.content.decode()
    for where in ("Denne måned", "Sidste måned", "Sidste år"):
        assert where in body
    assert AccessEvent.objects.filter(patient_id=cast.patient.pk).count() == before + 1
    newest = AccessEvent.objects.filter(patient_id=cast.patient.pk).first()
    assert newest.data_kind == "access_log" and partition_of(newest.pk) == month_name(now)


@pytest.mark.parametrize("days_ago", [0, 35, 365 * 5])
def test_every_partition_is_append_only(cast, days_ago):
    event = insert_event(cast.patient.pk, days_ago, "Uændrelig")
    table = partition_of(event)
    for statement in [
        f"UPDATE {table} SET reason = 'changed' WHERE id = %s",  # noqa: S608 - our own name
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
        "UPDATE audit_accessevent SET reason = 'changed' WHERE id = %s",
        "DELETE FROM audit_accessevent WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event])
    assert AccessEvent.objects.get(pk=event).reason == ""


def test_a_query_bounded_in_time_reads_only_its_months(cast):
    with connection.cursor() as cursor:
        cursor.execute(
            """EXPLAIN SELECT * FROM audit_accessevent
               WHERE patient_id = %s AND occurred_at >= now() - interval '40 days'""",
            [cast.patient.pk],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    now = timezone.now()
    assert month_name(now) in plan
    assert month_name(now - timedelta(days=200)) not in plan
    assert month_name(now - timedelta(days=400)) not in plan
    # (The default partition holds whatever lies outside the months, so it is read too.)


def test_beat_makes_the_months_ahead_and_a_second_run_changes_nothing(db):
    with connection.cursor() as cursor:
        ahead = (timezone.now().date().replace(day=1) + timedelta(days=32 * 5)).replace(day=1)
        name = month_name(ahead)
        cursor.execute(f"DROP TABLE IF EXISTS {name}")  # noqa: S608 - our own name
        names = add_partitions(months_ahead=5)
        assert name in names
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        assert cursor.fetchone()[0]
        assert add_partitions(months_ahead=5) == names


def test_the_application_role_writes_and_makes_months_but_changes_nothing(db):
    """As production runs it: the application's role holds only SELECT and INSERT on the log
    (docs/operations.md). It writes events, makes a month's partition through the function
    (which runs with its owner's rights), and can neither change nor remove a row."""
    role = "sundhed_app_partitions_test"
    far = (timezone.now().date().replace(day=1) + timedelta(days=32 * 30)).replace(day=1)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT SELECT, INSERT ON audit_accessevent TO {role}")
        cursor.execute(f"GRANT USAGE ON SEQUENCE audit_accessevent_partitioned_id_seq TO {role}")
        cursor.execute(f"SET ROLE {role}")
        try:
            cursor.execute("SELECT audit_accessevent_add_month(%s)", [far])
            assert cursor.fetchone()[0] == month_name(far)
            event = insert_event(0, 0, "Som applikationen")
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute("DELETE FROM audit_accessevent WHERE id = %s", [event])
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute("TRUNCATE audit_accessevent")
        finally:
            cursor.execute("RESET ROLE")
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [month_name(far)])
        assert cursor.fetchone()[0] != role
