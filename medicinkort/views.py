"""Medication pages: the medication tab and the overview panel, from the last FMK snapshot.

A page never waits on FMK. Opening the tab asks a worker for a fresh read when the last one is
older than SUNDHED_FMK_REFRESH_AFTER; the page shows the snapshot at once and htmx asks every
two seconds whether a new one is in (204, nothing shown, until it is).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action, DataKind, LegalBasis
from common.forms import (
    ReasonForm,
    error_messages_add,
    error_texts,
    form_errors_attach,
    form_invalid_error,
)
from common.params import (
    BadParameter,
    query_choice,
    query_flag,
    query_text,
    query_uuid_list,
)
from medicinkort import selectors, services
from medicinkort.forms import (
    AdministrationForm,
    OrderForm,
    ReconcileForm,
    StopForm,
    warning_reasons,
)
from medicinkort.models import (
    CardRead,
    CardSnapshot,
    MedicationOrder,
    Reconciliation,
    ReconciliationLine,
)
from organisation.models import Role
from patients.access import (
    access_events_for_list,
    patient_object_view,
    patient_view,
    staff_view,
)
from patients.selectors import patient_banner


def _may_read_fmk(access) -> bool:
    return access.staff is not None and access.legal_basis != LegalBasis.ADMINISTRATION


def _refresh_if_old(access, state) -> selectors.CardState:
    if not _may_read_fmk(access) or state.pending:
        return state
    fresh_until = timezone.now() - timedelta(seconds=settings.SUNDHED_FMK_REFRESH_AFTER)
    last = state.last_read
    if last is None or last.created_at < fresh_until:
        state.last_read = services.card_read_request(access=access, occasion=CardRead.Occasion.TAB)
    return state


@require_GET
@patient_view(DataKind.MEDICATION)
def medication(request, access):
    """The medication tab: the FMK card as last read, with its age; refreshed in the background."""
    context = _tab_context(access)
    context["card"] = _refresh_if_old(access, context["card"])
    return render(request, "medicinkort/medication.html", context)


@require_GET
@patient_view(DataKind.MEDICATION)
def card_live(request, access):
    """The card part of the tab (or the panel), polled: 204 while nothing changed."""
    since = request.GET.get("since", "")
    if since and since == selectors.card_marker(access):
        return HttpResponse(status=204)
    state = selectors.card_state(access, with_orders=bool(request.GET.get("panel")))
    template = (
        "medicinkort/panels/medication.html"
        if request.GET.get("panel")
        else "medicinkort/_card.html"
    )
    return render(
        request, template, {"card": state, "p": {"card": state}, "patient": access.patient}
    )


@require_POST
@patient_view(DataKind.MEDICATION, action=Action.UPDATE)
def card_refresh(request, access):
    """Read the card from FMK now (in the background)."""
    if _may_read_fmk(access):
        services.card_read_request(access=access, occasion=CardRead.Occasion.DEMAND)
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


def panel_medication(access) -> dict:
    """Overview panel "Current medication": the hospital's orders, and the FMK card with its
    age (one query)."""
    state = selectors.card_state(access, with_orders=True)
    return {"template": "medicinkort/panels/medication.html", "card": state}


# --- hospital orders --------------------------------------------------------------------------
def _tab_context(access, **extra) -> dict:
    state = selectors.card_state(access)
    return {
        "banner": patient_banner(access),
        "card": state,
        "queue": selectors.fmk_queue(access, state.snapshot, state.lines),
        "orders": selectors.orders_for_patient(access),
        "order_form": extra.pop("order_form", None) or OrderForm(),
        "reconciliation": selectors.reconciliation_latest(access),
        "may_order": access.staff is not None and access.staff.role == Role.LAEGE,
        **extra,
    }


@require_POST
@patient_view(DataKind.MEDICATION, action=Action.CREATE)
def order_new(request, access):
    """Order a drug; warnings of the checks come back on the form, each wanting a reason."""
    form = OrderForm(request.POST)
    warnings = []
    if form.is_valid():
        course = selectors.patient_open_course(access)
        try:
            data = services.OrderData.from_drug(
                form.cleaned_data["drug"], dose_text=form.cleaned_data["dose_text"],
                indication=form.cleaned_data["indication"], dosage=form.dosage(),
            )  # fmt: skip
            services.order_create(
                access=access, data=data, reasons=warning_reasons(form), course=course
            )
        except services.ChecksNeedReasons as checks:
            warnings = checks.warnings
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(request, _("Ordered."))
            return redirect("medicinkort:medication", patient_id=access.patient.public_id)
    context = _tab_context(access, order_form=form, warnings=warnings, posted=request.POST)
    return render(request, "medicinkort/medication.html", context, status=400)


@require_POST
@patient_object_view(MedicationOrder, DataKind.MEDICATION, kwarg="order_id", action=Action.UPDATE)
def order_stop(request, access, obj):
    """Stop an order, with the reason."""
    form = StopForm(request.POST)
    if not form.is_valid():
        error_messages_add(request, form_invalid_error(form), form)
    else:
        services.order_stop(access=access, order=obj, reason=form.cleaned_data["reason"])
        messages.success(request, _("Stopped."))
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


@require_POST
@patient_object_view(MedicationOrder, DataKind.MEDICATION, kwarg="order_id", action=Action.UPDATE)
def order_cosign(request, access, obj):
    """Co-sign a junior doctor's order."""
    try:
        services.order_cosign(access=access, order=obj)
    except ValidationError as error:
        error_messages_add(request, error)
    else:
        messages.success(request, _("Co-signed."))
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


