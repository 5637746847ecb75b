"""What every page's top bar shows: the staff member's active department and the others."""

from organisation.services import staff_member_departments_today
from patients.access import staff_for


def staff(request):
    """The active department and the departments to switch among (lazily, only if used)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    member = staff_for(user)
    if member is None:
        return {"staff_member": None}
    return {
        "staff_member": member,
        "active_department": member.active_department,
        "staff_departments": lambda: staff_member_departments_today(member),
    }
