"""The access gate: the one place that decides whether someone may see a patient's data.

Every view, API endpoint and task reaches a patient's data through here:
- views with `@patient_view(...)` (or `@patient_object_view(...)` for an object of a patient),
- DRF views with `PatientAccessPermission` plus `PatientApiMixin` (`patients.api`),
- tasks with `access_patient_as_system(...)`,
- lists with `Patient.objects.visible_to(user)` and `access_events_for_list(...)`.

Three modules: `policy` decides (and writes nothing), `events` writes the one access event
per disclosure, `http` adapts both to views. Each disclosure writes exactly one event before the
response leaves; if the event cannot be written, nothing is shown (fail closed).
"""

from patients.access.events import (
    SILENT_METHODS,
    access_change_record,
    access_events_for_list,
    access_patient_as_system,
    access_patients_as_system,
    access_record,
    disclosure_record,
    response_discloses,
)
from patients.access.http import (
    mfa_setup_needed,
    no_store,
    options_response,
    patient_by_public_id,
    patient_object_view,
    patient_view,
    second_factor_redirect,
    session_used_second_factor,
    staff_view,
)
from patients.access.policy import (
    ADMINISTRATIVE_KINDS,
    BREAK_GLASS_ROLES,
    PATIENT,
    STAFF,
    AccessRefused,
    PatientAccess,
    access_decide,
    actor_for,
    care_relation_filter,
    relation_source_register,
    staff_department_ids,
    staff_for,
    visible_patient_filter,
    without_blocked,
)

__all__ = [
    "ADMINISTRATIVE_KINDS",
    "BREAK_GLASS_ROLES",
    "PATIENT",
    "SILENT_METHODS",
    "STAFF",
    "AccessRefused",
    "PatientAccess",
    "access_change_record",
    "access_decide",
    "access_events_for_list",
    "access_patient_as_system",
    "access_patients_as_system",
    "access_record",
    "actor_for",
    "care_relation_filter",
    "disclosure_record",
    "mfa_setup_needed",
    "no_store",
    "options_response",
    "patient_by_public_id",
    "patient_object_view",
    "patient_view",
    "relation_source_register",
    "response_discloses",
    "second_factor_redirect",
    "session_used_second_factor",
    "staff_department_ids",
    "staff_for",
    "staff_view",
    "visible_patient_filter",
    "without_blocked",
]
