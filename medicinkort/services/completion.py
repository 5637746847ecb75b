"""What follows when a reconciliation's changes have all reached FMK, or the doctor recorded
why not: the reconciliation is done, a discharge ends its admission, the card is read again.
Called from the FMK writes' step and from the reconciliation's services alike."""

from django.utils import timezone

from medicinkort.models import CardRead, Reconciliation
from medicinkort.services.reads import READ_KIND
from outbox import engine
from patients.services import care_course_end


def reconciliation_fmk_updated(*, reconciliation_id: int) -> None:
    """Every change reached FMK: the reconciliation is done (a discharge completes), and the card
    is read again so the pages show what FMK now holds."""
    reconciliation = Reconciliation.objects.select_for_update().get(pk=reconciliation_id)
    if reconciliation.status != Reconciliation.Status.SENDING:
        return  # the doctor recorded why FMK was not updated, or it was refused
    reconciliation.status = Reconciliation.Status.UPDATED
    reconciliation.fmk_updated_at = timezone.now()
    reconciliation.save(update_fields=["status", "fmk_updated_at", "updated_at"])
    complete(reconciliation)
    read = CardRead.objects.create(
        patient_id=reconciliation.patient_id, requested_by=reconciliation.confirmed_by.user,
        occasion=CardRead.Occasion.AFTER_WRITE,
    )  # fmt: skip
    engine.dispatch_on_commit(READ_KIND, read.pk)


def complete(reconciliation: Reconciliation) -> None:
    """A discharge's reconciliation is done with: the admission ends."""
    course = reconciliation.care_course
    if reconciliation.kind == Reconciliation.Kind.DISCHARGE and course is not None:
        care_course_end(course=course)
