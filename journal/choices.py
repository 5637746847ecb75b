"""The journal's vocabularies, without its models: what a composition may name (a portal rule
per note type, a status to show) without reaching into the journal's tables."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoteType(models.TextChoices):
    """The kinds of note a Danish hospital journal distinguishes."""

    ADMISSION = "admission", _("Admission note (indlæggelsesnotat)")
    CONTINUATION = "continuation", _("Progress note (kontinuationsnotat)")
    OUTPATIENT = "outpatient", _("Outpatient note (ambulant notat)")
    NURSING = "nursing", _("Nursing note (sygeplejenotat)")
    EPIKRISE = "epikrise", _("Discharge summary (epikrise)")


class NoteStatus(models.TextChoices):
    """Where a note version is in its life."""

    DRAFT = "draft", _("Draft")
    AWAITING_COSIGN = "awaiting_cosign", _("Awaiting co-signature")
    SIGNED = "signed", _("Signed")
    SUPERSEDED = "superseded", _("Corrected (older version)")
    ENTERED_IN_ERROR = "entered_in_error", _("Entered in error")
