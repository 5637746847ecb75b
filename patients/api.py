"""The patient API: the gate as a DRF permission, and one APIView per operation."""

from django.db import DatabaseError
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.models import Action, DataKind
from patients import selectors
from patients.access import (
    STAFF,
    AccessRefused,
    access_decide,
    disclosure_record,
    mfa_setup_needed,
    no_store,
    patient_by_public_id,
    session_used_second_factor,
    staff_for,
)
from patients.models import CaveEntry


class PatientAccessPermission(BasePermission):
    """The access gate for API views whose URL names a patient (`patient_id`).

    The view declares `data_kind` (and `audience` for the portal); the granted access is put on
    `request.patient_access`, and `PatientApiMixin` writes the one access event.
    """

    patient_gate = True

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            raise NotAuthenticated()
        audience = getattr(view, "audience", STAFF)
        if audience == STAFF and (staff_for(user) is not None or user.is_staff):
            if mfa_setup_needed(user):
                raise PermissionDenied(_("Set up a second factor before opening patient data."))
            if not session_used_second_factor(request):
                raise PermissionDenied(_("Sign in with your second factor to open patient data."))
        patient = patient_by_public_id(view.kwargs["patient_id"])
        try:
            request.patient_access = access_decide(
                user=user, patient=patient, data_kind=view.data_kind, audience=audience
            )
        except AccessRefused as refusal:
            raise PermissionDenied(str(refusal.message)) from None
        return True


class PatientApiMixin(APIView):
    """Writes exactly one access event for a response that discloses, before it leaves.

    The rule is the HTML gate's (`disclosure_record`); an error answer made from an exception
    shows nothing. Fails closed: if the event cannot be written, the answer is a 503.
    """

    permission_classes = [PatientAccessPermission]
    action = Action.VIEW

    def finalize_response(self, request, response, *args, **kwargs):
        access = getattr(request, "patient_access", None)
        if access is not None:
            try:
                disclosure_record(access, request=request, response=response, action=self.action)
            except DatabaseError:
                response = Response(
                    {"detail": _("The access could not be logged, so nothing is shown.")},
                    status=503,
                )
        return no_store(super().finalize_response(request, response, *args, **kwargs))


class CaveOutput(serializers.ModelSerializer):
    """One CAVE entry."""

    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = CaveEntry
        fields = ["id", "kind", "substance", "atc_code", "reaction", "severity", "source", "status"]


class PatientDetailApi(PatientApiMixin, APIView):
    """The patient's identity, active CAVE and active course (what the banner shows)."""

    data_kind = DataKind.SUMMARY

    class Output(serializers.Serializer):
        id = serializers.UUIDField(source="patient.public_id")
        cpr = serializers.CharField(source="patient.cpr_formatted")
        given_names = serializers.CharField(source="patient.given_names")
        family_name = serializers.CharField(source="patient.family_name")
        birth_date = serializers.DateField(source="patient.birth_date")
        sex = serializers.CharField(source="patient.sex")
        deceased_date = serializers.DateField(source="patient.deceased_date")
        cave = CaveOutput(many=True)
        has_blocked = serializers.BooleanField()

    def get(self, request, patient_id):
        banner = selectors.patient_banner(request.patient_access)
        return Response(self.Output(banner).data)


class CaveListApi(PatientApiMixin, APIView):
    """All CAVE entries of the patient, including inactive and entered in error."""

    data_kind = DataKind.CAVE

    def get(self, request, patient_id):
        entries = selectors.cave_list_for_patient(request.patient_access)
        return Response(CaveOutput(entries, many=True).data)
