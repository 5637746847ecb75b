"""The project's URLs: each app mounts its own."""

from django.contrib import admin
from django.urls import include, path

from sundhed import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("patients/", include("patients.urls")),
    path("api/patients/", include("patients.api_urls")),
    path("organisation/", include("organisation.urls")),
    path("lab/", include("labresults.urls")),
    path("medication/", include("medicinkort.urls")),
    path("journal/", include("journal.urls")),
    path("chart/", include("chart.urls")),
    path("", views.home, name="home"),
]
