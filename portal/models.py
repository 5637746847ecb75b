"""Models of portal: when the citizen sees a result or a note (release rules, kept in admin)."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from journal.choices import NoteType


class ResultReleaseRule(BaseModel):
    """How long after it is reported a result of one analysis group (the laboratory's section:
    CH, HM, SP, GE, CT ...) is shown to the citizen; the rule without a section is for every
    group without one of its own. An inpatient's result may wait for the discharge."""

    section = models.CharField(
        _("section"), max_length=10, unique=True, blank=True,
        help_text=_("The laboratory's diagnostic section (OBR-24), e.g. SP for pathology. "
                    "Empty: every section without a rule of its own."),
    )  # fmt: skip
    name = models.CharField(_("analysis group"), max_length=100)
    delay_days = models.PositiveSmallIntegerField(
        _("shown after (days)"), validators=[MaxValueValidator(365)]
    )
    inpatient_at_discharge = models.BooleanField(
        _("an inpatient's results at discharge"), default=True,
        help_text=_("Results sampled during an admission are shown when the patient is "
                    "discharged (and not before the delay has passed)."),
    )  # fmt: skip

    class Meta:
        verbose_name = _("release rule for results")
        verbose_name_plural = _("release rules for results")
        ordering = ["section"]

    def __str__(self) -> str:
        return f"{self.name} ({self.section or '*'}): {self.delay_days}"

    def save(self, *args, **kwargs):
        # Laboratories send sections in capitals; a rule typed "sp" must still match "SP".
        self.section = self.section.strip().upper()
        super().save(*args, **kwargs)


class NoteReleaseRule(BaseModel):
    """Whether, and how long after it is signed, a note of one type is shown to the citizen.
    Drafts are never shown."""

    note_type = models.CharField(
        _("note type"), max_length=20, unique=True, choices=NoteType.choices
    )
    released = models.BooleanField(_("shown to the citizen"), default=True)
    delay_days = models.PositiveSmallIntegerField(
        _("shown after (days)"), default=0, validators=[MaxValueValidator(365)]
    )

    class Meta:
        verbose_name = _("release rule for notes")
        verbose_name_plural = _("release rules for notes")
        ordering = ["note_type"]

    def __str__(self) -> str:
        return f"{self.note_type}: {self.delay_days if self.released else '-'}"
