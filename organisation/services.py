"""Writes to the organisation: staff members and their departments."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.prepared import builder, objects_for
from organisation.models import Department, Membership, StaffMember


def staff_member_current_departments(staff: StaffMember):
    """Departments the staff member works in today."""
    return _departments_query(staff=staff.pk, day=timezone.localdate())


def staff_member_departments_today(staff: StaffMember, *, day=None) -> list[Department]:
    """The departments the staff member works in on `day` (today), cached on the object.

    The access gate and the top bar both need them on every page: one query serves both.
    """
    day = day or timezone.localdate()
    cached = staff.__dict__.get("_departments_today")
    if cached is not None and cached[0] == day:
        return cached[1]
    # Compiled once (common.prepared): the gate asks on every page.
    departments = objects_for(_departments_query, staff=staff.pk, day=day)
    staff.__dict__["_departments_today"] = (day, departments)
    return departments


@builder
def _departments_query(*, staff: int, day: date):
    return (
        Department.objects.filter(memberships__staff_id=staff, memberships__valid_from__lte=day)
        .filter(Q(memberships__valid_to__isnull=True) | Q(memberships__valid_to__gte=day))
        .select_related("hospital")
        .distinct()
        .order_by("name")
    )


def staff_member_switch_department(*, staff: StaffMember, department: Department) -> StaffMember:
    """Set the active department; only one the staff member currently works in."""
    if not staff_member_current_departments(staff).filter(pk=department.pk).exists():
        raise ValidationError(_("You do not work in that department."), code="department")
    staff.active_department = department
    staff.save(update_fields=["active_department", "updated_at"])
    return staff


def membership_add(*, staff: StaffMember, department: Department, valid_from=None) -> Membership:
    """Employ a staff member in a department; the first one becomes the active department."""
    membership, _created = Membership.objects.get_or_create(
        staff=staff,
        department=department,
        defaults={"valid_from": valid_from or timezone.localdate()},
    )
    if staff.active_department_id is None:
        staff.active_department = department
        staff.save(update_fields=["active_department", "updated_at"])
    return membership
