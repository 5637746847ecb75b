"""Journal pages. Every route with a patient or a note goes through the access gate."""

from django.urls import path

from journal import views

app_name = "journal"

urlpatterns = [
    path("sks/", views.sks_search, name="sks_search"),
    path("cosign/", views.cosign_queue, name="cosign_queue"),
    path("messages/", views.message_inbox, name="message_inbox"),
    path("<uuid:patient_id>/messages/", views.patient_messages, name="messages"),
    path("<uuid:patient_id>/messages/<uuid:thread_id>/", views.patient_messages, name="thread"),
    path(
        "<uuid:patient_id>/messages/file/<uuid:attachment_id>/",
        views.message_attachment,
        name="message_attachment",
    ),
    path("<uuid:patient_id>/notes/", views.note_list, name="notes"),
    path("<uuid:patient_id>/notes/new/", views.note_new, name="note_new"),
    path("<uuid:patient_id>/search/", views.note_search, name="search"),
    path("<uuid:patient_id>/epikrise/", views.epikrise_new, name="epikrise_new"),
    path("<uuid:patient_id>/macros/<slug:name>/", views.macro_expand, name="macro"),
    path("<uuid:patient_id>/diagnoses/", views.diagnoses, name="diagnoses"),
    path(
        "<uuid:patient_id>/diagnoses/<uuid:diagnosis_id>/<str:change>/",
        views.diagnosis_change,
        name="diagnosis_change",
    ),
    path("<uuid:patient_id>/vitals/", views.vitals, name="vitals"),
    path(
        "<uuid:patient_id>/vitals/<uuid:vitals_id>/error/",
        views.vitals_mark_error,
        name="vitals_mark_error",
    ),
    path("notes/<uuid:note_id>/", views.note_detail, name="note"),
    path("notes/<uuid:note_id>/edit/", views.note_edit, name="note_edit"),
    path("notes/<uuid:note_id>/autosave/", views.note_autosave, name="note_autosave"),
    path("notes/<uuid:note_id>/sign/", views.note_sign, name="note_sign"),
    path("notes/<uuid:note_id>/cosign/", views.note_cosign, name="note_cosign"),
    path("notes/<uuid:note_id>/correct/", views.note_correct, name="note_correct"),
    path("notes/<uuid:note_id>/error/", views.note_mark_error, name="note_mark_error"),
    path("notes/<uuid:note_id>/print/", views.note_print, name="note_print"),
]
