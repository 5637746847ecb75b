"""The medication administration record (MAR): what the nurse gave, or did not, and why."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import Action, DataKind
from medicinkort.models import Administration, MedicationOrder
from patients.access import PatientAccess, access_change_record


def administration_record(
    *,
    access: PatientAccess,
    order: MedicationOrder,
    status: str,
    due_at: datetime | None = None,
    dose_given: Decimal | None = None,
    reason: str = "",
) -> Administration:
    """Record one administration. A scheduled time is recorded once; a PN dose needs the reason
    it was given and stays within the order's maximum a day; not given needs a reason."""
    staff = access.staff
    if staff is None:
        raise ValidationError(_("Only hospital staff record administrations."))
    reason = reason.strip()
    if order.status != MedicationOrder.Status.ACTIVE:
        raise ValidationError(_("The order is not active."))
    if status not in Administration.Status.values:
        raise ValidationError({"status": _("Choose given, not given or another dose.")})
    if status != Administration.Status.GIVEN and not reason:
        raise ValidationError({"reason": _("Write why.")})
    if status == Administration.Status.OTHER_DOSE and dose_given is None:
        raise ValidationError({"dose_given": _("Write the dose that was given.")})
    pn = order.schedule == MedicationOrder.Schedule.PN
    if pn and not reason:
        raise ValidationError({"reason": _("Write why the as-needed dose was given.")})
    if not pn and due_at is None:
        raise ValidationError({"due_at": _("Choose the time the dose was due.")})
    if not pn and due_at is not None and due_at > timezone.now() + timedelta(hours=2):
        raise ValidationError({"due_at": _("This dose is not due yet.")})
    with transaction.atomic():
        MedicationOrder.objects.select_for_update().get(pk=order.pk)
        if pn and status != Administration.Status.NOT_GIVEN:
            start = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
            given_today = (
                Administration.objects.filter(order=order, given_at__gte=start)
                .exclude(status=Administration.Status.NOT_GIVEN)
                .count()
            )
            if given_today >= (order.pn_max_per_day or 0):
                raise ValidationError(
                    _("The maximum of %(n)s doses a day is reached.") % {"n": order.pn_max_per_day}
                )
        try:
            with transaction.atomic():
                administration = Administration.objects.create(
                    order=order,
                    patient_id=order.patient_id,
                    due_at=None if pn else due_at,
                    status=status,
                    dose_given=dose_given if status != Administration.Status.NOT_GIVEN else None,
                    reason=reason,
                    given_by=staff,
                    given_at=timezone.now(),
                )
        except IntegrityError:
            raise ValidationError(_("This dose is already recorded.")) from None
        access_change_record(
            access, data_kind=DataKind.MEDICATION, action=Action.CREATE, obj=administration
        )
    return administration
