"""Orders to the laboratory: created by a clinician, sent by a task over MLLP until acknowledged."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from labresults.hl7.orm import build_orm, send_mllp
from labresults.models import LabOrder
from labresults.selectors import open_course_in_department
from labresults.services.dispatch import dispatch_on_commit
from organisation.models import Role
from patients.access import access_change_record, access_patient_as_system

# Who orders analyses: doctors and nurses (nurses order by standing instructions).
ORDER_ROLES = frozenset({Role.LAEGE, Role.SYGEPLEJERSKE})


def lab_order_create(
    *, access, analyses, priority: str = "routine", comment: str = "", care_course=None
):
    """Order analyses for the patient the gate granted; the order number links the results."""
    staff = access.staff
    if staff is None or staff.role not in ORDER_ROLES:
        raise PermissionDenied(_("Only doctors and nurses order analyses."))
    analyses = list(analyses)
    if not analyses:
        raise ValidationError({"analyses": _("Choose at least one analysis or panel.")})
    department_id = staff.active_department_id or (care_course and care_course.department_id)
    if not department_id:
        raise ValidationError(_("Choose your active department before ordering."))
    # The order belongs to a course (the patient's course in the ordering department), so a
    # blocking of that course hides its results too.
    care_course = care_course or open_course_in_department(access.patient, department_id)
    with transaction.atomic():
        order = LabOrder(
            patient=access.patient,
            care_course=care_course,
            department_id=department_id,
            ordered_by=staff,
            ordered_at=timezone.now(),
            priority=priority,
            comment=comment,
        )
        order.placer_number = "S" + order.public_id.hex[:11].upper()
        order.save()
        order.analyses.set(analyses)
        access_change_record(access, data_kind=DataKind.LAB_ORDERS, action=Action.CREATE, obj=order)
        if settings.SUNDHED_LAB_ORDER_ENDPOINT:
            dispatch_on_commit("labresults.send_lab_order", order.pk)
    return order


def lab_order_send(*, order_id: int) -> bool:
    """Send an unsent order to the laboratory; True when it acknowledged (AA or CA).

    The row is locked while sending, so two workers never send one order; an order that fails
    to send stays unsent and the sweeper tries again.
    """
    endpoint = settings.SUNDHED_LAB_ORDER_ENDPOINT
    if not endpoint:
        return False
    host, _, port = endpoint.rpartition(":")
    with transaction.atomic():
        order = (
            LabOrder.objects.select_for_update(skip_locked=True)
            .select_related("patient", "ordered_by__user", "department")
            .filter(pk=order_id, sent_at__isnull=True, status=LabOrder.Status.ORDERED)
            .first()
        )
        if order is None:
            return False
        message = build_orm(
            order=order,
            patient=order.patient,
            analyses=list(order.analyses.all()),
            ordered_by=order.ordered_by.user.get_full_name(),
            department_code=order.department.sor_code,
        )
        code = send_mllp(host or "127.0.0.1", int(port), message)
        if code not in ("AA", "CA"):
            raise ConnectionError(f"the laboratory answered {code}")
        # The order carried the patient's CPR and name out of the house: that is on record.
        access_patient_as_system(
            patient=order.patient,
            data_kind=DataKind.LAB_ORDERS,
            action=Action.EXPORT,
            system=f"Laboratory order to {endpoint}",
            object_type="labresults.laborder",
            object_id=str(order.public_id),
        )
        order.sent_at = timezone.now()
        order.save(update_fields=["sent_at", "updated_at"])
    return True
