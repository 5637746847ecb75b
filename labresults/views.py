"""Laboratory pages: the queues for laboratory staff, the results tab, trends, orders, the
live results panel, the inbox and imaging. Thin: reads through selectors, writes through services.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action, DataKind, LegalBasis
from common.forms import error_messages_add, form_errors_attach, form_invalid_error
from common.params import BadParameter, query_choice, query_datetime, query_flag
from labresults import selectors, services
from labresults.forms import AcknowledgeForm, ConflictForm, LabOrderForm, QueueMessageForm
from labresults.models import DicomObject, InboundMessage
from labresults.selectors import WAITING_STATUSES, queue_counts, studies_for_patient
from labresults.services import (
    dicom_object_receive,
    dicom_upload_problem,
    inbound_message_reprocess,
)
from organisation.models import Role
from patients.access import (
    access_events_for_list,
    patient_object_view,
    patient_view,
    staff_view,
)
from patients.selectors import patient_banner

# Raw messages carry patients' data of any department: only the laboratory and IT see them.
QUEUE_ROLES = {Role.BIOANALYTIKER, Role.ADMINISTRATOR}


def _queue_staff(request):
    if request.staff.role not in QUEUE_ROLES:
        raise PermissionDenied(_("Only laboratory staff and administrators see the queues."))


@staff_view
def queues(request):
    """Unmatched and failed messages, newest first, with counts; processed ones are not here."""
    _queue_staff(request)
    status = query_choice(request, "status", WAITING_STATUSES, InboundMessage.Status.UNMATCHED)
    rows = selectors.queue_list(status=status)
    access_events_for_list(
        user=request.user,
        patients=[],
        data_kind=DataKind.LAB_QUEUE,
        action=Action.LIST,
        legal_basis=LegalBasis.ADMINISTRATION,
        path=request.path,
    )
    context = {
        "rows": rows,
        "status": status,
        "counts": queue_counts(),
        "reused": selectors.control_id_reuse_by_sender(),
    }
    return render(request, "labresults/queues.html", context)


@require_http_methods(["GET", "POST"])
@staff_view
def queue_message(request, message_id):
    """One waiting message: read it, match the patient by CPR, or fix the text; then reprocess."""
    _queue_staff(request)
    message = selectors.queue_message_get(public_id=message_id)
    form = QueueMessageForm(request.POST or None, initial={"fixed_text": message.fixed_text})
    if request.method == "POST" and message.status == InboundMessage.Status.CONFLICT:
        return _conflict_resolve(request, message)
    if request.method == "POST" and form.is_valid():
        try:
            inbound_message_reprocess(message=message, user=request.user, **form.cleaned_data)
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(request, _("The message is queued for processing again."))
            return redirect("labresults:queues")
    # The raw message names its patient (and a conflict the other patient too): reading it is
    # a disclosure of each.
    patient = selectors.inbound_message_patient(message)
    access_events_for_list(
        user=request.user, patients=[p for p in (patient, message.conflict_patient) if p],
        data_kind=DataKind.LAB_QUEUE, action=Action.VIEW,
        legal_basis=LegalBasis.ADMINISTRATION, path=request.path,
    )  # fmt: skip
    context = {"message": message, "form": form}
    return render(
        request, "labresults/queue_message.html", context, status=400 if form.errors else 200
    )


def _conflict_resolve(request, message):
    """File a conflicting message as a new report, or reject it."""
    form = ConflictForm(request.POST)
    try:
        services.inbound_message_conflict_resolve(
            message=message, user=request.user,
            action=form.cleaned_data["action"] if form.is_valid() else "",
        )  # fmt: skip
    except ValidationError as error:
        error_messages_add(request, error, form)
        return redirect("labresults:queue_message", message_id=message.public_id)
    messages.success(request, _("The conflict is resolved."))
    return redirect("labresults:queues")


# --- results for the clinician ------------------------------------------------------------
@require_GET
@patient_view(DataKind.LAB_RESULTS, action=Action.LIST)
def results(request, access):
    """The results tab: the cumulative table (analyses down, time across) and the orders."""
    table = selectors.cumulative_table(access, before=query_datetime(request, "before"))
    context = {
        "banner": patient_banner(access),
        "table": table,
        "orders": selectors.order_list_for_patient(access),
        "order_form": LabOrderForm(),
        "to_acknowledge": _to_acknowledge(request, access),
    }
    return render(request, "labresults/results.html", context)


def _to_acknowledge(request, access) -> list:
    if access.staff is None or access.legal_basis == LegalBasis.ADMINISTRATION:
        return []
    return selectors.inbox_items_for_patient(access, staff=access.staff)


@require_POST
@patient_view(DataKind.LAB_RESULTS, action=Action.UPDATE)
def results_acknowledge(request, access):
    """Acknowledge the ticked reports on the results tab (all are ticked when it is drawn;
    what arrived since is not acknowledged unseen, and nothing ticked acknowledges nothing)."""
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():  # the page's own boxes: a malformed one is a 400 naming it
        raise BadParameter("item", ", ".join(request.POST.getlist("item")), _("ids of results"))
    chosen = set(form.cleaned_data["item"])
    items = [item for item in _to_acknowledge(request, access) if item.public_id in chosen]
    if not items:
        messages.error(request, _("Tick the results to acknowledge."))
        return redirect("labresults:results", patient_id=access.patient.public_id)
    done = services.inbox_items_acknowledge(staff=access.staff, items=items, access=access)
    messages.success(
        request,
        ngettext("%(n)s result acknowledged.", "%(n)s results acknowledged.", done) % {"n": done},
    )
    return redirect("labresults:results", patient_id=access.patient.public_id)


@require_GET
@patient_view(DataKind.LAB_RESULTS)
def trend(request, access, code):
    """One analysis over time: chart with the reference band, and the same numbers in a table."""
    context = {"banner": patient_banner(access), "trend": selectors.trend_for_patient(access, code)}
    return render(request, "labresults/trend.html", context)


@require_POST
@patient_view(DataKind.LAB_ORDERS, action=Action.CREATE)
def order_create(request, access):
    """Order analyses or panels (rekvisition) from the chart."""
    form = LabOrderForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        order = services.lab_order_create(access=access, **form.cleaned_data)
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(
            request, _("Ordered with number %(number)s.") % {"number": order.placer_number}
        )
    return redirect("labresults:results", patient_id=access.patient.public_id)


@require_GET
@patient_view(DataKind.LAB_RESULTS)
def live_panel(request, access):
    """The overview's results panel, polled by htmx: 204 (nothing sent) while nothing changed."""
    since = query_datetime(request, "since")
    latest = selectors.latest_result_at(access)
    if latest is None or (since is not None and latest <= since):
        return HttpResponse(status=204)
    context = {"p": panel_results(access), "patient": access.patient}
    return render(request, "labresults/panels/results.html", context)


