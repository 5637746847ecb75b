"""CAVE entries name who marked them in error as a staff member, as notes and diagnoses do.

The column held user ids; each becomes the id of that user's staff member. Done in SQL through a
new column, so that no foreign-key check is pending while the table is altered. The history
rows (pghistory) get the same mapping, so an old event names the same person as before.
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
ALTER TABLE patients_caveentry ADD COLUMN error_by_staff_id bigint NULL;
UPDATE patients_caveentry c SET error_by_staff_id = s.id
  FROM organisation_staffmember s WHERE s.user_id = c.error_by_id;
ALTER TABLE patients_caveentry DROP COLUMN error_by_id;
ALTER TABLE patients_caveentry RENAME COLUMN error_by_staff_id TO error_by_id;
ALTER TABLE patients_caveentry ADD CONSTRAINT patients_caveentry_error_by_id_staff_fk
  FOREIGN KEY (error_by_id) REFERENCES organisation_staffmember (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX patients_caveentry_error_by_id_staff ON patients_caveentry (error_by_id);
-- Dropping the old column dropped the check that names it: the same check again.
ALTER TABLE patients_caveentry ADD CONSTRAINT patients_cave_error_has_who_and_why CHECK (
  NOT (status = 'entered_in_error')
  OR (error_by_id IS NOT NULL AND NOT (error_reason = '') AND error_at IS NOT NULL)
);
"""

# Back: the staff member's user again, and the foreign key to users.
BACKWARD = """
ALTER TABLE patients_caveentry ADD COLUMN error_by_user_id bigint NULL;
UPDATE patients_caveentry c SET error_by_user_id = s.user_id
  FROM organisation_staffmember s WHERE s.id = c.error_by_id;
ALTER TABLE patients_caveentry DROP COLUMN error_by_id;
ALTER TABLE patients_caveentry RENAME COLUMN error_by_user_id TO error_by_id;
ALTER TABLE patients_caveentry ADD CONSTRAINT patients_caveentry_error_by_id_user_fk
  FOREIGN KEY (error_by_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX patients_caveentry_error_by_id_user ON patients_caveentry (error_by_id);
ALTER TABLE patients_caveentry ADD CONSTRAINT patients_cave_error_has_who_and_why CHECK (
  NOT (status = 'entered_in_error')
  OR (error_by_id IS NOT NULL AND NOT (error_reason = '') AND error_at IS NOT NULL)
);
"""


def history_rows_to_user(apps, schema_editor):
    import pgtrigger

    with (
        pgtrigger.ignore("patients.CaveEntryEvent:append_only"),
        schema_editor.connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE patients_caveentryevent e SET error_by_id = s.user_id "
            "FROM organisation_staffmember s WHERE s.id = e.error_by_id"
        )


def history_rows_to_staff(apps, schema_editor):
    """The same mapping for the history rows, which are otherwise never changed."""
    import pgtrigger

    with (
        pgtrigger.ignore("patients.CaveEntryEvent:append_only"),
        schema_editor.connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE patients_caveentryevent e SET error_by_id = s.id "
            "FROM organisation_staffmember s WHERE s.user_id = e.error_by_id"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("organisation", "0001_initial"),
        ("patients", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="caveentry",
                    name="error_by",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="organisation.staffmember",
                    ),
                ),
            ],
        ),
        migrations.RunPython(history_rows_to_staff, history_rows_to_user),
        migrations.AlterField(
            model_name="caveentryevent",
            name="error_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="organisation.staffmember",
            ),
        ),
    ]
