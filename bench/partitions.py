"""What partitions of the results by arrival cost a patient's pages: the queries the overview,
the results tab and a trend run for a patient with ten years of results, on the real table (one
partition a year) beside the same rows partitioned by month and in one unpartitioned table,
each with the same indexes, side by side in one run. Around the patient, 100 other patients
with ten years each fill the same years and months, as many patients would.

The queries are the application's own: captured from the pages as the clinician opens them,
then each run N times on every table (the table's name swapped in the SQL) under
`EXPLAIN (ANALYZE, BUFFERS)`, which gives planning time, execution time and pages read.
Results go to bench/results/partitions.{json,md}.
"""

import json
import platform
import re
import statistics
from pathlib import Path

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.partitions import periods_from

RESULTS = Path(__file__).resolve().parent / "results"
TABLE = "labresults_labresult"
MONTHLY = "bench_labresult_monthly"
FLAT = "bench_labresult_unpartitioned"
# Ten years of reports with one sodium each, arriving when sampled: about 100 a month.
SIZE = {"years": 10, "notes": 50, "courses": 40, "vitals": 50, "results": 12_000}
NEIGHBOURS = {"patients": 100, "years": 10, "results": 1_200}
CPR = "0101700013"
# The table's name in a query, quoted by the ORM or bare in a raw query.
NAMED = re.compile(rf"(?<![\w\"]){TABLE}(?![\w\"])|(?<=\"){TABLE}(?=\")")


def _build(cpr: str, name: str, size: dict, doctor):
    from patients.models import Patient
    from sundhed.testing.factories import history_build

    patient = Patient.objects.filter(cpr=cpr).first()
    if patient is None:
        patient = Patient.objects.create(
            cpr=cpr, given_names=name, family_name="Benchmark", birth_date=timezone.localdate()
        )
        history_build(
            patient,
            department=doctor.active_department,
            author=doctor,
            years=size["years"],
            courses=size.get("courses", 1),
            notes=size.get("notes", 0),
            vitals=size.get("vitals", 0),
            results=size["results"],
        )
    return patient


def _spread_over_years(patient_ids: list[int]) -> int:
    """Let the patients' reports have arrived when they were sampled (and their results with
    them), making each year's partition first. Returns the number of partitions."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """SELECT labresults_labresult_add_year(year::date) FROM generate_series(
                   date_trunc('year', (SELECT min(observed_at) FROM labresults_labreport
                                       WHERE patient_id = ANY(%s))),
                   date_trunc('year', now()), interval '1 year') AS year""",
            [patient_ids],
        )
        cursor.execute(
            """UPDATE labresults_labreport SET created_at = observed_at
               WHERE patient_id = ANY(%s) AND created_at <> observed_at""",
            [patient_ids],
        )
        cursor.execute(
            f"""UPDATE {TABLE} r SET arrived_at = report.created_at
                FROM labresults_labreport report
                WHERE report.id = r.report_id AND r.patient_id = ANY(%s)
                  AND r.arrived_at <> report.created_at""",  # noqa: S608 - constant
            [patient_ids],
        )
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [TABLE])
        return cursor.fetchone()[0]


def _indexes(cursor, table: str) -> None:
    cursor.execute(f"CREATE UNIQUE INDEX ON {table} (report_id, code, arrived_at)")
    cursor.execute(f"CREATE INDEX ON {table} (patient_id, code, observed_at DESC)")
    cursor.execute(f"CREATE INDEX ON {table} (public_id)")
    cursor.execute(f"CREATE INDEX ON {table} (patient_id, observed_at DESC)")
    cursor.execute(f"CREATE INDEX ON {table} (patient_id, observed_at DESC) WHERE is_critical")


def _copies() -> int:
    """The same rows by month and in one table, with the same indexes; returns the months."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {FLAT}, {MONTHLY}")
        cursor.execute(f"CREATE TABLE {FLAT} AS SELECT * FROM {TABLE}")  # noqa: S608 - constant
        cursor.execute(f"ALTER TABLE {FLAT} ADD PRIMARY KEY (id)")
        _indexes(cursor, FLAT)
        cursor.execute(
            f"CREATE TABLE {MONTHLY} (LIKE {TABLE} INCLUDING DEFAULTS) "
            "PARTITION BY RANGE (arrived_at)"
        )
        cursor.execute(f"SELECT min(arrived_at) FROM {TABLE}")  # noqa: S608 - constant
        first, today = cursor.fetchone()[0].date(), timezone.now().date()
        count = (today.year - first.year) * 12 + today.month - first.month + 1
        months = periods_from(first, count + 1, "month")
        for start, end in zip(months, months[1:], strict=False):
            cursor.execute(
                f"CREATE TABLE {MONTHLY}_{start:%Y%m} PARTITION OF {MONTHLY} "
                f"FOR VALUES FROM ('{start} 00:00+00') TO ('{end} 00:00+00')"
            )
        cursor.execute(f"CREATE TABLE {MONTHLY}_default PARTITION OF {MONTHLY} DEFAULT")
        cursor.execute(f"ALTER TABLE {MONTHLY} ADD PRIMARY KEY (id, arrived_at)")
        _indexes(cursor, MONTHLY)
        cursor.execute(f"INSERT INTO {MONTHLY} SELECT * FROM {TABLE}")  # noqa: S608 - constant
        for table in (TABLE, MONTHLY, FLAT):
            cursor.execute(f"ANALYZE {table}")
    return count + 1


