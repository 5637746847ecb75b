"""Patient pages: search, the patient page, CAVE, blocking, break the glass and the access log."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import Action, DataKind, LegalBasis
from common.forms import error_messages_add, form_errors_attach, form_invalid_error
from common.params import query_flag
from patients import selectors, services
from patients.access import access_events_for_list, patient_by_public_id, patient_view, staff_view
from patients.forms import (
    BlockingForm,
    BlockingRevokeForm,
    BreakGlassForm,
    CaveEntryForm,
    CaveErrorForm,
    LocationForm,
    ReviewForm,
)


@staff_view
def search(request):
    """Top-bar search; htmx asks for the result list only."""
    query = request.GET.get("q", "")
    results = selectors.patient_search(user=request.user, query=query)
    # Every search is on record: one event per patient shown, or one without a patient.
    access_events_for_list(
        user=request.user,
        patients=results,
        data_kind=DataKind.SEARCH,
        action=Action.SEARCH,
        reason=query.strip()[:200],
        path=request.path,
    )
    template = "patients/search.html#results" if request.htmx else "patients/search.html"
    return render(request, template, {"query": query, "results": results})


@patient_view(DataKind.SUMMARY)
def patient_detail(request, access):
    """The patient page: banner, courses (blocked ones as 'spærret'), CAVE and blockings."""
    context = {
        "access": access,
        "banner": selectors.patient_banner(access),
        "courses": selectors.care_course_list_for_patient(access),
        "cave_entries": selectors.cave_list_for_patient(access),
        "cave_form": CaveEntryForm(),
    }
    return render(request, "patients/detail.html", context)


def _safe_next(request, form=None) -> str:
    """The page to return to (the form's, else the query's), if it is one of ours; never
    another site (open redirect)."""
    posted = (form["next"].value() or "") if form is not None and form.is_bound else ""
    target = posted or request.GET.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@require_http_methods(["GET", "POST"])
@staff_view
def break_glass(request, patient_id):
    """Værdispring: ask for a reason, grant time-limited access, then open the patient."""
    patient = patient_by_public_id(patient_id)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.break_glass_create(
                user=request.user, patient=patient, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            target = _safe_next(request, form)
            return redirect(target or reverse("patients:detail", args=[patient_id]))
    # The refusal page discloses no data, so it writes no access event.
    return render(
        request,
        "patients/break_glass.html",
        {
            "form": form,
            "patient_public_id": patient_id,
            "hours": settings.SUNDHED_BREAK_THE_GLASS_HOURS,
            "next": _safe_next(request, form),
        },
        status=400 if form.errors else 200,
    )


@patient_view(DataKind.ACCESS_LOG)
def access_log(request, access):
    """Who has looked at this patient (the same log the patient sees in the portal)."""
    events = selectors.access_log_for_patient(access)
    context = {"access": access, "banner": selectors.patient_banner(access), "events": events}
    return render(request, "patients/access_log.html", context)


@require_POST
@patient_view(DataKind.CAVE, action=Action.CREATE)
def cave_create(request, access):
    """Add a CAVE entry."""
    form = CaveEntryForm(request.POST)
    if form.is_valid():
        try:
            services.cave_entry_create(access=access, **form.cleaned_data)
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(request, _("CAVE entry added."))
            return redirect("patients:detail", patient_id=access.patient.public_id)
    context = {
        "access": access,
        "banner": selectors.patient_banner(access),
        "courses": selectors.care_course_list_for_patient(access),
        "cave_entries": selectors.cave_list_for_patient(access),
        "cave_form": form,
    }
    return render(request, "patients/detail.html", context, status=400)


@require_POST
@patient_view(DataKind.CARE_COURSE, action=Action.UPDATE)
def course_location(request, access, course_id):
    """Say where an admitted patient lies: room and bed, shown on the work list."""
    from patients.models import CareCourse

    course = selectors.object_get_for_patient(
        access, CareCourse, course_id, department="department_id", care_course="id"
    )
    form = LocationForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        services.care_course_set_location(
            access=access, course=course, location=form.cleaned_data["location"]
        )
    except (ValidationError, PermissionDenied) as error:
        if isinstance(error, PermissionDenied):
            raise
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("Room and bed saved."))
    return redirect("patients:detail", patient_id=access.patient.public_id)


@require_POST
@patient_view(DataKind.CAVE, action=Action.UPDATE)
def cave_mark_error(request, access, entry_id):
    """Mark a CAVE entry as entered in error."""
    entry = selectors.cave_entry_get_for_patient(access, entry_id)
    form = CaveErrorForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        services.cave_entry_mark_error(
            access=access, entry=entry, reason=form.cleaned_data["error_reason"]
        )
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("The entry is marked as entered in error."))
    return redirect("patients:detail", patient_id=access.patient.public_id)


@require_http_methods(["GET", "POST"])
@patient_view(DataKind.BLOCKING)
def blockings(request, access):
    """The patient's blockings (spærringer); administration adds them on the patient's request."""
    courses, departments = selectors.blocking_targets_for_patient(access)
    form = BlockingForm(request.POST or None, courses=courses, departments=departments)
    if request.method == "POST":
        if not selectors.blocking_may_manage(access):
            raise PermissionDenied(
                _("Only the patient, or administration on the patient's request, may do this.")
            )
        if form.is_valid():
            try:
                services.blocking_create(
                    access=access, **form.blocking_arguments(courses, departments)
                )
            except ValidationError as error:
                form_errors_attach(form, error)
            else:
                messages.success(request, _("The information is blocked for other departments."))
                return redirect("patients:blockings", patient_id=access.patient.public_id)
    context = {
        "access": access,
        "banner": selectors.patient_banner(access),
        "blockings": selectors.blocking_list_for_patient(access),
        "may_manage": selectors.blocking_may_manage(access),
        "form": form,
    }
    return render(request, "patients/blockings.html", context, status=400 if form.errors else 200)


@require_POST
@patient_view(DataKind.BLOCKING, action=Action.UPDATE)
def blocking_revoke(request, access, blocking_id):
    """Lift a blocking, on the patient's written request."""
    if not selectors.blocking_may_manage(access):
        raise PermissionDenied(
            _("Only the patient, or administration on the patient's request, may do this.")
        )
    blocking = selectors.blocking_get_for_patient(access, blocking_id)
    form = BlockingRevokeForm(request.POST)
    form.is_valid()  # one box: never invalid
    try:
        services.blocking_revoke(
            access=access,
            blocking=blocking,
            requested_by_patient=form.cleaned_data["requested_by_patient"],
        )
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("The blocking is lifted."))
    return redirect("patients:blockings", patient_id=access.patient.public_id)


@require_http_methods(["GET", "POST"])
@staff_view
def review_queue(request):
    """Break-the-glass events waiting for review; only access reviewers see this page."""
    if not request.staff.is_access_reviewer:
        raise PermissionDenied(_("Only access reviewers may see the review queue."))
    if request.method == "POST":
        _review_mark(request)
        return redirect("patients:review_queue")
    show_all = query_flag(request, "all")
    grants = list(
        selectors.break_glass_review_queue(reviewer=request.user, include_reviewed=show_all)[:200]
    )
    access_events_for_list(
        user=request.user,
        patients=[g.patient for g in grants],
        data_kind=DataKind.BREAK_GLASS_REVIEW,
        legal_basis=LegalBasis.ADMINISTRATION,
        path=request.path,
    )
    return render(request, "patients/review_queue.html", {"grants": grants, "show_all": show_all})


def _review_mark(request) -> None:
    """The reviewer's verdict on one grant of the queue."""
    form = ReviewForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        grant = selectors.break_glass_get_for_review(
            reviewer=request.user, public_id=form.cleaned_data["grant"]
        )
        services.break_glass_review(
            grant=grant, reviewer=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("Marked as reviewed."))
