"""The laboratory queues: messages that wait for a person (unmatched patient, failed)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from audit.models import Action, LegalBasis
from labresults.models import InboundMessage
from labresults.services import inbound_message_reprocess, queue_counts
from organisation.models import Role
from patients.access import access_events_for_list, staff_view
from patients.cpr import parse_cpr
from patients.models import Patient

# Raw messages carry patients' data of any department: only the laboratory and IT see them.
QUEUE_ROLES = {Role.BIOANALYTIKER, Role.ADMINISTRATOR}


def _queue_staff(request):
    if request.staff.role not in QUEUE_ROLES:
        raise PermissionDenied(_("Only laboratory staff and administrators see the queues."))


@staff_view
def queues(request):
    """Unmatched and failed messages, newest first, with counts."""
    _queue_staff(request)
    status = request.GET.get("status", InboundMessage.Status.UNMATCHED)
    rows = list(
        InboundMessage.objects.filter(status=status)
        .defer("raw", "fixed_text")
        .order_by("-received_at")[:200]
    )
    access_events_for_list(
        user=request.user,
        patients=[],
        data_kind="lab_queue",
        action=Action.LIST,
        legal_basis=LegalBasis.ADMINISTRATION,
        path=request.path,
    )
    context = {"rows": rows, "status": status, "counts": queue_counts()}
    return render(request, "labresults/queues.html", context)


@require_http_methods(["GET", "POST"])
@staff_view
def queue_message(request, message_id):
    """One waiting message: read it, match the patient by CPR, or fix the text; then reprocess."""
    _queue_staff(request)
    message = get_object_or_404(InboundMessage, public_id=message_id)
    error = ""
    if request.method == "POST":
        patient = None
        cpr = request.POST.get("cpr", "").strip()
        try:
            if cpr:
                patient = Patient.objects.filter(cpr=parse_cpr(cpr).value).first()
                if patient is None:
                    raise ValidationError(_("No patient with that CPR number."))
            inbound_message_reprocess(
                message=message,
                user=request.user,
                patient=patient,
                fixed_text=request.POST.get("fixed_text", "").strip(),
            )
        except ValidationError as problem:
            error = " ".join(problem.messages)
        else:
            messages.success(request, _("The message is queued for processing again."))
            return redirect("labresults:queues")
    patient_ids = [message.matched_patient] if message.matched_patient_id else []
    access_events_for_list(
        user=request.user,
        patients=patient_ids,
        data_kind="lab_queue",
        action=Action.VIEW,
        legal_basis=LegalBasis.ADMINISTRATION,
        path=request.path,
    )
    context = {"message": message, "error": error}
    return render(request, "labresults/queue_message.html", context, status=400 if error else 200)