def _explain(sql: str, runs: int) -> dict:
    planning, execution, buffers = [], [], 0
    with connection.cursor() as cursor:
        for _ in range(runs):
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0][0]
            planning.append(plan["Planning Time"])
            execution.append(plan["Execution Time"])
            top = plan["Plan"]
            buffers = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
    return {
        "planning_ms": round(statistics.median(planning), 3),
        "execution_ms": round(statistics.median(execution), 3),
        "buffers": buffers,
    }


def run(*, requests: int = 300) -> dict:
    from allauth.mfa.models import Authenticator

    from accounts.models import User
    from organisation.models import StaffMember
    from sundhed.demo.seed import seed_demo
    from sundhed.testing.factories import sign_in_with_second_factor

    seed_demo()
    doctor = StaffMember.objects.select_related("user", "active_department").get(
        user__username="laege"
    )
    # A real clinician has a second factor: the gate checks for it on every request.
    Authenticator.objects.get_or_create(
        user=doctor.user,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": "JBSWY3DPEHPK3PXP"}},
    )
    from sundhed.testing.factories import cpr_for

    patient = _build(CPR, "Månedlig", SIZE, doctor)
    neighbours = [
        _build(cpr_for(700_000 + n)[0], f"Nabo {n}", NEIGHBOURS, doctor)
        for n in range(NEIGHBOURS["patients"])
    ]
    partitions = _spread_over_years([patient.pk, *(n.pk for n in neighbours)])
    months = _copies()

    client = Client(HTTP_HOST="localhost")
    sign_in_with_second_factor(client, User.objects.get(pk=doctor.user_id))
    pages = {
        "overview": reverse("chart:overview", kwargs={"patient_id": patient.public_id}),
        "results tab": reverse("labresults:results", kwargs={"patient_id": patient.public_id}),
        "trend": reverse(
            "labresults:trend", kwargs={"patient_id": patient.public_id, "code": "NPU03429"}
        ),
    }
    runs = max(requests // 10, 10)
    rows = []
    for page, url in pages.items():
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200, url
        for query in captured.captured_queries:
            sql = query["sql"]
            if not NAMED.search(sql):
                continue
            rows.append(
                {
                    "page": page,
                    "query": sql[:90],
                    "yearly": _explain(sql, runs),
                    "monthly": _explain(NAMED.sub(MONTHLY, sql), runs),
                    "flat": _explain(NAMED.sub(FLAT, sql), runs),
                }
            )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {FLAT}, {MONTHLY}")
    report = {
        "when": timezone.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
        "size": SIZE,
        "neighbours": NEIGHBOURS,
        "partitions": {"yearly": partitions, "monthly": months},
        "runs": runs,
        "queries": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "partitions.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "partitions.md").write_text(_markdown(report))
    print(_markdown(report))
    return report


KINDS = {"yearly": "by year", "monthly": "by month", "flat": "one table"}


def _markdown(report: dict) -> str:
    rows = report["queries"]
    size, neighbours = report["size"], report["neighbours"]
    lines = [
        "# Results partitioned by arrival: what a patient's pages pay",
        "",
        f"{report['when']} on {report['machine']}. A patient with {size['results']:,} results",
        f"over {size['years']} years among {neighbours['patients']} patients with "
        f"{neighbours['results']:,} each, all arriving when sampled; the same rows by year",
        f"({report['partitions']['yearly']} partitions, the real table), by month "
        f"({report['partitions']['monthly']}) and in one table, with the same indexes. Each",
        "query of the pages as the application ran it, median of "
        f"{report['runs']} runs of EXPLAIN ANALYZE.",
        "",
        "| page | query | "
        + " | ".join(f"{label}: plan + run ms | buffers" for label in KINDS.values())
        + " |",
        "|---|---|" + "---:|---:|" * len(KINDS),
    ]
    for row in rows:
        query = " ".join(row["query"].split()).replace("|", "\\|")[:60]
        cells = " | ".join(
            f"{row[kind]['planning_ms']} + {row[kind]['execution_ms']} | {row[kind]['buffers']}"
            for kind in KINDS
        )
        lines.append(f"| {row['page']} | `{query}…` | {cells} |")
    totals = " | ".join(
        f"{sum(r[kind]['planning_ms'] for r in rows):.1f} + "
        f"{sum(r[kind]['execution_ms'] for r in rows):.1f} | "
        f"{sum(r[kind]['buffers'] for r in rows)}"
        for kind in KINDS
    )
    lines += [f"| all | | {totals} |", ""]
    return "\n".join(lines)
