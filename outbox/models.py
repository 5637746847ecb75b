"""The shape of every durable job: a row saved first, claimed by a worker, retried, swept.

Each table of durable work inherits `DurableJob` and keeps its own `status` choices; its kind
(`outbox.kinds.Kind`) names which status means waiting and which means claimed. The engine
(`outbox.engine`) is the only code that moves a row between them.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.reasons import Reason


def reason_columns(reason) -> dict:
    """A reason's three columns: as said (a NUL byte, which PostgreSQL cannot store, as U+FFFD),
    and, for a `Reason` we wrote, its template and values."""
    return {
        "reason": str(reason).replace("\x00", "\ufffd")[:10_000],
        "reason_template": getattr(reason, "template", ""),
        "reason_params": getattr(reason, "params", {}),
    }


class DurableJob(models.Model):
    """A unit of durable work: waiting until `due_at`, claimed (`claimed_at` with a token that
    only the claiming worker holds), handed over to the outside (`handed_at`, set just before
    the call leaves), finished (`finished_at`), with its attempts and the last reason."""

    status = models.CharField(_("status"), max_length=20)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When it may next be tried: at once, when planned (a reminder), or after a backoff.
    due_at = models.DateTimeField(_("due"), default=timezone.now, db_default=Now())
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    handed_at = models.DateTimeField(_("handed over"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The reason as said (plain text, as it was written) and, for reasons we wrote, the
    # template and its values, shown in the reader's language.
    reason = models.TextField(_("reason"), blank=True, default="", db_default="")
    reason_template = models.TextField(
        _("reason (template)"), blank=True, default="", db_default=""
    )
    reason_params = models.JSONField(_("reason (values)"), default=dict, blank=True, db_default={})

    class Meta:
        abstract = True

    @property
    def reason_shown(self) -> str:
        """Why, in the reader's language where the reason is one we wrote."""
        if not self.reason_template:
            return self.reason
        return Reason(self.reason_template, **self.reason_params).shown()


class Notification(DurableJob):
    """A message to a patient on one channel (e-mail or SMS), sent once.

    An SMS carries the row's id as the gateway's reference, so a send repeated after a worker
    died is recognised by the gateway and not delivered twice. An e-mail cannot be taken back
    or recognised: one a dead worker had handed over is marked "perhaps sent", never resent.
    `delivery` is what the gateway (or the mail server) last said.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("Planned")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        UNCERTAIN = "uncertain", _("Perhaps sent (the sender stopped)")
        SKIPPED = "skipped", _("Not sent")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    gateway_id = models.CharField(max_length=100, blank=True)
    delivery = models.CharField(_("delivery"), max_length=20, blank=True)
    delivery_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def delivery_text(self) -> str:
        return str(
            {
                "accepted": _("accepted by the gateway"),
                "delivered": _("delivered"),
                "undeliverable": _("could not be delivered"),
                "smtp-accepted": _("accepted by the mail server"),
            }.get(self.delivery, self.delivery)
        )
