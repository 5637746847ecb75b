"""Load the bundled drug catalogue and interaction table (medicinkort/data/)."""

from django.db import migrations


def load(apps, schema_editor):
    from medicinkort.catalogue import drugs_load, interactions_load

    drugs_load(model=apps.get_model("medicinkort", "Drug"))
    interactions_load(model=apps.get_model("medicinkort", "Interaction"))


class Migration(migrations.Migration):
    dependencies = [("medicinkort", "0002_medication")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
