"""The gate's events: the one access event per disclosure, and the rule for what discloses.

Every access event of a patient is written through one of four doors: a page or API response
(`disclosure_record`, after the gate), a change inside a service's transaction
(`access_change_record`), a list, search or admin page (`access_events_for_list`, called by the
view with what it shows) and a task acting for an integration (`access_patient_as_system`).
"""

from audit.models import Action, LegalBasis
from audit.services import (
    Actor,
    access_event_record,
    access_events_record_each,
    access_events_record_many,
)
from patients.access.policy import PatientAccess, actor_for, staff_for

# Methods that never show a body: HEAD is answered by the GET view, then emptied.
SILENT_METHODS = frozenset({"HEAD", "OPTIONS"})


def response_discloses(request, response) -> bool:
    """Whether this response shows the patient's data, so it must be on the log.

    A page the view rendered discloses whatever its status (a form re-rendered with 400 shows
    the whole page); a redirect, 204 No Content (a poll that found nothing new), 304, an error
    page made from an exception, and HEAD or OPTIONS show nothing.
    """
    if request.method in SILENT_METHODS or getattr(response, "exception", False):
        return False
    status = response.status_code
    return not (300 <= status < 400 or status == 204)


def disclosure_record(access: PatientAccess, *, request, response, action: str) -> bool:
    """The one shared step after a gated view: write its event if the response discloses.

    Returns whether an event was written. A re-rendered form (4xx) changed nothing, so its
    event is a view. Raises whatever the database raises: the caller then shows nothing.
    """
    if access.recorded or not response_discloses(request, response):
        return False
    if response.status_code >= 400:
        action = Action.VIEW
    access_record(access, action=action, path=request.path)
    return True


def access_record(access: PatientAccess, *, action: str = Action.VIEW, path: str = "") -> None:
    """Write the one access event for this disclosure. Raises if the database refuses."""
    access_event_record(
        actor=access.actor,
        patient_id=access.patient.pk,
        data_kind=access.data_kind,
        action=action,
        legal_basis=access.legal_basis,
        object_type=access.object_type,
        object_id=access.object_id,
        reason=access.break_glass.reason if access.break_glass else "",
        path=path,
        flagged=access.legal_basis == LegalBasis.BREAK_GLASS,
    )
    access.recorded = True


def access_change_record(
    access: PatientAccess, *, data_kind: str, action: str, obj, reason: str = ""
) -> None:
    """Write the access event of a change, inside the caller's transaction (services call it).

    The change is what the response shows (an autosave's "saved", a re-rendered page after a
    write): it counts as the request's one event, so the gate writes no second one.
    """
    access_event_record(
        actor=access.actor,
        patient_id=access.patient.pk,
        data_kind=data_kind,
        action=action,
        legal_basis=access.legal_basis,
        object_type=obj._meta.label_lower,
        object_id=str(obj.public_id),
        reason=reason,
        flagged=access.legal_basis == LegalBasis.BREAK_GLASS,
    )
    access.recorded = True


def access_patient_as_system(
    *,
    patient,
    data_kind: str,
    action: str,
    system: str,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
) -> None:
    """A task touches a patient's data on behalf of an integration: log it as the system."""
    access_patients_as_system(
        touched=[(system, patient.pk, object_id)],
        data_kind=data_kind,
        action=action,
        object_type=object_type,
        reason=reason,
    )


def access_patients_as_system(
    *,
    touched: list[tuple[str, int, str]],
    data_kind: str,
    action: str,
    object_type: str = "",
    reason: str = "",
) -> None:
    """The same door for a batch: one event per (system, patient id, object id), one statement."""
    access_events_record_each(
        events=[
            (Actor(user_id=None, display=system, role="system"), patient_id, object_id)
            for system, patient_id, object_id in touched
        ],
        data_kind=data_kind,
        action=action,
        legal_basis=LegalBasis.SYSTEM,
        object_type=object_type,
        reason=reason,
    )


def access_events_for_list(
    *,
    user,
    patients,
    data_kind: str,
    action: str = Action.LIST,
    reason: str = "",
    path: str = "",
    legal_basis: str | None = None,
    obj=None,
) -> None:
    """These patients were disclosed in a list or search result: one event each, one statement.

    Views call it with what they show; selectors never log. An empty list still writes one
    event without a patient, so every search is on record. `obj` names the one object shown.
    """
    staff = staff_for(user)
    actor = actor_for(user, staff)
    ids = [getattr(p, "pk", p) for p in patients] or [None]
    access_events_record_many(
        actor=actor,
        patient_ids=ids,
        data_kind=data_kind,
        action=action,
        legal_basis=legal_basis or (LegalBasis.TREATMENT if staff else LegalBasis.SELF),
        reason=reason,
        path=path,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(getattr(obj, "public_id", obj.pk)) if obj is not None else "",
    )
