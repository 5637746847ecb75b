"""The analysis catalogue: NPU analyses with intervals by sex and age, critical limits, panels."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel


class Analysis(BaseModel):
    """An analysis of the catalogue: NPU code, Danish name, unit, critical limits."""

    code = models.CharField(_("NPU code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=30)
    unit = models.CharField(_("unit"), max_length=40, blank=True)
    decimals = models.PositiveSmallIntegerField(_("decimals"), default=1)
    is_key = models.BooleanField(
        _("key result"), default=False, help_text=_("Shown on the chart's overview.")
    )
    critical_low = models.DecimalField(
        _("critical below"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    critical_high = models.DecimalField(
        _("critical above"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def interval_for(self, *, sex: str, age: int | None):
        """The reference interval for a patient of this sex and age (from prefetched rows)."""
        candidates = [
            interval
            for interval in self.intervals.all()
            if interval.sex in ("", sex)
            and (age is None or interval.age_from <= age)
            and (age is None or interval.age_to is None or age < interval.age_to)
        ]
        # A sex-specific interval wins over one for both sexes.
        candidates.sort(key=lambda interval: interval.sex == "")
        return candidates[0] if candidates else None


class ReferenceInterval(models.Model):
    """A reference interval of an analysis for a sex and an age band (years, to exclusive)."""

    class Sex(models.TextChoices):
        ANY = "", _("Both")
        FEMALE = "F", _("Female")
        MALE = "M", _("Male")

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="intervals")
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True, default="")
    age_from = models.PositiveSmallIntegerField(_("age from (years)"), default=0)
    age_to = models.PositiveSmallIntegerField(_("age to (years)"), null=True, blank=True)
    low = models.DecimalField(_("lower limit"), max_digits=12, decimal_places=3)
    high = models.DecimalField(_("upper limit"), max_digits=12, decimal_places=3)

    class Meta:
        verbose_name = _("reference interval")
        verbose_name_plural = _("reference intervals")
        ordering = ["analysis", "sex", "age_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(high__gte=F("low")), name="labresults_interval_order"
            ),
            models.CheckConstraint(
                condition=Q(age_to__isnull=True) | Q(age_to__gt=F("age_from")),
                name="labresults_interval_ages",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.low}–{self.high}"


class Panel(BaseModel):
    """A set of analyses ordered together (væsketal, levertal, ...)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    analyses = models.ManyToManyField(Analysis, related_name="panels")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("panel")
        verbose_name_plural = _("panels")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
