"""The clinician's chart: overview, timeline (htmx pages) and the work list."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from audit.models import Action, DataKind
from booking.selectors import department_day
from chart import selectors
from common.params import query_choice_list, query_datetime, query_int_list
from patients.access import access_events_for_list, patient_view, staff_view
from patients.registry import timeline_sources
from patients.selectors import patient_banner


@require_GET
@patient_view(DataKind.OVERVIEW)
def overview(request, access):
    """Everything that matters first, on one screen."""
    banner = patient_banner(access)
    context = {
        "banner": banner,
        "panels": selectors.overview_for_patient(access, courses=banner["courses"]),
    }
    return render(request, "chart/overview.html", context)


@require_GET
@patient_view(DataKind.TIMELINE, action=Action.LIST)
def timeline(request, access):
    """The patient's timeline, newest first; htmx asks for the next page as the list scrolls."""
    kinds = query_choice_list(request, "kind", [source.kind for source in timeline_sources.all()])
    departments = query_int_list(request, "department")
    before = query_datetime(request, "before")
    items, cursor = selectors.timeline_for_patient(
        access, before=before, kinds=kinds, departments=departments
    )
    next_query = None
    if cursor is not None:
        params: list[tuple[str, str | int]] = [("before", cursor.isoformat())]
        params += [("kind", k) for k in kinds] + [("department", d) for d in departments]
        next_query = urlencode(params)
    context: dict[str, object] = {"items": items, "next_query": next_query, "kinds": kinds}
    if request.htmx and request.GET.get("before"):
        return render(request, "chart/timeline.html#page", context)
    banner = patient_banner(access)
    context |= {
        "banner": banner,
        "sources": timeline_sources.all(),
        "departments": selectors.departments_of_courses(access, banner["courses"]),
        "selected_departments": departments,
    }
    return render(request, "chart/timeline.html", context)


@require_GET
@staff_view
def worklist(request):
    """The active department's patients with open courses; unsigned notes are marked."""
    department_id = request.staff.active_department_id
    rows = selectors.worklist(user=request.user, department_id=department_id)
    appointments = department_day(
        user=request.user, department_id=department_id, day=timezone.localdate()
    )
    worklist_disclose(request, rows, appointments)
    return render(request, "chart/worklist.html", {"rows": rows, "appointments": appointments})


def worklist_disclose(request, rows, appointments=()) -> None:
    """Showing the work list discloses who is in the department (admitted, or booked today):
    one event per patient."""
    patients = {row["course"].patient.pk: row["course"].patient for row in rows}
    patients.update({b.patient_id: b.patient for b in appointments})
    if patients:
        access_events_for_list(
            user=request.user,
            patients=list(patients.values()),
            data_kind=DataKind.WORKLIST,
            path=request.path,
        )
