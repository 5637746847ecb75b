"""The chart. Every route with a patient goes through the access gate."""

from django.urls import path

from chart import views

app_name = "chart"

urlpatterns = [
    path("worklist/", views.worklist, name="worklist"),
    path("<uuid:patient_id>/", views.overview, name="overview"),
    path("<uuid:patient_id>/timeline/", views.timeline, name="timeline"),
]
