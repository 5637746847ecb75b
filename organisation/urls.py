"""Staff pages of the organisation."""

from django.urls import path

from organisation import views

app_name = "organisation"

urlpatterns = [
    path("department/", views.switch_department, name="switch_department"),
]
