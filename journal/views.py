"""Journal pages: notes, versions, search, diagnoses, vital signs and the epikrise print.

Every route with a patient goes through the access gate; writes call one service each.
"""

import itertools

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action, DataKind
from common.forms import ReasonForm, error_messages_add, form_errors_attach, form_invalid_error
from common.params import query_choice
from journal import selectors, services
from journal.forms import (
    AutosaveForm,
    CourseForm,
    DiagnosisForm,
    NoteEditForm,
    NoteNewForm,
    ReplyForm,
    VitalSignsForm,
)
from journal.models import Diagnosis, Note, NoteStatus, NoteType, Risk, VitalSigns
from patients.access import (
    access_events_for_list,
    patient_object_view,
    patient_view,
    staff_view,
)
from patients.registry import text_macros
from patients.selectors import patient_banner


def _courses(access):
    return selectors.care_courses_for_patient(access)


def _new_note_form(access, data=None):
    department_id = access.staff.active_department_id if access.staff else None
    courses = list(_courses(access)[:50])
    open_course = next((c for c in courses if c.is_open), None)
    templates = selectors.templates_for(department_id)
    return NoteNewForm(
        data,
        templates=templates,
        courses=courses,
        initial={
            "care_course": str(open_course.public_id) if open_course else "",
            "template": _suggested_kind(access, templates, open_course),
        },
    )


def _suggested_kind(access, templates, course) -> str:
    """What the clinician most likely writes now: a nurse a nursing note; a doctor the
    admission note on a new admission without one, else a progress note."""
    role = access.staff.role if access.staff else ""
    if role == "sygeplejerske":
        wanted = NoteType.NURSING
    elif (
        course is not None
        and course.kind == "admission"
        and not Note.objects.filter(care_course=course, note_type=NoteType.ADMISSION).exists()
    ):
        wanted = NoteType.ADMISSION
    elif course is not None and course.kind == "outpatient":
        wanted = NoteType.OUTPATIENT
    else:
        wanted = NoteType.CONTINUATION
    template = next((t for t in templates if t.note_type == wanted), None)
    return str(template.public_id) if template else f"type:{wanted}"


def _open_course(access):
    course = _courses(access).filter(ended_at__isnull=True).first()
    return course.public_id if course else None


@require_GET
@patient_view(DataKind.JOURNAL, action=Action.LIST)
def note_list(request, access):
    """The patient's notes, newest first, with the form that starts a new one."""
    note_type = query_choice(request, "type", NoteType.values, "")
    context = {
        "banner": patient_banner(access),
        "notes": selectors.note_list_for_patient(access, note_type=note_type),
        "note_type": note_type,
        "form": _new_note_form(access),
    }
    return render(request, "journal/note_list.html", context)


@require_POST
@patient_view(DataKind.JOURNAL, action=Action.CREATE)
def note_new(request, access):
    """Start a draft from the chosen template and open it for writing."""
    form = _new_note_form(access, request.POST)
    if form.is_valid():
        try:
            note = services.note_create(access=access, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as error:
            if isinstance(error, PermissionDenied):
                error = ValidationError(str(error))
            form_errors_attach(form, error)
        else:
            return redirect("journal:note_edit", note_id=note.public_id)
    context = {"banner": patient_banner(access), "notes": [], "form": form}
    return render(request, "journal/note_list.html", context, status=400)


def _note_context(access, note, **extra):
    versions = selectors.note_versions(access, note)
    return {
        "banner": patient_banner(access),
        "note": note,
        "versions": versions,
        "diffs": [
            (old, new, selectors.note_diff(old, new)) for old, new in itertools.pairwise(versions)
        ],
        "reason_form": ReasonForm(),
        **extra,
    }


@require_GET
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id")
def note_detail(request, access, obj):
    """One note with all its versions and the difference between them."""
    if obj.status == NoteStatus.DRAFT and obj.author_id != getattr(access.staff, "pk", None):
        raise Http404(_("Not found."))
    return render(request, "journal/note_detail.html", _note_context(access, obj))


@require_http_methods(["GET", "POST"])
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.UPDATE)
def note_edit(request, access, obj):
    """Write a draft; the page saves as the clinician types, and signs on request."""
    if not obj.is_editable or obj.author_id != getattr(access.staff, "pk", None):
        return redirect("journal:note", note_id=obj.public_id)
    form = NoteEditForm(request.POST or None, initial={"title": obj.title, "text": obj.text})
    if request.method == "POST" and form.is_valid():
        try:
            note = services.note_draft_save(access=access, note=obj, **form.cleaned_data)
            if "sign" in request.POST:
                note = services.note_sign(access=access, note=note)
                messages.success(request, _("The note is signed."))
                return redirect("journal:note", note_id=note.public_id)
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("journal:note_edit", note_id=obj.public_id)
    context = {
        "banner": patient_banner(access),
        "note": obj,
        "form": form,
        "macros": [m.name for m in text_macros.all()],
    }
    return render(request, "journal/note_edit.html", context, status=400 if form.errors else 200)


