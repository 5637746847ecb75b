"""Orders not yet sent (their send was a task of its own before) get the durable row of their
sending, so the outbox sends them; sent ones get theirs as sent."""

import uuid

from django.db import migrations


def forwards(apps, schema_editor):
    LabOrder = apps.get_model("labresults", "LabOrder")
    LabOrderMessage = apps.get_model("labresults", "LabOrderMessage")
    rows = []
    for order in LabOrder.objects.all().only("pk", "sent_at", "status", "ordered_at"):
        if order.sent_at is not None:
            status, finished = "sent", order.sent_at
        elif order.status == "ordered":
            status, finished = "pending", None
        else:
            continue
        rows.append(
            LabOrderMessage(
                order_id=order.pk, status=status, finished_at=finished, due_at=order.ordered_at,
                public_id=uuid.uuid4(),
            )
        )
    LabOrderMessage.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("labresults", "0022_durable_jobs")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
