"""Patient pages. Every route with a patient goes through the access gate."""

from django.urls import path

from patients import views

app_name = "patients"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("break-glass/review/", views.review_queue, name="review_queue"),
    path("<uuid:patient_id>/", views.patient_detail, name="detail"),
    path("<uuid:patient_id>/break-glass/", views.break_glass, name="break_glass"),
    path("<uuid:patient_id>/access-log/", views.access_log, name="access_log"),
    path("<uuid:patient_id>/cave/", views.cave_create, name="cave_create"),
    path(
        "<uuid:patient_id>/cave/<uuid:entry_id>/error/",
        views.cave_mark_error,
        name="cave_mark_error",
    ),
    path(
        "<uuid:patient_id>/courses/<uuid:course_id>/location/",
        views.course_location,
        name="course_location",
    ),
    path("<uuid:patient_id>/blockings/", views.blockings, name="blockings"),
    path(
        "<uuid:patient_id>/blockings/<uuid:blocking_id>/revoke/",
        views.blocking_revoke,
        name="blocking_revoke",
    ),
]
