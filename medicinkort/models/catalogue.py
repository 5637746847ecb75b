"""The drug catalogue and the interaction table, bundled in `medicinkort/data/`."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


class Drug(BaseModel):
    """A drug product as the hospital orders it: name, substance, ATC, form, strength, route."""

    name = models.CharField(_("name"), max_length=200)
    substance = models.CharField(_("active substance"), max_length=200)
    atc_code = models.CharField(_("ATC"), max_length=7, db_index=True)
    form_code = models.CharField(_("form code"), max_length=20, blank=True)
    form_text = models.CharField(_("form"), max_length=100)
    strength = models.CharField(_("strength"), max_length=60, blank=True)
    route_code = models.CharField(_("route code"), max_length=5, blank=True)
    route_text = models.CharField(_("route"), max_length=60, blank=True)
    unit_singular = models.CharField(_("dose unit"), max_length=30, blank=True)
    unit_plural = models.CharField(_("dose unit, plural"), max_length=30, blank=True)
    # Medicinpriser's drug id, where known; FMK accepts a drug named without one.
    drug_id = models.CharField(_("drug id"), max_length=20, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("drug")
        verbose_name_plural = _("drugs")
        ordering = ["name", "strength"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "strength", "form_code"], name="medicinkort_drug_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.strength} {self.form_text}".strip()


class Interaction(BaseModel):
    """A drug-drug interaction, in the shape of the Danish interaction database: two ATC codes
    (a class code matches every drug under it), severity, mechanism, advice."""

    class Severity(models.TextChoices):
        AVOID = "bør undgås", _("should be avoided")
        CAUTION = "forsigtighed", _("caution")
        OK = "kan anvendes", _("can be used")

    atc_a = models.CharField(_("ATC A"), max_length=7)
    substance_a = models.CharField(_("substance A"), max_length=100)
    atc_b = models.CharField(_("ATC B"), max_length=7)
    substance_b = models.CharField(_("substance B"), max_length=100)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices)
    mechanism = models.TextField(_("mechanism"))
    advice = models.TextField(_("advice"))

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["substance_a", "substance_b"]
        constraints = [
            models.UniqueConstraint(fields=["atc_a", "atc_b"], name="medicinkort_interaction_pair")
        ]

    def __str__(self) -> str:
        return f"{self.substance_a} + {self.substance_b} ({self.severity})"

    def matches(self, first: str, second: str) -> bool:
        """Whether two drugs' ATC codes are this pair (either way round)."""
        return (first.startswith(self.atc_a) and second.startswith(self.atc_b)) or (
            first.startswith(self.atc_b) and second.startswith(self.atc_a)
        )
