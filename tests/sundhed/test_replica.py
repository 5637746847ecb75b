"""Reads of chosen pages from a real streaming replica: a second PostgreSQL made from the test
server with pg_basebackup, replaying its WAL. The timeline reads the record there; a clinician's
own write sends the next page to the primary until the replica has replayed it; the gate and
its blockings are read on the primary; the access event is written on the primary, once."""

import os
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from common.db_router import REPLICA, SESSION_LSN
from tests.conftest import _free_port, block, postgres_binaries

# The replica is a mirror: never flushed between tests (it follows the primary).
pytestmark = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])


@pytest.fixture(scope="module")
def streaming_replica(django_db_setup, django_db_blocker):
    """A hot standby of the test server, on its own socket and port, streaming from it."""
    primary = connections["default"].settings_dict
    socket_dir = primary.get("HOST") or ""
    binaries = postgres_binaries()
    if not socket_dir.startswith("/") or binaries is None:
        pytest.skip("the replica is made from the embedded PostgreSQL (DATABASE_URL is external)")
    owner = Path(socket_dir).stat().st_uid if os.getuid() == 0 else None
    as_owner = {"user": owner} if owner is not None else {}
    home = Path(tempfile.mkdtemp(prefix="sundhed-replica-"))
    data, sockets = home / "data", home / "sockets"
    sockets.mkdir()
    if owner is not None:
        for path in (home, sockets):
            os.chown(path, owner, -1)
    port = _free_port()
    # No fixed timeout: a loaded machine copies slowly. The copy may take a second per megabyte
    # of the cluster, and a minute besides (at worst, as measured on a busy 2-core machine).
    with django_db_blocker.unblock():
        seconds = 60 + _cluster_megabytes()
    subprocess.run(
        [binaries / "pg_basebackup", "-h", socket_dir, "-p", str(primary["PORT"]),
         "-U", primary["USER"], "-D", str(data), "-X", "stream", "-R", "-c", "fast"],
        check=True, capture_output=True, timeout=seconds, **as_owner,
    )  # fmt: skip
    subprocess.run(
        [binaries / "pg_ctl", "-D", str(data), "-w", "-t", str(int(seconds)),
         "-l", str(home / "replica.log"),
         "-o", f"-p {port} -k {sockets} -h '' -c shared_buffers=64MB -c hot_standby=on",
         "start"],
        check=True, capture_output=True, timeout=seconds + 10, **as_owner,
    )  # fmt: skip
    settings = {**primary, "HOST": str(sockets), "PORT": str(port), "TEST": {"MIRROR": "default"}}
    connections.settings[REPLICA] = settings
    try:
        yield settings
    finally:
        connections[REPLICA].close()
        del connections.settings[REPLICA]
        subprocess.run(
            [binaries / "pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True, timeout=60, **as_owner,
        )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def _cluster_megabytes() -> float:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT sum(pg_database_size(datname)) FROM pg_database")
        return float(cursor.fetchone()[0]) / 2**20


def replica_sql(sql: str, params=()):
    with connections[REPLICA].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def caught_up() -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position = cursor.fetchone()[0]
    # A deadline that moves while the replica makes progress: slow under load is not stuck.
    deadline, replayed = time.monotonic() + 30, None
    while True:
        done, now_at = replica_sql(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn, pg_last_wal_replay_lsn()::text",
            [position],
        )
        if done:
            return
        if now_at != replayed:
            deadline, replayed = time.monotonic() + 30, now_at
        assert time.monotonic() < deadline, "the replica stopped replaying"
        time.sleep(0.05)


def record_queries(connection_name: str):
    return CaptureQueriesContext(connections[connection_name])


def note(cast, title: str, course=None):
    from journal.services import note_create, note_sign
    from patients.access import access_decide

    access = access_decide(user=cast.treating_doctor, patient=cast.patient, data_kind="journal")
    made = note_create(
        access=access, note_type="continuation", title=title, text="Stuegang.",
        care_course=course,
    )  # fmt: skip
    note_sign(access=access, note=made)
    return made


def timeline(cast):
    return reverse("chart:timeline", kwargs={"patient_id": cast.patient.public_id})


def test_the_timeline_reads_the_record_from_the_replica(cast, client, streaming_replica):
    assert replica_sql("SELECT pg_is_in_recovery()")[0]
    note(cast, "Replikeret notat")
    caught_up()
    client.force_login(cast.treating_doctor)
    events_before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
    with record_queries(REPLICA) as on_replica, record_queries("default") as on_primary:
        page = client.get(timeline(cast))
    assert page.status_code == 200 and "Replikeret notat" in page.content.decode()
    replica_tables = " ".join(q["sql"] for q in on_replica.captured_queries)
    assert "journal_note" in replica_tables
    primary_tables = " ".join(q["sql"] for q in on_primary.captured_queries)
    # The gate decided on the primary, and wrote its one event there.
    assert "patients_patient" in primary_tables and 'INSERT INTO "audit_accessevent"' in (
        primary_tables
    )
    assert "journal_note" not in primary_tables
    assert AccessEvent.objects.filter(patient_id=cast.patient.pk).count() == events_before + 1
    # A page not chosen for the replica reads only the primary.
    with record_queries(REPLICA) as on_replica:
        client.get(reverse("chart:overview", kwargs={"patient_id": cast.patient.public_id}))
    assert on_replica.captured_queries == []


def test_a_clinicians_own_write_is_never_missing_from_the_next_page(
    cast, client, streaming_replica
):
    client.force_login(cast.treating_doctor)
    caught_up()
    measured_before = client.get(timeline(cast)).content.decode().count("NEWS2")
    caught_up()
    replica_sql("SELECT pg_wal_replay_pause()")
    try:
        # The clinician records vital signs: the write's position goes into the session.
        saved = client.post(
            reverse("journal:vitals", kwargs={"patient_id": cast.patient.public_id}),
            {"respiration_rate": 31, "spo2": 97, "systolic": 128, "diastolic": 78,
             "pulse": 72, "consciousness": "A", "temperature": "37,1"},
        )  # fmt: skip
        assert saved.status_code in (200, 302)
        assert client.session.get(SESSION_LSN)
        # The paused replica has not replayed it: the timeline reads from the primary.
        with record_queries(REPLICA) as on_replica:
            page = client.get(timeline(cast))
        assert page.status_code == 200
        assert page.content.decode().count("NEWS2") > measured_before  # the new one is there
        assert all("pg_last_wal_replay_lsn" in q["sql"] for q in on_replica.captured_queries)
    finally:
        replica_sql("SELECT pg_wal_replay_resume()")
    caught_up()
    with record_queries(REPLICA) as on_replica:
        client.get(timeline(cast))
    assert any("journal_" in q["sql"] for q in on_replica.captured_queries)


def test_a_blocking_hides_at_once_though_the_replica_lags(cast, client, streaming_replica):
    from patients.services import care_course_create

    secret = care_course_create(
        patient=cast.patient, department=cast.orthopaedics, kind="outpatient",
        title="Hemmeligt knæforløb", started_at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    caught_up()
    client.force_login(cast.treating_doctor)
    assert "Hemmeligt knæforløb" in client.get(timeline(cast)).content.decode()
    replica_sql("SELECT pg_wal_replay_pause()")
    try:
        block(cast, care_course=secret)  # on the primary; the replica has not seen it
        assert not replica_sql(
            "SELECT EXISTS (SELECT 1 FROM patients_blocking WHERE care_course_id = %s)",
            [secret.pk],
        )[0]
        # The page reads the course from the replica, and the gate's blocking, read on the
        # primary, hides it.
        with record_queries(REPLICA) as on_replica:
            page = client.get(timeline(cast)).content.decode()
        assert any("patients_carecourse" in q["sql"] for q in on_replica.captured_queries)
        assert "Hemmeligt knæforløb" not in page
    finally:
        replica_sql("SELECT pg_wal_replay_resume()")
