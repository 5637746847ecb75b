"""Orders to the laboratory: created by a clinician, sent over MLLP until acknowledged (the order
message is a kind of the outbox's durable work)."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from labresults.hl7.orm import build_orm, send_mllp
from labresults.kinds import ORDER as ORDER_KIND
from labresults.models import LabOrder, LabOrderMessage
from labresults.selectors import open_course_in_department
from organisation.models import Role
from outbox import engine, kinds
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
            message = LabOrderMessage.objects.create(order=order)
            engine.dispatch_on_commit(ORDER_KIND, message.pk)
    return order


def lab_order_send(*, order_id: int) -> bool:
    """Send the order's waiting message now in this process (a test), claimed through the
    engine as a worker does; True when the laboratory acknowledged it."""
    message = LabOrderMessage.objects.filter(order_id=order_id).first()
    if message is None:
        return False
    engine.work(ORDER_KIND, [message.pk])
    message.refresh_from_db()
    return message.status == LabOrderMessage.Status.SENT


def lab_order_messages_perform(messages: list[LabOrderMessage]) -> None:
    """The kind's step: each claimed order message sent; not acknowledged, it waits and is
    sent again after a pause (never given up: the laboratory must get the order)."""
    kind = kinds.get(ORDER_KIND)
    for message in messages:
        try:
            _send_one(kind, message)
        except OSError as error:
            engine.retry(kind, message, reason=str(error)[:1000], give_up=False)


def _send_one(kind, message: LabOrderMessage) -> None:
    endpoint = settings.SUNDHED_LAB_ORDER_ENDPOINT
    order = message.order
    if not endpoint or order.status != LabOrder.Status.ORDERED:
        why = "Orders are not sent electronically now, or the order was cancelled."
        engine.finish(kind, message, LabOrderMessage.Status.FAILED, reason=why)
        return
    host, _sep, port = endpoint.rpartition(":")
    orm = build_orm(
        order=order,
        patient=order.patient,
        analyses=list(order.analyses.all()),
        ordered_by=order.ordered_by.user.get_full_name(),
        department_code=order.department.sor_code,
    )
    if not engine.hand(kind, message):
        return
    code = send_mllp(host or "127.0.0.1", int(port), orm)
    if code not in ("AA", "CA"):
        raise ConnectionError(f"the laboratory answered {code}")
    with transaction.atomic():
        if not engine.finish(kind, message, LabOrderMessage.Status.SENT, reason=""):
            return  # another worker took it over and records the same acknowledgement
        # The order carried the patient's CPR and name out of the house: that is on record.
        access_patient_as_system(
            patient=order.patient,
            data_kind=DataKind.LAB_ORDERS,
            action=Action.EXPORT,
            system=f"Laboratory order to {endpoint}",
            object_type="labresults.laborder",
            object_id=str(order.public_id),
        )
        now = timezone.now()
        LabOrder.objects.filter(pk=order.pk).update(sent_at=now, updated_at=now)


def register_order_messages() -> None:
    """Order messages are a kind of the outbox's durable work (from LabresultsConfig.ready)."""
    from django.utils.translation import gettext_lazy

    kinds.register(
        kinds.Kind(
            name=ORDER_KIND,
            model=LabOrderMessage,
            perform=lab_order_messages_perform,
            label=gettext_lazy("Orders to the laboratory"),
            stale_after_setting="SUNDHED_LAB_SWEEP_AFTER",
            stale_handed="again",
            related=("order__patient", "order__ordered_by__user", "order__department"),
        )  # fmt: skip
    )