# --- the drug pickers --------------------------------------------------------------------------
# Each picker's field, and the prefix its warnings' reasons carry when confirming.
PICKERS = {"drug": "", **{f"new-drug-{n}": f"new-{n}" for n in ReconcileForm.NEW_ROWS}}


@require_GET
@staff_view
def drug_search(request):
    """The type-ahead of a drug picker (?q=, ?for= the picker's field): the matching drugs of
    the catalogue, each a button that fills the picker."""
    field = query_choice(request, "for", PICKERS, "drug")
    text = query_text(request, "q", max_length=100)
    context = {"drugs": selectors.drugs_matching(text), "field": field, "q": text}
    return render(request, "medicinkort/_drug_results.html", context)


@require_GET
@staff_view
def dosage_proposal(request):
    """The times a dosage text proposes (?dose_text=), as the order form's times field; the
    times the clinician wrote themselves (?times= with no `proposed`) are kept."""
    text = query_text(request, "dose_text", max_length=500)
    times = query_text(request, "times", max_length=200)
    if times and not query_flag(request, "proposed"):
        return HttpResponse(status=204)
    # The same reading the order is made with (services.dosage_propose).
    dosage = services.dosage_propose(text, start=timezone.localdate())
    value = "" if dosage.as_needed or not text else " ".join(dosage.periods[0].times())
    return render(request, "medicinkort/_times_field.html", {"value": value})


@require_GET
@patient_view(DataKind.MEDICATION)
def drug_checks(request, access):
    """The checks of the drug a picker now holds (?for= the picker's field, ?<field>= the drug),
    shown as it is picked, each with the reason field that confirming asks for."""
    field = query_choice(request, "for", PICKERS, "drug")
    drug = selectors.drug_active(query_uuid_list(request, field)[:1])
    warnings = []
    if drug is not None:
        lines = selectors.card_state(access).lines if PICKERS[field] else ()
        warnings = services.drug_warnings(access, drug, prefix=PICKERS[field], card_lines=lines)
    return render(request, "medicinkort/_warnings.html", {"warnings": warnings, "slot": field})


# --- reconciliation ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@patient_view(DataKind.MEDICATION)
def reconcile(request, access, kind):
    """Reconcile at admission or discharge: FMK's lines and the hospital's orders side by side,
    a decision a line, confirmed once."""
    if kind not in Reconciliation.Kind.values:
        raise Http404
    context = _reconcile_context(access, kind, request.POST)
    if request.method == "GET":
        context["changes"] = _changes_since_conflict(access, kind)
        return render(request, "medicinkort/reconcile.html", context)
    queue, state = context["queue"], context["card"]
    form = ReconcileForm(
        request.POST, kind=kind,
        lines=[line for line in state.lines if not queue.withdrawn(line.identifier)],
        orders=[order for order in context["orders"] if order.pk not in queue.order_ids],
    )  # fmt: skip
    reconciliation = _confirm(form, access, kind, context)
    if context.get("queue_changed"):  # never redrawn to be confirmed again: seen first
        messages.error(request, context["queue_changed"])
        return redirect("medicinkort:medication", patient_id=access.patient.public_id)
    if reconciliation is None:
        return render(request, "medicinkort/reconcile.html", context, status=400)
    _reconciled_say(request, reconciliation, context["card"].snapshot)
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


def _reconcile_context(access, kind: str, posted) -> dict:
    """The reconciliation page: the card as it will be after the changes still queued for FMK
    (each line with its queued change, `line.queued`), and the hospital's orders."""
    state = selectors.card_state(access)
    queue = selectors.fmk_queue(access, state.snapshot, state.lines)
    for line in state.lines:
        line.queued = queue.by_line.get(line.identifier)  # type: ignore[attr-defined]
    return {
        "banner": patient_banner(access), "card": state, "queue": queue, "kind": kind,
        "orders": selectors.orders_for_patient(access), "posted": posted, "warnings": [],
        "changes": [], "errors": [], "new_rows": ReconcileForm.NEW_ROWS,
        "decisions": [(v, label) for v, label in ReconciliationLine.Decision.choices if v != "new"],
    }  # fmt: skip


