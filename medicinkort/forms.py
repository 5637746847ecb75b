"""Forms of medicinkort: an order (ordination), an administration, a reconciliation."""

import uuid
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from medicinkort.models import Administration, Drug, MedicationOrder, ReconciliationLine
from medicinkort.services.orders import times_from_text


def warning_reasons(form: forms.Form) -> dict[str, str]:
    """The reasons a form was answered with against the checks' warnings: fields `warn:<key>`,
    as the warnings name them (known only once the checks ran, so not fields of the form)."""
    return {
        name[5:]: value.strip()
        for name, value in form.data.items()
        if name.startswith("warn:") and value.strip()
    }


class OrderForm(forms.Form):
    """Order a drug from the catalogue."""

    drug = forms.ModelChoiceField(
        queryset=Drug.objects.filter(is_active=True), label=_("Drug"), to_field_name="public_id"
    )
    dose_text = forms.CharField(label=_("Dosage"), max_length=500)
    schedule = forms.ChoiceField(
        label=_("Schedule"), choices=MedicationOrder.Schedule.choices,
        initial=MedicationOrder.Schedule.FIXED,
    )  # fmt: skip
    times = forms.CharField(
        label=_("Times"), required=False,
        help_text=_("HH:MM, separated by spaces; empty: proposed from the dosage "
                    "(“3 gange dagligt” is 08:00 14:00 20:00)"),
    )  # fmt: skip
    quantity = forms.DecimalField(
        label=_("Dose at each time"), required=False, min_value=Decimal("0.001"),
        max_digits=10, decimal_places=3, localize=True,
        help_text=_("Empty: the number the dosage starts with, else 1"),
    )  # fmt: skip
    every_days = forms.TypedChoiceField(
        label=_("Rhythm"), coerce=int, required=False, empty_value=None,
        choices=[("", _("As the dosage says")), (1, _("Every day")),
                 (2, _("Every other day")), (7, _("Once a week"))],
    )  # fmt: skip
    start = forms.DateField(label=_("From"), required=False, localize=True)
    end = forms.DateField(label=_("Until"), required=False, localize=True)
    taper = forms.CharField(
        label=_("Taper"), required=False, max_length=200,
        help_text=_("Days and the dose at each time, step by step: “3 dage: 2; 3 dage: 1”"),
    )  # fmt: skip
    pn_max_per_day = forms.IntegerField(
        label=_("At most a day (PN)"), required=False, min_value=1, max_value=24
    )
    indication = forms.CharField(label=_("Indication"), max_length=300, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from django.urls import reverse

        # Typing the dosage proposes its times ("3 gange dagligt": 08:00 14:00 20:00) in the
        # times field, until the clinician writes times of their own there.
        self.fields["dose_text"].widget.attrs.update({
            "hx-get": reverse("medicinkort:dosage_proposal"), "hx-target": "#id_times",
            "hx-swap": "outerHTML", "hx-trigger": "input changed delay:300ms",
            "hx-include": "#id_times, #id_times_proposed",
        })  # fmt: skip
        # FMK's coded indications are offered as one types (medicinkort_tags.indication_options).
        self.fields["indication"].widget.attrs["list"] = "fmk-indications"

    def clean_times(self) -> list[str]:
        return self.cleaned_data["times"].replace(",", " ").split()

    def clean(self):
        """A taper has its own days and doses: a rhythm, a dose or an until beside it would
        be dropped, so it is refused instead."""
        data = super().clean() or {}
        if data.get("taper") and (
            data.get("every_days") or data.get("quantity") or data.get("end")
        ):
            self.add_error("taper", _("A taper has its own days and doses: leave the rhythm, "
                                      "the dose at each time and until empty."))  # fmt: skip
        return data

    def dosage(self):
        """The structured dosage the form describes (services.dosage_propose); its problems
        are the service's to name."""
        from medicinkort.services.orders import dosage_propose

        data, drug = self.cleaned_data, self.cleaned_data["drug"]
        return dosage_propose(
            data["dose_text"], start=data["start"] or timezone.localdate(),
            times=data["times"] or None, every_days=data["every_days"],
            quantity=data["quantity"], end=data["end"], taper=data["taper"],
            as_needed=data["schedule"] == MedicationOrder.Schedule.PN,
            pn_max=data["pn_max_per_day"], unit_singular=drug.unit_singular,
            unit_plural=drug.unit_plural,
        )  # fmt: skip


class AdministrationForm(forms.Form):
    """Record one administration."""

    status = forms.ChoiceField(label=_("Status"), choices=Administration.Status.choices)
    due_at = forms.DateTimeField(label=_("Due"), required=False)
    dose_given = forms.DecimalField(
        label=_("Dose given"), required=False, min_value=0, max_digits=10, decimal_places=3,
        localize=True, widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )  # fmt: skip
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
    # Where the round was recorded from, to go back to it (its view and patient).
    view = forms.ChoiceField(choices=[(v, v) for v in ("now", "day", "stay")], required=False)
    patient = forms.UUIDField(required=False)

    def round_url(self) -> str:
        """The medication round as it was shown (as far as the form tells it)."""
        from urllib.parse import urlencode

        from django.urls import reverse

        data = getattr(self, "cleaned_data", {})
        query = {k: str(data[k]) for k in ("view", "patient") if data.get(k)}
        return reverse("medicinkort:mar") + (f"?{urlencode(query)}" if query else "")


class DrugField(forms.ModelChoiceField):
    """A drug of the list by its public id; anything else is "choose from the list"."""

    def to_python(self, value):
        if value not in self.empty_values:
            try:
                uuid.UUID(str(value))
            except ValueError:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice"
                ) from None
        return super().to_python(value)