@require_GET
@staff_view
def inbox(request):
    """The clinician's inbox: new reports for the active department and for orders they made."""
    staff = request.staff
    show_all = query_flag(request, "all")
    items = selectors.inbox_for(
        staff=staff, department_id=staff.active_department_id, include_acknowledged=show_all
    )
    access_events_for_list(
        user=request.user,
        patients=[item.patient for item in items],
        data_kind=DataKind.LAB_INBOX,
        path=request.path,
    )
    context = {"groups": selectors.inbox_groups(items), "count": len(items), "show_all": show_all}
    return render(request, "labresults/inbox.html", context)


@require_POST
@staff_view
def inbox_acknowledge(request, item_id):
    """Acknowledge one report; only staff of its department or its ordering clinician may."""
    staff = request.staff
    item = selectors.inbox_item_get_for_staff(staff=staff, public_id=item_id)
    services.inbox_item_acknowledge(staff=staff, item=item)
    if request.htmx:
        return HttpResponse("")
    return redirect("labresults:inbox")


@require_GET
@staff_view
def inbox_badge(request):
    """The top bar's count of unacknowledged (and critical) results, loaded by htmx."""
    counts = selectors.inbox_counts(
        staff=request.staff, department_id=request.staff.active_department_id
    )
    return render(request, "labresults/_inbox_badge.html", {"counts": counts})


def panel_results(access) -> dict:
    """Overview panel: the newest value of each key analysis, with the time to poll from."""
    results = selectors.latest_key_results(access)
    latest = max((r.updated_at for r in results), default=None)
    return {
        "template": "labresults/panels/results.html",
        "results": results,
        "since": latest.isoformat() if latest else "",
    }


# --- imaging ------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@patient_view(DataKind.IMAGING)
def imaging(request, access):
    """Imaging studies with their key images and radiology reports; DICOM files are uploaded
    here too (a worker reads them)."""
    if request.method == "POST":
        _imaging_upload(request, access)
        return redirect("labresults:imaging", patient_id=access.patient.public_id)
    context = {
        "banner": patient_banner(access),
        "studies": studies_for_patient(access),
        "reports": selectors.imaging_reports(access),
        "waiting": selectors.dicom_waiting_for_patient(access),
    }
    return render(request, "labresults/imaging.html", context)


def _imaging_upload(request, access) -> None:
    """Take the uploaded DICOM files, or none of them when one is refused (with why)."""
    files = request.FILES.getlist("files")
    refused = [problem for upload in files if (problem := dicom_upload_problem(upload))]
    if not files:
        messages.error(request, _("Choose one or more DICOM files."))
    elif refused:
        # Nothing is stored when one file is refused: the user sends the right set again.
        for problem in refused:
            messages.error(request, problem)
    else:
        for upload in files:
            dicom_object_receive(
                content=upload, name=upload.name, source=DicomObject.Source.UPLOAD, access=access
            )
        messages.success(
            request, _("%(n)s file(s) received; they appear when read.") % {"n": len(files)}
        )


@require_GET
@patient_object_view(DicomObject, DataKind.IMAGING, kwarg="object_id")
def dicom_thumbnail(request, access, obj):
    """The key-image thumbnail (PNG) of one DICOM object."""
    if not obj.thumbnail:
        raise Http404(_("No thumbnail."))
    return _attachment(obj.thumbnail, "image/png", f"{obj.public_id}.png")


@require_GET
@patient_object_view(DicomObject, DataKind.IMAGING, kwarg="object_id")
def dicom_file(request, access, obj):
    """The DICOM file as received, as a download (never shown in the browser)."""
    return _attachment(obj.file, "application/dicom", f"{obj.public_id}.dcm")


def _attachment(field, content_type: str, name: str) -> FileResponse:
    """An uploaded or derived file, streamed by the gate: an attachment, never sniffed."""
    response = FileResponse(
        field.open("rb"), content_type=content_type, as_attachment=True, filename=name
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