@require_POST
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.UPDATE)
def note_autosave(request, access, obj):
    """Save a draft's text while it is typed (htmx) or when the tab closes (sendBeacon)."""
    try:
        form = AutosaveForm(request.POST)
        if not form.is_valid():
            raise form_invalid_error(form)
        services.note_draft_save(
            access=access, note=obj, text=form.cleaned_data["text"],
            title=form.cleaned_data["title"] or None,
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as error:
        message = " ".join(getattr(error, "messages", [str(error)]))
        return HttpResponse(message, status=409)
    saved = timezone.localtime().strftime("%H:%M:%S")
    return HttpResponse(_("Saved %(time)s") % {"time": saved})


def _reason(request) -> str:
    """The posted reason; one longer than a reason may be is a ValidationError naming it."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        raise form_invalid_error(form)
    return form.cleaned_data["reason"]


def _note_action(request, access, obj, action, success):
    try:
        note = action()
    except ValidationError as error:
        error_messages_add(request, error, ReasonForm())
        return redirect("journal:note", note_id=obj.public_id)
    except PermissionDenied as error:
        messages.error(request, str(error))
        return redirect("journal:note", note_id=obj.public_id)
    messages.success(request, success)
    if note.status == NoteStatus.DRAFT:
        return redirect("journal:note_edit", note_id=note.public_id)
    return redirect("journal:note", note_id=note.public_id)


@require_POST
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.UPDATE)
def note_sign(request, access, obj):
    """Sign a draft."""
    return _note_action(
        request,
        access,
        obj,
        lambda: services.note_sign(access=access, note=obj),
        _("The note is signed."),
    )


@require_POST
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.UPDATE)
def note_cosign(request, access, obj):
    """Co-sign a junior's note."""
    return _note_action(
        request,
        access,
        obj,
        lambda: services.note_cosign(access=access, note=obj),
        _("The note is co-signed."),
    )


@require_POST
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.CREATE)
def note_correct(request, access, obj):
    """Start a correction of a signed note, with the reason."""
    return _note_action(
        request,
        access,
        obj,
        lambda: services.note_correct(access=access, note=obj, reason=_reason(request)),
        _("Write the correction and sign it; the old version is kept."),
    )


@require_POST
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.UPDATE)
def note_mark_error(request, access, obj):
    """Mark a note as entered in error."""
    return _note_action(
        request,
        access,
        obj,
        lambda: services.note_mark_error(access=access, note=obj, reason=_reason(request)),
        _("The note is marked as entered in error."),
    )


@require_GET
@patient_object_view(Note, DataKind.JOURNAL, kwarg="note_id", action=Action.PRINT)
def note_print(request, access, obj):
    """A clean page for printing (or saving as PDF from the browser): the epikrise above all."""
    if obj.status == NoteStatus.DRAFT and obj.author_id != getattr(access.staff, "pk", None):
        raise Http404(_("Not found."))
    diagnoses = selectors.diagnoses_active_for_course(access, obj.care_course)
    context = {"note": obj, "patient": access.patient, "diagnoses": diagnoses}
    return render(request, "journal/note_print.html", context)


@require_GET
@patient_view(DataKind.JOURNAL_SEARCH, action=Action.SEARCH)
def note_search(request, access):
    """Search the patient's journal with Danish stemming; hits are highlighted."""
    query = request.GET.get("q", "")
    context = {
        "banner": patient_banner(access),
        "query": query,
        "hits": selectors.note_search_for_patient(access, query),
    }
    return render(request, "journal/note_search.html", context)


@require_POST
@patient_view(DataKind.JOURNAL, action=Action.CREATE)
def epikrise_new(request, access):
    """Start a discharge summary for a course."""
    form = CourseForm(request.POST)
    raw = form.cleaned_data["care_course"] if form.is_valid() else ""
    course = selectors.care_course_get_for_patient(access, raw)
    note = services.epikrise_create(access=access, care_course=course)
    return redirect("journal:note_edit", note_id=note.public_id)