class ReconcileForm(forms.Form):
    """A reconciliation as posted: per line of the FMK card its decision, new dosage and reason;
    at discharge, the hospital orders to put on FMK; up to three new drugs with dosage and
    reason; and the reasons given against warnings (`warn:<key>`, as the warnings name them).
    Its `decisions()` are what the service confirms."""

    NEW_ROWS = (1, 2, 3)

    card_version = forms.CharField(required=False)
    # The patient's queue of FMK writes as the page showed it (selectors.Queue.position).
    queue_position = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args, lines=(), orders=(), kind="admission", **kwargs):
        super().__init__(*args, **kwargs)
        self.lines, self.kind = list(lines), kind
        self.new_orders = [o for o in orders if not o.fmk_identifier] if kind == "discharge" else []
        decisions = [(v, label) for v, label in ReconciliationLine.Decision.choices if v != "new"]
        for line in self.lines:
            key = line.identifier
            self.fields[f"decision-{key}"] = forms.ChoiceField(
                label=line.drug_name, choices=decisions, required=False
            )
            self.fields[f"dose-{key}"] = forms.CharField(
                label=_("Dosage"), max_length=500, required=False
            )
            self.fields[f"reason-{key}"] = forms.CharField(
                label=_("Reason"), max_length=500, required=False
            )
        for order in self.new_orders:
            # Stop it (the hospital's only) or put it on FMK to go on at home.
            self.fields[f"order-{order.public_id}"] = forms.ChoiceField(
                label=str(order),
                choices=[("", ""), ("stop", "stop"), ("new", "new")],
                required=False,
            )
        for n in self.NEW_ROWS:
            self.fields[f"new-drug-{n}"] = DrugField(
                label=_("Drug"), queryset=Drug.objects.filter(is_active=True),
                to_field_name="public_id", required=False,
                error_messages={"invalid_choice": _("Choose a drug from the list.")},
            )  # fmt: skip
            self.fields[f"new-dose-{n}"] = forms.CharField(
                label=_("Dosage"), max_length=500, required=False
            )
            self.fields[f"new-reason-{n}"] = forms.CharField(
                label=_("Indication or reason"), max_length=300, required=False
            )

    def clean(self):
        """A new drug's row with a dosage or an indication but no drug chosen is an error (a
        name typed and never picked is not silently left out)."""
        data = super().clean() or {}
        for n in self.NEW_ROWS:
            typed = data.get(f"new-dose-{n}") or data.get(f"new-reason-{n}")
            if typed and data.get(f"new-drug-{n}") is None and f"new-drug-{n}" not in self.errors:
                self.add_error(f"new-drug-{n}", _("Choose a drug from the list."))
        return data

    def error_labels(self) -> dict[str, str]:
        """What the service's errors name a line by (its `key`), in the reader's words."""
        labels = {f"line-{line.identifier}": line.drug_name for line in self.lines}
        labels |= {f"order-{order.public_id}": str(order) for order in self.new_orders}
        return labels | {f"new-{n}": _("New drug %(n)s") % {"n": n} for n in self.NEW_ROWS}

    def decisions(self, decision_class, order_data_class) -> list:
        """The posted decisions, in the service's terms (a line left alone is continued)."""
        data = self.cleaned_data
        found = [
            decision_class(
                data[f"decision-{line.identifier}"] or "continue",
                fmk_identifier=line.identifier,
                dose_text=data[f"dose-{line.identifier}"],
                reason=data[f"reason-{line.identifier}"],
                key=f"line-{line.identifier}",
            )  # fmt: skip
            for line in self.lines
        ]
        for order in self.new_orders:
            if data[f"order-{order.public_id}"] == "new":
                found.append(decision_class("new", order=order, key=f"order-{order.public_id}"))
        for n in self.NEW_ROWS:
            drug, dose = data[f"new-drug-{n}"], data[f"new-dose-{n}"]
            if drug is None:
                continue
            schedule, times = times_from_text(dose)
            # The row's text is the indication as the clinician typed it ("Smerter"): it goes
            # to FMK as such, and is the reason of the line too.
            new = order_data_class.from_drug(
                drug, dose_text=dose, schedule=schedule, times=times,
                pn_max_per_day=4 if schedule == MedicationOrder.Schedule.PN else None,
                indication=data[f"new-reason-{n}"],
            )  # fmt: skip
            found.append(
                decision_class("new", new=new, reason=data[f"new-reason-{n}"], key=f"new-{n}")
            )
        return found


class StopForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        error_messages={"required": _("Write why the order is stopped.")},
    )  # fmt: skip
