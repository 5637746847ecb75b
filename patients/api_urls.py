"""The patient API routes; every one goes through PatientAccessPermission."""

from django.urls import path

from patients import api

app_name = "patients_api"

urlpatterns = [
    path("<uuid:patient_id>/", api.PatientDetailApi.as_view(), name="detail"),
    path("<uuid:patient_id>/cave/", api.CaveListApi.as_view(), name="cave"),
]
