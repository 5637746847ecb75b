"""Load the bundled SKS codes and the standard note templates."""

from django.db import migrations


def load(apps, schema_editor):
    from journal.catalogue import sks_load, templates_load

    sks_load(apps.get_model("journal", "SksCode"))
    templates_load(
        apps.get_model("journal", "NoteTemplate"), apps.get_model("journal", "NoteTemplateSection")
    )


class Migration(migrations.Migration):
    dependencies = [("journal", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
