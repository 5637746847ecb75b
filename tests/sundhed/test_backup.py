"""Backup and restore as docs/operations.md says: a `pg_dump` of the database restored with
`pg_restore` into a fresh database is a working Sundhed with the same access log, and the
restored log still refuses UPDATE and DELETE."""

import os
import subprocess
import sys

import psycopg
import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AccessEvent
from tests.conftest import ROOT, force_login_with_second_factor, postgres_binaries

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dump_restored_into_a_fresh_database_keeps_the_access_log_append_only(
    cast, client, tmp_path
):
    settings = connection.settings_dict
    binaries = postgres_binaries()
    if binaries is None or not str(settings.get("HOST") or "").startswith("/"):
        pytest.skip(
            "the dump is made with the embedded PostgreSQL's tools (DATABASE_URL is external)"
        )
    force_login_with_second_factor(client, cast.treating_doctor)
    assert client.get(reverse("chart:overview", args=[cast.patient.public_id])).status_code == 200
    logged = list(AccessEvent.objects.order_by("id").values_list("id", "patient_id", "data_kind"))
    assert logged
    server = ["-h", settings["HOST"], "-p", str(settings["PORT"]), "-U", settings["USER"]]
    dump, fresh = tmp_path / "sundhed.dump", f"restored_{os.getpid()}"
    subprocess.run(
        [binaries / "pg_dump", *server, "--format=custom", "--file", str(dump), settings["NAME"]],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{fresh}"')
    try:
        subprocess.run(
            [binaries / "pg_restore", *server, "--dbname", fresh, "--no-owner", "--exit-on-error",
             str(dump)],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
        host, port = settings["HOST"], settings["PORT"]
        url = f"postgresql://{settings['USER']}@/{fresh}?host={host}&port={port}"
        with psycopg.connect(url, autocommit=True) as restored:
            rows = restored.execute(
                "SELECT id, patient_id, data_kind FROM audit_accessevent ORDER BY id"
            ).fetchall()
            assert rows == logged
            for change in (
                "UPDATE audit_accessevent SET data_kind = 'x'",
                "DELETE FROM audit_accessevent",
            ):
                with pytest.raises(psycopg.Error):
                    restored.execute(change)
        # A working Sundhed: every migration is there and Django's checks pass on it.
        env = {**os.environ, "DATABASE_URL": url}
        checked = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--check"], cwd=ROOT, env=env,
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
