from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("log-paa/", views.signin, name="signin"),
    path("log-ud/", views.signout, name="signout"),
    path("hvem-har-set-min-journal/", views.access_log, name="access_log"),
    path("aftaler/", views.appointments, name="appointments"),
    path("aftaler/book/<uuid:type_id>/", views.appointment_book, name="appointment_book"),
    path("aftaler/<uuid:booking_id>/flyt/", views.appointment_move, name="appointment_move"),
    path("aftaler/<uuid:booking_id>/aflys/", views.appointment_cancel, name="appointment_cancel"),
    path("aftaler/kalender/", views.calendar_address, name="calendar_address"),
    path("svar/", views.results, name="results"),
    path("svar/<str:code>/", views.result_trend, name="result_trend"),
    path("notater/", views.notes, name="notes"),
    path("medicin/", views.medication, name="medication"),
    path("beskeder/", views.messages_list, name="messages"),
    path("beskeder/<uuid:thread_id>/", views.thread, name="thread"),
    path("beskeder/fil/<uuid:attachment_id>/", views.attachment, name="attachment"),
    path("spaerringer/", views.blockings, name="blockings"),
    path("fuldmagt/", views.proxies, name="proxies"),
    path("fuldmagt/handl-for/", views.act_for, name="act_for"),
    path("spaerringer/<uuid:blocking_id>/ophaev/", views.blocking_lift, name="blocking_lift"),
]
