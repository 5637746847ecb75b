"""Every history row calls `_pgh_attach_context()`. pghistory's own version reads its settings
inside `BEGIN ... EXCEPTION WHEN OTHERS`, which in PL/pgSQL opens a subtransaction on every
call: one per history row. Past 64 subtransactions in one transaction PostgreSQL's snapshots
overflow to pg_subtrans, and a transaction that writes thousands of results (a batch of
laboratory messages) became many times slower than the same rows without history.

This version asks `current_setting(name, missing_ok => true)`, which needs no exception handler,
and treats an empty value (the setting after the transaction that set it) as none. Same answers,
no subtransaction. pghistory installs its function only in its own migrations (0004, 0007;
PGHISTORY_INSTALL_CONTEXT_FUNC_ON_MIGRATE is off), and tests/audit check that ours is in place.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION _pgh_attach_context()
RETURNS pghistory_context.id%TYPE AS $$
    DECLARE
        _pgh_context_id UUID := NULLIF(current_setting('pghistory.context_id', true), '')::uuid;
        _pgh_context_metadata JSONB :=
            NULLIF(current_setting('pghistory.context_metadata', true), '')::jsonb;
    BEGIN
        IF _pgh_context_id IS NULL OR _pgh_context_metadata IS NULL THEN
            RETURN NULL;
        END IF;
        INSERT INTO pghistory_context (id, metadata, created_at, updated_at)
            VALUES (_pgh_context_id, _pgh_context_metadata, NOW(), NOW())
            ON CONFLICT (id) DO UPDATE
                SET metadata = EXCLUDED.metadata, updated_at = EXCLUDED.updated_at
                WHERE pghistory_context.metadata != EXCLUDED.metadata;
        RETURN _pgh_context_id;
    END;
$$ LANGUAGE plpgsql;
"""


def _install(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FUNCTION)


def _restore_pghistory(apps, schema_editor):
    from pghistory.models import Context

    Context.install_pgh_attach_context_func(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_data_kind_choices"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [migrations.RunPython(_install, reverse_code=_restore_pghistory)]
