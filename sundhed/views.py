"""Project-level pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from patients.access import access_events_for_list, mfa_setup_needed, staff_for
from patients.selectors import worklist_for_department


@login_required
def home(request):
    """The start page: for staff, the patients of the active department with open courses."""
    staff = staff_for(request.user)
    courses = None
    if staff is not None and staff.active_department_id and not mfa_setup_needed(request.user):
        courses = worklist_for_department(
            user=request.user, department_id=staff.active_department_id
        )
        if courses:
            access_events_for_list(
                user=request.user,
                patients=[c.patient for c in courses],
                data_kind="worklist",
                path=request.path,
            )
    return render(request, "home.html", {"courses": courses})
