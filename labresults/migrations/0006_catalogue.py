"""Load the bundled analysis catalogue and panels."""

from django.db import migrations


def load(apps, schema_editor):
    from labresults.catalogue import analyses_load

    analyses_load(
        apps.get_model("labresults", "Analysis"),
        apps.get_model("labresults", "ReferenceInterval"),
        apps.get_model("labresults", "Panel"),
    )


class Migration(migrations.Migration):
    dependencies = [("labresults", "0005_analysis_inboxitem_inboxitemevent_laborder_and_more")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
