"""The gate as HTTP: decorators for views, the second-factor check, refusal pages.

`patient_view` and `patient_object_view` decide, call the view, and write the one access event
through `events.disclosure_record`, the step the DRF permission (`patients.api`) shares.
"""

from functools import wraps
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from audit.models import Action
from common.db_router import primary
from common.prepared import builder, objects_for
from patients.access.events import disclosure_record
from patients.access.policy import (
    BREAK_GLASS_ROLES,
    PATIENT,
    STAFF,
    AccessRefused,
    access_decide,
    proxy_valid,
    staff_for,
)
from patients.models import Patient


def mfa_setup_needed(user) -> bool:
    """Whether a staff member must set up a second factor before seeing patient data."""
    if getattr(settings, "SUNDHED_MFA_OPTIONAL", False):
        return False
    staff = getattr(user, "_sundhed_staff", None)
    if staff is not None and hasattr(staff, "has_second_factor"):
        return not staff.has_second_factor
    from allauth.mfa.models import Authenticator

    return not Authenticator.objects.filter(user=user).exists()


def session_used_second_factor(request) -> bool:
    """Whether this session's sign-in (or a later re-authentication) used the second factor.

    Having a factor is not enough: a password-only sign-in (once possible through the admin
    login) must not open patient data.
    """
    if getattr(settings, "SUNDHED_MFA_OPTIONAL", False):
        return True
    from allauth.account.authentication import get_authentication_records

    records = get_authentication_records(request, request.user)
    return any(record.get("method") == "mfa" for record in records)


def second_factor_redirect(request):
    """Where a signed-in staff user must go before patient data: set up or use the factor.

    Returns None when the session has passed the second factor (or the user is not staff).
    """
    user = request.user
    if not user.is_authenticated or (staff_for(user) is None and not user.is_staff):
        return None
    query = urlencode({"next": request.get_full_path()})
    if mfa_setup_needed(user):
        return redirect(f"{reverse('mfa_activate_totp')}?{query}")
    if not session_used_second_factor(request):
        return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
    return None


def options_response() -> HttpResponse:
    """OPTIONS is answered here, empty: a function view would render the whole GET page."""
    response = HttpResponse(status=200)
    response["Allow"] = "GET, HEAD, POST, OPTIONS"
    response["Content-Length"] = "0"
    return response


def no_store(response):
    """Patient data must not stay in a browser's or a proxy's cache."""
    patch_cache_control(response, no_store=True, private=True)
    return response


def _to_sign_in(request):
    return redirect(f"{reverse('account_login')}?{urlencode({'next': request.get_full_path()})}")


def _refusal_response(request, refusal: AccessRefused):
    if refusal.status == 401:
        return _to_sign_in(request)
    return render(
        request,
        "patients/access_refused.html",
        {
            "refusal": refusal,
            "patient_public_id": refusal.patient.public_id if refusal.patient else None,
        },
        status=refusal.status,
    )


def _audit_failed_response(request):
    return render(request, "patients/audit_failed.html", status=503)


def _gate(view, *, data_kind, action, audience, find_patient):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "OPTIONS":
            return options_response()
        if audience == STAFF and (detour := second_factor_redirect(request)):
            return detour
        # The gate decides on the primary, also on a page that reads from a replica: a
        # blocking or a care relation made a moment ago counts at once.
        with primary():
            patient, extra = find_patient(kwargs)
            try:
                access = access_decide(
                    user=request.user, patient=patient, data_kind=data_kind, audience=audience
                )
            except AccessRefused as refusal:
                return _refusal_response(request, refusal)
        if extra is not None:
            if access.hides(
                department_id=getattr(extra, "department_id", None),
                care_course_id=getattr(extra, "care_course_id", None),
            ):
                return _refusal_response(
                    request,
                    AccessRefused(
                        _("The patient has blocked this information (spærret)."),
                        patient=patient,
                        can_break_glass=access.staff is not None
                        and access.staff.role in BREAK_GLASS_ROLES,
                    ),
                )
            access.disclose(extra)
            kwargs["obj"] = extra
        response = view(request, access, *args, **kwargs)
        try:
            disclosure_record(access, request=request, response=response, action=action)
        except DatabaseError:
            return _audit_failed_response(request)
        return no_store(response)

    # Read by the access sweep: which routes are gated, and for what.
    wrapped.__dict__["patient_gate"] = {"data_kind": data_kind, "audience": audience}
    return wrapped


