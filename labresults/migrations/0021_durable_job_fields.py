"""Stored messages and DICOM files become durable jobs of the one engine (outbox): the fields
that mean the same are renamed, so no row loses what it says."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("labresults", "0020_result_time_indexes")]

    operations = [
        migrations.RenameField("inboundmessage", "error", "reason"),
        migrations.RenameField("inboundmessage", "error_template", "reason_template"),
        migrations.RenameField("inboundmessage", "error_params", "reason_params"),
        migrations.RenameField("inboundmessage", "processed_at", "finished_at"),
        migrations.RenameField("dicomobject", "error", "reason"),
        migrations.RenameField("dicomobjectevent", "error", "reason"),
    ]
