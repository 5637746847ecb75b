"""Results partitioned by year of their report's arrival (docs/scaling.md).

At the regions' size 50-80 million results arrive a year. A partition a year keeps each year's
indexes apart and lets old years be moved to cheaper storage or archived whole.

- By year, not by month: results are read by patient across all their years (the latest value
  of each analysis, a ten-year trend), never bounded by time, so every partition is planned and
  searched on every such query. Measured side by side on a patient with ten years of results
  (bench/results/partitions.md): by month (122 partitions) the pages' result queries took
  58.3 ms to plan and 30.2 ms to run; by year (13) 6.6 + 11.9; in one table 1.7 + 10.2. The log
  is read bounded in time, so it stays by month.
- The key is `arrived_at`, the report's `created_at`, new on each result. The sample time
  (`observed_at`) cannot be the key: it may be missing, and a correction may change it. A
  result of an old report that arrives today goes to its report's year.
- A unique key must hold the partition key, so the stable key is (report, code, arrived_at),
  as strict as (report, code) because the arrival belongs to the report; a foreign key on
  (report_id, arrived_at) to the report's (id, created_at) holds every result to it, and
  refuses a change of a report's `created_at` under its results. The primary key is
  (id, arrived_at): ids still come from one sequence, so `id` stays unique and Django keeps
  using it alone. `public_id` keeps an index, without a constraint (a version 4 UUID).
- The history triggers (pghistory), the indexes and the foreign keys are on the parent and so
  on every partition, now and later. The rights other roles held on the old table are given on
  the new one, with the use of its id sequence.
- `labresults_labresult_add_year(day)` (common/partitions.py) makes a year's partition; the
  migration makes those from the first report's year to next year, and beat's
  `labresults.add_partitions` keeps next year's ready. Rows outside every year land in the
  default partition.
- It copies the results in its transaction, holding the table for as long as that takes: on
  a large database, run it in a maintenance window.
"""

import uuid

import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models

from common.partitions import add_partition_function_sql, copy_grants_sql

COLUMNS = (
    "id, public_id, created_at, updated_at, code, name, coding_system, value_numeric, "
    "value_text, unit, reference_range, flag, status, observed_at, patient_id, report_id, "
    "flag_computed, is_critical"
)

FORWARD = f"""
ALTER TABLE labresults_labresult RENAME TO labresults_labresult_unpartitioned;
ALTER TABLE labresults_labresult_unpartitioned
    RENAME CONSTRAINT labresults_labresult_pkey TO labresults_labresult_unpartitioned_pkey;
ALTER TABLE labresults_labresult_unpartitioned
    RENAME CONSTRAINT labresults_labresult_public_id_key TO labresults_labresult_unpartitioned_uuid;
ALTER TABLE labresults_labresult_unpartitioned
    RENAME CONSTRAINT labresults_result_stable_key TO labresults_labresult_unpartitioned_key;
ALTER INDEX labresults_result_series RENAME TO labresults_labresult_unpartitioned_series;

CREATE SEQUENCE labresults_labresult_partitioned_id_seq AS bigint;

CREATE TABLE labresults_labresult (
    id bigint NOT NULL DEFAULT nextval('labresults_labresult_partitioned_id_seq'),
    public_id uuid NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    code varchar(60) NOT NULL,
    name varchar(200) NOT NULL,
    coding_system varchar(30) NOT NULL,
    value_numeric numeric(18, 6) NULL,
    value_text text NOT NULL,
    unit varchar(40) NOT NULL,
    reference_range varchar(60) NOT NULL,
    flag varchar(10) NOT NULL,
    status varchar(12) NOT NULL,
    observed_at timestamp with time zone NULL,
    patient_id bigint NOT NULL,
    report_id bigint NOT NULL,
    flag_computed boolean NOT NULL,
    is_critical boolean NOT NULL,
    arrived_at timestamp with time zone NOT NULL,
    CONSTRAINT labresults_labresult_pkey PRIMARY KEY (id, arrived_at),
    CONSTRAINT labresults_result_stable_key UNIQUE (report_id, code, arrived_at),
    CONSTRAINT labresults_labresult_patient_id_99bebd8c_fk_patients_patient_id
        FOREIGN KEY (patient_id) REFERENCES patients_patient (id) DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT labresults_labresult_report_id_d2508686_fk_labresult
        FOREIGN KEY (report_id) REFERENCES labresults_labreport (id)
        DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT labresults_result_arrival_is_reports
        FOREIGN KEY (report_id, arrived_at) REFERENCES labresults_labreport (id, created_at)
        DEFERRABLE INITIALLY DEFERRED
) PARTITION BY RANGE (arrived_at);
ALTER SEQUENCE labresults_labresult_partitioned_id_seq OWNED BY labresults_labresult.id;

CREATE INDEX labresults_result_series ON labresults_labresult (patient_id, code, observed_at DESC);
CREATE INDEX labresults_labresult_public_id_8b3201ae ON labresults_labresult (public_id);

CREATE TABLE labresults_labresult_default PARTITION OF labresults_labresult DEFAULT;

{add_partition_function_sql("labresults_labresult", "year")}

SELECT labresults_labresult_add_year(year::date)
FROM generate_series(
    date_trunc('year', least(
        (SELECT min(created_at) FROM labresults_labreport) AT TIME ZONE 'UTC',
        now() AT TIME ZONE 'UTC'
    )),
    date_trunc('year', now() AT TIME ZONE 'UTC') + interval '1 year',
    interval '1 year'
) AS year;

INSERT INTO labresults_labresult ({COLUMNS}, arrived_at)
SELECT {", ".join(f"r.{c}" for c in COLUMNS.split(", "))}, report.created_at
FROM labresults_labresult_unpartitioned r
JOIN labresults_labreport report ON report.id = r.report_id;
SELECT setval(
    'labresults_labresult_partitioned_id_seq',
    greatest((SELECT max(id) FROM labresults_labresult_unpartitioned), 0) + 1,
    false
);
{
    copy_grants_sql(
        old="labresults_labresult_unpartitioned",
        new="labresults_labresult",
        sequence="labresults_labresult_partitioned_id_seq",
        privileges=("SELECT", "INSERT", "UPDATE", "DELETE"),
    )
}
DROP TABLE labresults_labresult_unpartitioned;

CREATE TRIGGER pgtrigger_insert_insert_0285d AFTER INSERT ON labresults_labresult
    FOR EACH ROW EXECUTE FUNCTION pgtrigger_insert_insert_0285d();
COMMENT ON TRIGGER pgtrigger_insert_insert_0285d ON labresults_labresult
    IS '8fda18dacbcdb67a8fac796c742dcaf822b06124';
"""


