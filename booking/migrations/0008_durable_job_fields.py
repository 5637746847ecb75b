"""Reminders and offer messages become durable jobs of the one engine (outbox): the fields that
mean the same are renamed, so no row loses what it says."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("booking", "0007_outbox")]

    operations = [
        migrations.RenameField("reminder", "sent_at", "finished_at"),
        migrations.RenameField("reminder", "error", "reason"),
        migrations.RenameField("offermessage", "sent_at", "finished_at"),
        migrations.RenameField("offermessage", "error", "reason"),
    ]
