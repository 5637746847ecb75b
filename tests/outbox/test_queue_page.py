"""One admin page lists every kind's queue: rows by status and the oldest waiting; it shows
no patient, so it writes no access event."""

from django.urls import reverse

from audit.models import AccessEvent
from outbox import kinds
from tests.booking.test_reminders import soon


def test_the_queue_page_lists_every_kind_with_its_counts_and_writes_no_event(cast, clinic, client):
    from accounts.models import User
    from booking.services import reminders

    soon(cast, clinic)
    reminders.reminders_plan()
    client.force_login(User.objects.create_superuser("root", "root@test.sundhed.dk", "x-pw-1234"))
    page = client.get(reverse("admin:outbox_queues"))
    assert page.status_code == 200
    html = page.content.decode()
    for kind in kinds.all_kinds():
        assert f'data-kind="{kind.name}"' in html
    assert "pending: 2" in html and "skipped: 2" in html
    assert not AccessEvent.objects.exists()
    client.force_login(cast.treating_doctor)  # no admin access: no queue page
    assert client.get(reverse("admin:outbox_queues")).status_code in (302, 403)


def test_every_kind_of_durable_work_names_its_rows_in_admin_and_logs():
    """A row's name is what admin lists and a log line says (the card read's once raised)."""
    import contextlib

    from django.core.exceptions import ObjectDoesNotExist

    from outbox import kinds

    for kind in kinds.all_kinds():
        fields = {}
        if hasattr(kind.model, "occasion"):
            fields["occasion"] = "demand"
        row = kind.model(**fields)
        # A name that needs a related row it has not got yet may say so; nothing else raises.
        with contextlib.suppress(ObjectDoesNotExist):
            assert str(row)
