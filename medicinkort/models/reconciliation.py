"""Medication reconciliation (medicinafstemning) at admission and at discharge."""

import pghistory
from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


@pghistory.track()
class Reconciliation(BaseModel):
    """One reconciliation confirmed by a doctor: FMK's lines and the hospital's orders, line by
    line, on the basis of one card version. Discharge is complete when FMK is updated
    (ajourført) or the doctor has recorded why not."""

    class Kind(models.TextChoices):
        ADMISSION = "admission", _("Admission")
        DISCHARGE = "discharge", _("Discharge")

    class Status(models.TextChoices):
        SENDING = "sending", _("Changes on their way to FMK")
        UPDATED = "updated", _("FMK updated")
        NOT_UPDATED = "not_updated", _("FMK not updated, with a reason")
        CONFLICT = "conflict", _("The card changed on FMK: reconcile again")
        FAILED = "failed", _("FMK refused a change")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="reconciliations"
    )
    care_course = models.ForeignKey(
        "patients.CareCourse", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    card_version = models.CharField(_("card version"), max_length=30, blank=True)
    # The patient's FMK write (its `sequence`) that this one builds on: the last one, when it had
    # not reached FMK at confirmation or reached it after the card was last read. The first write
    # of this reconciliation is then based on that write's answer, not on `card_version`.
    builds_on = models.PositiveIntegerField(_("builds on the queued write"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SENDING
    )
    fmk_updated_at = models.DateTimeField(_("FMK updated"), null=True, blank=True)
    not_updated_reason = models.TextField(_("why FMK was not updated"), blank=True)
    problem = models.TextField(_("problem"), blank=True)

    class Meta:
        verbose_name = _("medication reconciliation")
        verbose_name_plural = _("medication reconciliations")
        ordering = ["-confirmed_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.confirmed_at:%Y-%m-%d %H:%M}"


class ReconciliationLine(models.Model):
    """One decision of a reconciliation, and why: what the epikrise lists."""

    class Decision(models.TextChoices):
        CONTINUE = "continue", _("Continue")
        PAUSE = "pause", _("Pause")
        WITHDRAW = "withdraw", _("Withdraw")
        CHANGE = "change", _("Change")
        NEW = "new", _("New")

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="lines"
    )
    decision = models.CharField(_("decision"), max_length=20, choices=Decision.choices)
    fmk_identifier = models.CharField(_("FMK identifier"), max_length=30, blank=True)
    drug_name = models.CharField(_("drug"), max_length=300)
    atc_code = models.CharField(_("ATC"), max_length=7, blank=True)
    before = models.TextField(_("dosage before"), blank=True)
    after = models.TextField(_("dosage after"), blank=True)
    reason = models.TextField(_("reason"), blank=True)
    order = models.ForeignKey(
        "medicinkort.MedicationOrder", on_delete=models.PROTECT, null=True, blank=True,
        related_name="+",
    )  # fmt: skip

    class Meta:
        verbose_name = _("reconciliation line")
        verbose_name_plural = _("reconciliation lines")

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.drug_name}"