def staff_view(view):
    """Decorate a staff page that is not one patient's (search, work lists, queues).

    Signed-in staff members only, whose session passed the second factor; others get 403 or
    the sign-in.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return _to_sign_in(request)
        staff = staff_for(user)
        if staff is None:
            raise PermissionDenied(_("Only hospital staff may open this page."))
        if detour := second_factor_redirect(request):
            return detour
        request.staff = staff
        return no_store(view(request, *args, **kwargs))

    wrapped.__dict__["staff_view"] = True
    return wrapped


def patient_by_public_id(public_id) -> Patient:
    """The patient a URL names, or 404 (before the gate decides; for the way into break the
    glass too, which must show nothing of them)."""
    try:
        key = public_id if isinstance(public_id, UUID) else UUID(str(public_id))
    except ValueError:
        raise Http404(_("No such patient.")) from None
    # Compiled once (common.prepared): every patient page asks.
    found = objects_for(_patient_query, public_id=key)
    if not found:
        raise Http404(_("No such patient."))
    return found[0]


@builder
def _patient_query(*, public_id: UUID):
    return Patient.objects.filter(public_id=public_id)


def patient_view(data_kind: str, *, action: str = Action.VIEW, audience: str = STAFF):
    """Decorate a view taking `patient_id` (public id): it receives `access` instead.

    The view is called as `view(request, access, ...)` and a response that discloses (see
    `events.response_discloses`) is logged once.
    """

    def find(kwargs):
        return patient_by_public_id(kwargs.pop("patient_id")), None

    def decorator(view):
        return _gate(view, data_kind=data_kind, action=action, audience=audience, find_patient=find)

    return decorator


def patient_object_view(
    model,
    data_kind: str,
    *,
    kwarg: str = "object_id",
    action: str = Action.VIEW,
    audience: str = STAFF,
    patient_field: str = "patient",
):
    """Decorate a view of one object that belongs to a patient (a note, a result).

    The object is looked up by its public id from `kwarg`, its patient goes through the gate,
    a blocked object is refused, and the view is called as `view(request, access, obj=...)`.
    """

    def find(kwargs):
        try:
            obj = model.objects.select_related(patient_field).get(public_id=kwargs.pop(kwarg))
        except (model.DoesNotExist, ValueError):
            raise Http404(_("Not found.")) from None
        patient = getattr(obj, patient_field)
        if patient is None:  # not matched to anyone yet (an unmatched DICOM file)
            raise Http404(_("Not found."))
        return patient, obj

    def decorator(view):
        return _gate(view, data_kind=data_kind, action=action, audience=audience, find_patient=find)

    return decorator


def acting_subject(request, acting_key: str) -> Patient | None:
    """The person the signed-in citizen acts for as a proxy (kept in the session under
    `acting_key`) while the proxy holds; None when acting as oneself, and the session forgets a
    proxy that no longer holds."""
    acting = request.session.get(acting_key)
    if not acting:
        return None
    subject = Patient.objects.filter(pk=acting).first()
    if subject is not None and proxy_valid(user=request.user, patient=subject):
        return subject
    request.session.pop(acting_key, None)
    return None


def own_record_view(
    data_kind: str,
    *,
    action: str = Action.VIEW,
    session_key: str,
    acting_key: str = "",
    own_only: bool = False,
):
    """Decorate a citizen's portal page of their own record: the patient is the one the
    session was signed in for (`session_key`, set at the citizen's sign-in), or the one the
    citizen acts for as a proxy (`acting_key`); the gate decides with the patient as the
    audience (basis: the patient themself, or proxy), and the page is logged once like any
    other disclosure. A session without the key goes to the portal's sign-in. A page about the
    citizen themself only (`own_only`: the powers of attorney they give and hold) is always on
    their own record, also while they act for someone."""

    def find(request):
        patient_id = request.session.get(session_key)
        if patient_id is None:
            return None
        if acting_key and not own_only:
            subject = acting_subject(request, acting_key)
            if subject is not None:
                return subject
        return Patient.objects.filter(pk=patient_id).first()

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            with primary():  # whom the citizen may see is decided on the primary
                patient = find(request) if request.user.is_authenticated else None
            if patient is None:
                return redirect("portal:signin")
            gated = _gate(
                view, data_kind=data_kind, action=action, audience=PATIENT,
                find_patient=lambda _kwargs: (patient, None),
            )  # fmt: skip
            return gated(request, *args, **kwargs)

        wrapped.__dict__["patient_gate"] = {"data_kind": data_kind, "audience": PATIENT}
        return wrapped

    return decorator
