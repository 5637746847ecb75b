"""Staff pages: switching the active department."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from organisation.forms import SwitchDepartmentForm
from organisation.models import Department, StaffMember
from organisation.services import staff_member_switch_department


@require_POST
@login_required
def switch_department(request):
    """Make one of the staff member's departments the active one."""
    try:
        staff = request.user.staff
    except StaffMember.DoesNotExist:
        raise PermissionDenied(_("Only staff members have departments.")) from None
    form = SwitchDepartmentForm(request.POST)
    if not form.is_valid():
        raise Http404(_("No such department."))
    department = get_object_or_404(Department, public_id=form.cleaned_data["department"])
    staff_member_switch_department(staff=staff, department=department)
    messages.success(request, _("Active department: %(name)s") % {"name": department.name})
    target = form.cleaned_data["next"]
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "home"
    return redirect(target)
