"""What every page's top bar shows: the staff member's active department and the others."""

from organisation.models import StaffMember
from organisation.services import staff_member_current_departments


def staff(request):
    """The active department and the departments to switch among (lazily, only if used)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    try:
        member = user.staff
    except StaffMember.DoesNotExist:
        return {"staff_member": None}
    return {
        "staff_member": member,
        "active_department": member.active_department,
        "staff_departments": lambda: list(staff_member_current_departments(member)),
    }
