"""Project-level pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from chart.selectors import worklist
from patients.access import access_events_for_list, mfa_setup_needed, staff_for


@login_required
def home(request):
    """The start page: for staff, the work list of the active department."""
    staff = staff_for(request.user)
    rows = None
    if staff is not None and staff.active_department_id and not mfa_setup_needed(request.user):
        rows = worklist(user=request.user, department_id=staff.active_department_id)
        if rows:
            access_events_for_list(
                user=request.user,
                patients=[row["course"].patient for row in rows],
                data_kind="worklist",
                path=request.path,
            )
    return render(request, "home.html", {"rows": rows})
