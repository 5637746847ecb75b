"""The project's URLs: each app mounts its own."""

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from sundhed import health, views

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"))),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("patients/", include("patients.urls")),
    path("api/patients/", include("patients.api_urls")),
    path("organisation/", include("organisation.urls")),
    path("lab/", include("labresults.urls")),
    path("medication/", include("medicinkort.urls")),
    path("booking/", include("booking.urls")),
    path("journal/", include("journal.urls")),
    path("chart/", include("chart.urls")),
    path("portal/", include("portal.urls")),
    path("", views.home, name="home"),
]