class Migration(migrations.Migration):
    dependencies = [
        ("labresults", "0018_history_without_reference_indexes"),
        ("patients", "0004_proxy"),
    ]

    # Only forward: going back would fold the years into one table again, which is a task
    # for the database administrators, not a migration.
    operations = [
        migrations.AddConstraint(
            model_name="labreport",
            constraint=models.UniqueConstraint(
                fields=("id", "created_at"), name="labresults_report_arrival"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                pgtrigger.migrations.RemoveTrigger(model_name="labresult", name="update_update"),
                migrations.RemoveConstraint(
                    model_name="labresult", name="labresults_result_stable_key"
                ),
                migrations.AddField(
                    model_name="labresult",
                    name="arrived_at",
                    field=models.DateTimeField(editable=False, verbose_name="report arrived"),
                    preserve_default=False,
                ),
                migrations.AlterField(
                    model_name="labresult",
                    name="public_id",
                    field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
                ),
                migrations.AddConstraint(
                    model_name="labresult",
                    constraint=models.UniqueConstraint(
                        fields=("report", "code", "arrived_at"),
                        name="labresults_result_stable_key",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop),
            ],
        ),
        # The history of a change, now without the arrival (it never changes); made on the
        # new table (the old trigger went with the old table).
        pgtrigger.migrations.AddTrigger(
            model_name="labresult",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition='WHEN (OLD."code" IS DISTINCT FROM (NEW."code") OR OLD."coding_system" IS DISTINCT FROM (NEW."coding_system") OR OLD."created_at" IS DISTINCT FROM (NEW."created_at") OR OLD."flag" IS DISTINCT FROM (NEW."flag") OR OLD."flag_computed" IS DISTINCT FROM (NEW."flag_computed") OR OLD."id" IS DISTINCT FROM (NEW."id") OR OLD."is_critical" IS DISTINCT FROM (NEW."is_critical") OR OLD."name" IS DISTINCT FROM (NEW."name") OR OLD."observed_at" IS DISTINCT FROM (NEW."observed_at") OR OLD."patient_id" IS DISTINCT FROM (NEW."patient_id") OR OLD."public_id" IS DISTINCT FROM (NEW."public_id") OR OLD."reference_range" IS DISTINCT FROM (NEW."reference_range") OR OLD."report_id" IS DISTINCT FROM (NEW."report_id") OR OLD."status" IS DISTINCT FROM (NEW."status") OR OLD."unit" IS DISTINCT FROM (NEW."unit") OR OLD."updated_at" IS DISTINCT FROM (NEW."updated_at") OR OLD."value_numeric" IS DISTINCT FROM (NEW."value_numeric") OR OLD."value_text" IS DISTINCT FROM (NEW."value_text"))',
                    func='INSERT INTO "labresults_labresultevent" ("code", "coding_system", "created_at", "flag", "flag_computed", "id", "is_critical", "name", "observed_at", "patient_id", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "public_id", "reference_range", "report_id", "status", "unit", "updated_at", "value_numeric", "value_text") VALUES (NEW."code", NEW."coding_system", NEW."created_at", NEW."flag", NEW."flag_computed", NEW."id", NEW."is_critical", NEW."name", NEW."observed_at", NEW."patient_id", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."public_id", NEW."reference_range", NEW."report_id", NEW."status", NEW."unit", NEW."updated_at", NEW."value_numeric", NEW."value_text"); RETURN NULL;',
                    hash="4d071ffb841dcba15ea528cf6ecb7b154126e4f0",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_fd4c2",
                    table="labresults_labresult",
                    when="AFTER",
                ),
            ),
        ),
    ]
