"""The access log, partitioned by month of `occurred_at` (docs/scaling.md).

At the regions' size the log grows by 15-20 million rows a day. One partition a month keeps
each month's indexes small, lets a month older than the citizen's window be detached and
archived whole, and lets a query bounded in time read only its months.

- The table is rebuilt as `PARTITION BY RANGE (occurred_at)`, with the same columns, indexes,
  foreign key and append-only trigger (a BEFORE trigger on a partitioned table is cloned to
  every partition, now and later). Its rows are copied over in the migration's transaction.
- The primary key must hold the partition key, so it is (id, occurred_at); ids still come from
  one sequence, so `id` stays unique and Django keeps using it alone.
- The rights other roles held on the old table (the application's SELECT and INSERT, README)
  are given on the new one, with the use of its id sequence; nothing more.
- `audit_accessevent_add_month(day)` makes the month's partition (months in UTC) if it is
  missing. It runs with the rights of the role that ran this migration (SECURITY DEFINER), so
  the application's role, which does not own the log, can make next month's partition and
  nothing else. The migration makes the 24 months before this one, this one and the next 3;
  beat's `audit.add_partitions` keeps 3 months ahead. Rows outside every month (an import of
  older events) land in the default partition.
- It copies the log in its transaction, holding the table for as long as that takes: on a
  large log, run it in a maintenance window.
"""

from django.db import migrations

from common.partitions import add_partition_function_sql, copy_grants_sql

COLUMNS = (
    "id, occurred_at, user_display, role, department_code, department_name, patient_id, "
    "data_kind, object_type, object_id, action, legal_basis, reason, request_id, path, "
    "flagged, user_id"
)

FORWARD = f"""
ALTER TABLE audit_accessevent RENAME TO audit_accessevent_unpartitioned;
ALTER TABLE audit_accessevent_unpartitioned
    RENAME CONSTRAINT audit_accessevent_pkey TO audit_accessevent_unpartitioned_pkey;
ALTER TABLE audit_accessevent_unpartitioned
    RENAME CONSTRAINT audit_accessevent_user_id_368a285a_fk_accounts_user_id
    TO audit_accessevent_unpartitioned_user_fk;
ALTER INDEX audit_accessevent_occurred_at_3fa75ccb RENAME TO audit_accessevent_unpartitioned_at;
ALTER INDEX audit_event_patient_time RENAME TO audit_accessevent_unpartitioned_patient;
ALTER INDEX audit_event_user_time RENAME TO audit_accessevent_unpartitioned_user;

CREATE SEQUENCE audit_accessevent_partitioned_id_seq AS bigint;

CREATE TABLE audit_accessevent (
    id bigint NOT NULL DEFAULT nextval('audit_accessevent_partitioned_id_seq'),
    occurred_at timestamp with time zone NOT NULL,
    user_display varchar(200) NOT NULL,
    role varchar(40) NOT NULL,
    department_code varchar(20) NOT NULL,
    department_name varchar(200) NOT NULL,
    patient_id bigint NULL,
    data_kind varchar(40) NOT NULL,
    object_type varchar(60) NOT NULL,
    object_id varchar(64) NOT NULL,
    action varchar(10) NOT NULL,
    legal_basis varchar(20) NOT NULL,
    reason text NOT NULL,
    request_id varchar(64) NOT NULL,
    path varchar(300) NOT NULL,
    flagged boolean NOT NULL,
    user_id bigint NULL,
    CONSTRAINT audit_accessevent_pkey PRIMARY KEY (id, occurred_at),
    CONSTRAINT audit_accessevent_user_id_368a285a_fk_accounts_user_id FOREIGN KEY (user_id)
        REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE audit_accessevent_partitioned_id_seq OWNED BY audit_accessevent.id;

CREATE INDEX audit_accessevent_occurred_at_3fa75ccb ON audit_accessevent (occurred_at);
CREATE INDEX audit_event_patient_time ON audit_accessevent (patient_id, occurred_at DESC);
CREATE INDEX audit_event_user_time ON audit_accessevent (user_id, occurred_at DESC);

CREATE TABLE audit_accessevent_default PARTITION OF audit_accessevent DEFAULT;

{add_partition_function_sql("audit_accessevent", "month")}

SELECT audit_accessevent_add_month((date_trunc('month', now()) + make_interval(months => m))::date)
FROM generate_series(-24, 3) AS m;

INSERT INTO audit_accessevent ({COLUMNS})
SELECT {COLUMNS} FROM audit_accessevent_unpartitioned;
SELECT setval(
    'audit_accessevent_partitioned_id_seq',
    greatest((SELECT max(id) FROM audit_accessevent_unpartitioned), 0) + 1,
    false
);
{copy_grants_sql(old="audit_accessevent_unpartitioned", new="audit_accessevent", sequence="audit_accessevent_partitioned_id_seq")}
DROP TABLE audit_accessevent_unpartitioned;

CREATE TRIGGER pgtrigger_append_only_718eb BEFORE DELETE OR UPDATE ON audit_accessevent
    FOR EACH ROW EXECUTE FUNCTION pgtrigger_append_only_718eb();
COMMENT ON TRIGGER pgtrigger_append_only_718eb ON audit_accessevent
    IS '907f565a4fbd3b72e98f6ad2b080ccb1395934b3';
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_proxy_kind"), ("accounts", "0001_initial")]

    # Only forward: going back would have to fold months of the log into one table again,
    # which is a task for the database administrators, not a migration.
    operations = [migrations.RunSQL(FORWARD, reverse_sql=migrations.RunSQL.noop)]
