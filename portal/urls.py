from django.urls import path

from portal import views

app_name = "portal"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("log-paa/", views.signin, name="signin"),
    path("log-ud/", views.signout, name="signout"),
    path("hvem-har-set-min-journal/", views.access_log, name="access_log"),
    path("svar/", views.results, name="results"),
    path("svar/<str:code>/", views.result_trend, name="result_trend"),
    path("notater/", views.notes, name="notes"),
    path("spaerringer/", views.blockings, name="blockings"),
    path("spaerringer/<uuid:blocking_id>/ophaev/", views.blocking_lift, name="blocking_lift"),
]
