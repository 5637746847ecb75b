"""Medication pages: the medication tab and the overview panel, from the last FMK snapshot.

A page never waits on FMK. Opening the tab asks a worker for a fresh read when the last one is
older than SUNDHED_FMK_REFRESH_AFTER; the page shows the snapshot at once and htmx asks every
two seconds whether a new one is in (204, nothing shown, until it is).
"""

from datetime import timedelta

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.models import Action, DataKind, LegalBasis
from medicinkort import selectors, services
from medicinkort.models import CardRead
from patients.access import patient_view
from patients.selectors import patient_banner


def _may_read_fmk(access) -> bool:
    return access.staff is not None and access.legal_basis != LegalBasis.ADMINISTRATION


def _refresh_if_old(access, state) -> selectors.CardState:
    if not _may_read_fmk(access) or state.pending:
        return state
    fresh_until = timezone.now() - timedelta(seconds=settings.SUNDHED_FMK_REFRESH_AFTER)
    last = state.last_read
    if last is None or last.created_at < fresh_until:
        state.last_read = services.card_read_request(access=access, reason=CardRead.Reason.TAB)
    return state


@require_GET
@patient_view(DataKind.MEDICATION)
def medication(request, access):
    """The medication tab: the FMK card as last read, with its age; refreshed in the background."""
    state = _refresh_if_old(access, selectors.card_state(access))
    context = {"banner": patient_banner(access), "card": state}
    return render(request, "medicinkort/medication.html", context)


@require_GET
@patient_view(DataKind.MEDICATION)
def card_live(request, access):
    """The card part of the tab (or the panel), polled: 204 while nothing changed."""
    since = request.GET.get("since", "")
    if since and since == selectors.card_marker(access):
        return HttpResponse(status=204)
    state = selectors.card_state(access)
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
        services.card_read_request(access=access, reason=CardRead.Reason.DEMAND)
    return redirect("medicinkort:medication", patient_id=access.patient.public_id)


def panel_medication(access) -> dict:
    """Overview panel "Current medication": the FMK card with its age."""
    return {"template": "medicinkort/panels/medication.html", "card": selectors.card_state(access)}