@require_GET
@patient_view(DataKind.MACRO)
def macro_expand(request, access, name):
    """The text a macro (`.cave`, `.diag`, `.vitale`, `.labs`) inserts into a note."""
    macro = text_macros.get(name)
    if macro is None:
        return JsonResponse({"error": _("Unknown macro: .%(name)s") % {"name": name}}, status=404)
    return JsonResponse({"name": name, "text": macro.expand(access)})


@require_http_methods(["GET", "POST"])
@patient_view(DataKind.DIAGNOSES)
def diagnoses(request, access):
    """The patient's diagnoses per course, and the form that codes a new one."""
    form = DiagnosisForm(
        request.POST or None,
        courses=_courses(access),
        initial={"care_course": _open_course(access), "kind": Diagnosis.Kind.SECONDARY},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.diagnosis_add(access=access, **form.cleaned_data)
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(request, _("The diagnosis is coded."))
            return redirect("journal:diagnoses", patient_id=access.patient.public_id)
    context = {
        "banner": patient_banner(access),
        "diagnoses": selectors.diagnosis_list_for_patient(access),
        "form": form,
    }
    return render(request, "journal/diagnoses.html", context, status=400 if form.errors else 200)


@require_POST
@patient_view(DataKind.DIAGNOSES, action=Action.UPDATE)
def diagnosis_change(request, access, diagnosis_id, change):
    """Resolve a diagnosis, or mark it as entered in error with the reason."""
    diagnosis = selectors.diagnosis_get_for_patient(access, diagnosis_id)
    try:
        if change == "error":
            services.diagnosis_mark_error(
                access=access, diagnosis=diagnosis, reason=_reason(request)
            )
        else:
            services.diagnosis_resolve(access=access, diagnosis=diagnosis)
    except ValidationError as error:
        error_messages_add(request, error, ReasonForm())
    return redirect("journal:diagnoses", patient_id=access.patient.public_id)


@require_GET
@staff_view
def sks_search(request):
    """Search-as-you-type in the SKS catalogue (no patient data)."""
    codes = selectors.sks_search(request.GET.get("code", "") or request.GET.get("q", ""))
    return render(request, "journal/_sks_options.html", {"codes": codes})


@require_http_methods(["GET", "POST"])
@patient_view(DataKind.VITALS)
def vitals(request, access):
    """Vital signs: the form, the score, a trend chart and the table of the same numbers."""
    form = VitalSignsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        course = _courses(access).filter(ended_at__isnull=True).first()
        try:
            recorded = services.vital_signs_record(
                access=access, care_course=course, **form.cleaned_data
            )
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.add_message(request, *_news2_message(recorded))
            return redirect("journal:vitals", patient_id=access.patient.public_id)
    rows = selectors.vital_signs_list_for_patient(access)
    context = {
        "banner": patient_banner(access),
        "rows": rows,
        "form": form,
        "chart": _vitals_series(rows),
    }
    return render(request, "journal/vitals.html", context, status=400 if form.errors else 200)


def _news2_message(recorded) -> tuple[int, str]:
    """The message after a recording: the band decides the colour (a high score is never shown
    as a green success), an incomplete set says what was not measured."""
    level = {
        Risk.LOW: messages.SUCCESS,
        Risk.LOW_MEDIUM: messages.WARNING,
        Risk.MEDIUM: messages.WARNING,
        Risk.INCOMPLETE: messages.WARNING,
    }.get(recorded.risk, messages.ERROR)
    if not recorded.is_complete:
        text = _(
            "NEWS2 at least %(score)s, incomplete (not measured: %(missing)s): %(response)s."
        ) % {
            "score": recorded.score,
            "missing": ", ".join(recorded.missing),
            "response": recorded.response,
        }
    else:
        text = _("NEWS2 is %(score)s: %(response)s.") % {
            "score": recorded.score,
            "response": recorded.response,
        }
    return level, text


# The trend's charts, one per unit, so no two series share an axis they do not mean.
VITALS_CHARTS = (
    (gettext_lazy("Blood pressure (mmHg)"), (("systolic", "BT sys"), ("diastolic", "BT dia"))),
    (gettext_lazy("Pulse and respiration (/min)"), (("pulse", "P"), ("respiration_rate", "RF"))),
    (gettext_lazy("Saturation (%)"), (("spo2", "SAT"),)),
    (gettext_lazy("Temperature (°C)"), (("temperature", "T"),)),
    ("NEWS2", (("score", "NEWS2"),)),
)


def _vitals_series(rows):
    """The valid sets as points on a time axis (milliseconds), grouped by unit. A value not
    measured is left out of its series rather than drawn as zero."""
    valid = [r for r in reversed(rows) if r.status == VitalSigns.Status.VALID]

    def points(field):
        found = []
        for r in valid:
            value = getattr(r, field)
            if value is not None:
                found.append([int(r.measured_at.timestamp() * 1000), float(value)])
        return found

    return {
        "charts": [
            {
                "title": str(title),
                "series": [
                    {"key": field, "label": label, "points": points(field)}
                    for field, label in series
                ],
            }
            for title, series in VITALS_CHARTS
        ],
    }


@require_POST
@patient_view(DataKind.VITALS, action=Action.UPDATE)
def vitals_mark_error(request, access, vitals_id):
    """Mark a set of vital signs as entered in error."""
    row = selectors.vital_signs_get_for_patient(access, vitals_id)
    try:
        services.vital_signs_mark_error(access=access, vitals=row, reason=_reason(request))
    except ValidationError as error:
        error_messages_add(request, error, ReasonForm())
    return redirect("journal:vitals", patient_id=access.patient.public_id)


@require_GET
@staff_view
def cosign_queue(request):
    """Notes in the active department that wait for a co-signature."""
    notes = selectors.cosign_queue(department_id=request.staff.active_department_id)
    access_events_for_list(
        user=request.user,
        patients=[note.patient for note in notes],
        data_kind=DataKind.COSIGN_QUEUE,
        path=request.path,
    )
    return render(request, "journal/cosign_queue.html", {"notes": notes})


# --- messages with patients ----------------------------------------------------------------------
@require_GET
@staff_view
def message_inbox(request):
    """The active department's messages from patients that wait for an answer, oldest first."""
    from journal.messaging import department_inbox

    threads = department_inbox(request.staff.active_department_id)
    access_events_for_list(
        user=request.user, patients=[t.patient for t in threads], data_kind=DataKind.MESSAGES,
        path=request.path,
    )  # fmt: skip
    return render(request, "journal/message_inbox.html", {"threads": threads})


def _reply(request, access, thread) -> int:
    """Send the staff's answer in the thread: 302 when sent, else the page's status (403 when
    the writer may not answer, 400 with the reason when the message cannot be sent)."""
    from journal import messaging

    form = ReplyForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        messaging.message_send(
            access=access, thread=thread, text=form.cleaned_data["text"],
            files=form.cleaned_data["attachments"],
        )  # fmt: skip
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return 403
    except ValidationError as error:
        error_messages_add(request, error, form)
        return 400
    messages.success(request, _("The answer is sent to the patient."))
    return 302


def _of_its_department(access, thread) -> bool:
    return access.staff is not None and (
        access.staff.memberships.filter(department_id=thread.department_id).exists()
    )


@require_http_methods(["GET", "POST"])
@patient_view(DataKind.MESSAGES)
def patient_messages(request, access, thread_id=None):
    """The patient's threads with the departments; one opened, with a reply for the staff of
    its department."""
    from journal import messaging

    threads = messaging.threads_for_patient(access)
    current = messaging.thread_get(access, thread_id) if thread_id else None
    status = 200
    if request.method == "POST":
        if current is None:
            raise Http404(_("No such thread."))
        status = _reply(request, access, current)
        if status == 302:
            return redirect(
                "journal:thread", patient_id=access.patient.public_id, thread_id=current.public_id
            )
    # Read by the department when one of its staff opens it (not by a colleague elsewhere).
    if current is not None and _of_its_department(access, current):
        messaging.thread_mark_read(access=access, thread=current)
    context = {
        "banner": patient_banner(access), "threads": threads, "thread": current,
        "messages_in_thread": messaging.thread_messages(current) if current else [],
    }  # fmt: skip
    return render(request, "journal/messages.html", context, status=status)


@require_GET
@patient_view(DataKind.MESSAGES)
def message_attachment(request, access, attachment_id):
    """A file a patient or the department sent, as a download."""
    from django.http import FileResponse

    from journal.messaging import attachment_get

    found = attachment_get(access, attachment_id)
    response = FileResponse(
        found.file.open("rb"), as_attachment=True, filename=found.name,
        content_type=found.content_type,
    )  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    return response
