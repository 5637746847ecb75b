"""The results are partitioned by year of their report's arrival: each result lands in its
report's year (or the default partition outside the years), the results tab and the trend read
across the years through the gate with its one event, a correction keeps its year and its
history, the database holds every result to its report's arrival, a query bounded by arrival
reads only its years, and beat's task makes next year's."""

from datetime import date, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.models import AccessEvent
from labresults.models import LabReport, LabResult
from labresults.tasks import add_partitions

from .test_results_for_clinicians import receive

pytestmark = pytest.mark.django_db


def year_name(moment) -> str:
    return f"labresults_labresult_y{moment:%Y}"


def partition_of(result_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM labresults_labresult WHERE id = %s", [result_id]
        )
        return cursor.fetchone()[0]


def arrived_days_ago(report: LabReport, days: int, *, make_year: bool = True) -> None:
    """Let the report and its results have arrived `days` ago, as if filed then: the report's
    `created_at` and its results' `arrived_at` move together (a result moves to the year's
    partition), and the foreign key between them is checked at once."""
    with connection.cursor() as cursor:
        if make_year:
            cursor.execute(
                "SELECT labresults_labresult_add_year((now() - make_interval(days => %s))::date)",
                [days],
            )
        cursor.execute(
            """UPDATE labresults_labreport SET created_at = created_at - make_interval(days => %s)
               WHERE id = %s RETURNING created_at""",
            [days, report.pk],
        )
        arrival = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE labresults_labresult SET arrived_at = %s WHERE report_id = %s",
            [arrival, report.pk],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_the_table_is_partitioned_by_year_of_the_reports_arrival(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.partstrat, a.attname FROM pg_partitioned_table p
               JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
               WHERE p.partrelid = 'labresults_labresult'::regclass"""
        )
        assert cursor.fetchone() == ("r", "arrived_at")
        cursor.execute(
            """SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'labresults_labresult'::regclass"""
        )
        names = {row[0] for row in cursor.fetchall()}
    # This year, the next, and the default.
    now = timezone.now()
    next_year = date(now.year + 1, 1, 1)
    assert {year_name(now), year_name(next_year), "labresults_labresult_default"} <= names


def test_a_filed_result_takes_its_reports_arrival_and_lands_in_its_year(cast):
    receive("P1")
    report = LabReport.objects.get(filler_order_number="FP1")
    results = list(LabResult.objects.filter(report=report))
    assert len(results) == 2
    assert {r.arrived_at for r in results} == {report.created_at}
    assert {partition_of(r.pk) for r in results} == {year_name(report.created_at)}
    # A result saved one by one (the admin, a test) takes it too.
    extra = LabResult.objects.create(
        report=report, patient=cast.patient, code="NPU01370", value_text="5", status="final"
    )
    assert extra.arrived_at == report.created_at


def test_the_results_tab_and_the_trend_read_across_the_years_with_one_event(cast, client):
    moments = {"R0": 0, "R1": 400, "R2": 365 * 3, "R3": 365 * 12}  # the last: no year, default
    for n, (control_id, days) in enumerate(moments.items()):
        receive(control_id, sodium=str(136 + n), when=f"2026110{n + 1}080000")
        report = LabReport.objects.get(filler_order_number=f"F{control_id}")
        if days:
            arrived_days_ago(report, days, make_year=days < 3650)
    partitions = {
        control_id: {
            partition_of(pk)
            for pk in LabResult.objects.filter(
                report__filler_order_number=f"F{control_id}"
            ).values_list("pk", flat=True)
        }
        for control_id in moments
    }
    now = timezone.now()
    assert partitions == {
        "R0": {year_name(now)},
        "R1": {year_name(now - timedelta(days=400))},
        "R2": {year_name(now - timedelta(days=365 * 3))},
        "R3": {"labresults_labresult_default"},
    }

    client.force_login(cast.treating_doctor)
    events = AccessEvent.objects.filter(patient_id=cast.patient.pk)
    before = events.count()
    trend = client.get(
        reverse(
            "labresults:trend", kwargs={"patient_id": cast.patient.public_id, "code": "NPU03429"}
        )
    )
    assert trend.status_code == 200
    assert trend.content.decode().count('data-testid="trend-row"') == 4
    assert events.count() == before + 1
    tab = client.get(reverse("labresults:results", kwargs={"patient_id": cast.patient.public_id}))
    assert tab.status_code == 200
    assert [row.code for row in tab.context["table"]["rows"]] == ["NPU03429", "NPU03230"]
    assert events.count() == before + 2

    # Another department's clinician without a relation sees none of them (and nothing was
    # disclosed, so nothing is logged).
    client.force_login(cast.other_doctor)
    refused = client.get(
        reverse(
            "labresults:trend", kwargs={"patient_id": cast.patient.public_id, "code": "NPU03429"}
        )
    )
    assert refused.status_code == 403
    assert events.count() == before + 2


def test_a_correction_keeps_the_year_and_writes_its_history(cast):
    receive("C1", sodium="139")
    report = LabReport.objects.get(filler_order_number="FC1")
    arrived_days_ago(report, 500)
    sodium = LabResult.objects.get(report=report, code="NPU03429")
    year = year_name(timezone.now() - timedelta(days=500))
    assert partition_of(sodium.pk) == year

    # The laboratory corrects the value under the same report key, today.
    receive("C1-corrected", filler="FC1", sodium="131")
    corrected = LabResult.objects.get(pk=sodium.pk)
    assert corrected.value_text == "131"
    assert corrected.arrived_at == sodium.arrived_at
    assert partition_of(sodium.pk) == year
    # Its history keeps the first value and the correction. (Moving the arrival back in
    # `arrived_days_ago` moved the row between partitions, which PostgreSQL does as a delete
    # and an insert, so the first value is there twice; filing never moves a result.)
    history = LabResult.pgh_event_model.objects.filter(pgh_obj_id=sodium.pk).order_by("pgh_id")
    assert [(e.pgh_label, e.value_text) for e in history][-1] == ("update", "131")
    assert {e.value_text for e in history if e.pgh_label == "insert"} == {"139"}


def test_the_database_holds_each_result_to_its_reports_arrival(cast):
    receive("K1")
    report = LabReport.objects.get(filler_order_number="FK1")
    result = LabResult.objects.filter(report=report).first()
    # A result that claims another arrival than its report's is refused.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        LabResult.objects.create(
            report=report,
            patient=cast.patient,
            code="NPU01370",
            value_text="5",
            status="final",
            arrived_at=report.created_at - timedelta(days=1),
        )
    # A report's arrival cannot change under its results.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        LabReport.objects.filter(pk=report.pk).update(
            created_at=report.created_at - timedelta(days=3)
        )
    # The stable key still holds: one result a code in a report.
    with pytest.raises(IntegrityError), transaction.atomic():
        LabResult.objects.create(
            report=report, patient=cast.patient, code=result.code, value_text="1", status="final"
        )


def test_a_query_bounded_by_arrival_reads_only_its_years(cast):
    with connection.cursor() as cursor:
        for days in (400, 800):
            cursor.execute(
                "SELECT labresults_labresult_add_year((now() - make_interval(days => %s))::date)",
                [days],
            )
        cursor.execute(
            """EXPLAIN SELECT * FROM labresults_labresult
               WHERE patient_id = %s AND arrived_at >= date_trunc('year', now())""",
            [cast.patient.pk],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    now = timezone.now()
    assert year_name(now) in plan
    assert year_name(now - timedelta(days=400)) not in plan
    assert year_name(now - timedelta(days=800)) not in plan


def test_beat_makes_next_years_and_a_second_run_changes_nothing(db):
    with connection.cursor() as cursor:
        today = timezone.now().date()
        name = year_name(date(today.year + 3, 1, 1))
        cursor.execute(f"DROP TABLE IF EXISTS {name}")  # noqa: S608 - our own name
        names = add_partitions(years_ahead=3)
        assert names == [year_name(date(today.year + n, 1, 1)) for n in range(4)]
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        assert cursor.fetchone()[0]
        assert add_partitions(years_ahead=3) == names
        assert add_partitions() == names[:2]


def test_the_application_role_makes_a_year_and_nothing_more(db):
    """As production runs it: the application's role, which does not own the results, makes a
    year through the function (which runs with its owner's rights) and cannot empty them."""
    role = "sundhed_app_results_partitions_test"
    far = timezone.now().date().replace(month=1, day=1)
    far = far.replace(year=far.year + 7)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE ON labresults_labresult TO {role}")
        cursor.execute(f"SET ROLE {role}")
        try:
            cursor.execute("SELECT labresults_labresult_add_year(%s)", [far])
            assert cursor.fetchone()[0] == year_name(far)
            with pytest.raises(DatabaseError), transaction.atomic():
                cursor.execute("TRUNCATE labresults_labresult")
        finally:
            cursor.execute("RESET ROLE")
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename = %s", [year_name(far)])
        assert cursor.fetchone()[0] != role
