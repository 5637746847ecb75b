"""Project-level pages."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone

from booking.selectors import department_day
from chart.selectors import worklist
from chart.views import worklist_disclose
from journal.messaging import awaiting_count
from journal.selectors import cosign_count
from labresults.selectors import inbox_counts, queue_counts
from labresults.views import QUEUE_ROLES
from patients.access import no_store, second_factor_redirect, staff_for
from patients.models import Patient


@login_required
def home(request):
    """The start page: for staff, the department's dashboard (results, queues) and work list."""
    staff = staff_for(request.user)
    # A citizen signed in: the portal (entered with MitID), never the staff's start page.
    citizen = staff is None and not request.user.is_staff
    if citizen and Patient.objects.filter(user=request.user).exists():
        return redirect("portal:signin")
    rows = dashboard = None
    appointments: list = []
    second_factor_passed = second_factor_redirect(request) is None
    if staff is not None and staff.active_department_id and second_factor_passed:
        rows = worklist(user=request.user, department_id=staff.active_department_id)
        appointments = department_day(
            user=request.user, department_id=staff.active_department_id, day=timezone.localdate()
        )
        worklist_disclose(request, rows, appointments)
        dashboard = {
            "inbox": inbox_counts(staff=staff, department_id=staff.active_department_id),
            "cosign": cosign_count(department_id=staff.active_department_id),
            "messages": awaiting_count(staff.active_department_id),
            # The queues hold raw messages of any patient: only their roles see the counts.
            "queues": queue_counts() if staff.role in QUEUE_ROLES else None,
        }
    context = {"rows": rows, "dashboard": dashboard, "appointments": appointments}
    return no_store(render(request, "home.html", context))