def _reconciled_say(request, reconciliation, snapshot) -> None:
    """What the clinician is told after confirming, what is left to order by hand, and that a
    dose-dispensing pharmacy must be told of the changes."""
    changed = [line for line in reconciliation.lines.all() if line.decision != "continue"]
    if snapshot is not None and snapshot.dose_dispensed and changed:
        messages.warning(request, _(
            "The medicine is dose-dispensed: tell the pharmacy of the changes (%(drugs)s). "
            "FMK is updated, but the pharmacy packs by its own periods."
        ) % {"drugs": ", ".join(line.drug_name for line in changed)})  # fmt: skip
    messages.success(
        request,
        _("Reconciled. The changes are on their way to FMK.")
        if reconciliation.status == Reconciliation.Status.SENDING
        else _("Reconciled."),
    )
    for drug in reconciliation.by_hand:
        messages.warning(
            request,
            _("Not given every day, so not ordered: %(drug)s. Order it with its days and times.")
            % {"drug": drug},
        )


def _confirm(form, access, kind, context):
    """Confirm the posted decisions; the reconciliation, or None with why in `context` (the
    card changed on FMK meanwhile, warnings that need a reason, or a form error)."""
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        return services.reconciliation_confirm(
            access=access,
            kind=kind,
            card_version=form.cleaned_data["card_version"],
            decisions=form.decisions(services.Decision, services.OrderData),
            reasons=warning_reasons(form),
            course=selectors.patient_open_course(access),
            queue_seen=form.cleaned_data["queue_position"],
        )
    except services.CardChanged as changed:
        shown = CardSnapshot.objects.filter(
            patient=access.patient, version=changed.shown_version
        ).first()
        context["changes"] = selectors.card_difference(shown, changed.snapshot)
        context["errors"] = [_("The card changed on FMK since you opened this page: see what "
                               "changed, and confirm again.")]  # fmt: skip
    except services.ChecksNeedReasons as checks:
        context["warnings"] = checks.warnings
    except services.QueueChanged as changed:
        context["queue_changed"] = " ".join(changed.messages)
    except ValidationError as error:
        context["errors"] = error_texts(error, form)
    return None


def _changes_since_conflict(access, kind) -> list[dict]:
    """After a conflict, what changed on FMK since the card the doctor reconciled."""
    last = (
        access.unblocked(
            Reconciliation.objects.filter(patient=access.patient),
            department=None,
            care_course="care_course_id",
        )
        .order_by("-confirmed_at")
        .values("kind", "status", "card_version")
        .first()
    )
    if last is None or last["kind"] != kind or last["status"] != Reconciliation.Status.CONFLICT:
        return []
    snapshots = CardSnapshot.objects.filter(patient=access.patient)
    shown = snapshots.filter(version=last["card_version"]).order_by("-fetched_at").first()
    newest = snapshots.order_by("-fetched_at").first()
    if newest is None or shown is None or newest.pk == shown.pk:
        return []
    return selectors.card_difference(shown, newest)


@require_POST
@patient_object_view(
    Reconciliation, DataKind.MEDICATION, kwarg="reconciliation_id", action=Action.UPDATE
)
def reconciliation_not_updated(request, access, obj):
    """Record why FMK was not updated at discharge: the discharge completes."""
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        services.reconciliation_not_updated(
            access=access, reconciliation=obj, reason=form.cleaned_data["reason"]
        )
    except ValidationError as error:
        error_messages_add(request, error, form)
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


# --- the medication administration record -----------------------------------------------------
@require_GET
@staff_view
def mar(request):
    """The medication round: the ward's doses due around now (overdue marked), today's
    (?view=day), or one patient's stay (?view=stay&patient=, from the work list), and the
    as-needed orders with what is left today; one patient's with ?patient=."""
    only = query_uuid_list(request, "patient")
    window = query_choice(request, "view", selectors.MAR_WINDOWS, "now")
    if window == "stay" and len(only) != 1:
        raise BadParameter("patient", ",".join(map(str, only)), _("one patient's id"))
    due, as_needed = selectors.administrations_due(
        department_id=request.staff.active_department_id, user=request.user, window=window,
        patients=only,
    )  # fmt: skip
    patients = {row["patient"].pk: row["patient"] for row in due}
    patients |= {order.patient.pk: order.patient for order in as_needed}
    if patients:
        access_events_for_list(
            user=request.user, patients=list(patients.values()), data_kind=DataKind.MEDICATION,
            path=request.path,
        )  # fmt: skip
    context = {"due": due, "as_needed": as_needed, "window": window, "only": only[:1]}
    return render(request, "medicinkort/mar.html", context)


@require_POST
@patient_object_view(MedicationOrder, DataKind.MEDICATION, kwarg="order_id", action=Action.CREATE)
def administration_new(request, access, obj):
    """Record a dose given, not given (why), or given at another dose; a PN dose with why."""
    form = AdministrationForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        given = {k: v for k, v in form.cleaned_data.items() if k not in ("view", "patient")}
        services.administration_record(access=access, order=obj, **given)
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("Recorded: %(drug)s") % {"drug": obj.drug_name})
    return redirect(form.round_url())
