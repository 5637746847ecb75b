"""FMK writes and card reads become durable jobs of the one engine (outbox): the fields that mean
the same are renamed, so no row loses what it says; the read's own reason (why it was asked) is
its occasion, as `reason` is now why a job ended as it did."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("medicinkort", "0004_read_status_reading")]

    operations = [
        migrations.RenameField("fmkwrite", "sending_since", "claimed_at"),
        migrations.RenameField("fmkwrite", "last_error", "reason"),
        migrations.RenameField("fmkwrite", "sent_at", "finished_at"),
        migrations.RenameField("cardread", "reason", "occasion"),
        migrations.RenameField("cardread", "error", "reason"),
    ]
