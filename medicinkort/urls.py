"""Medication pages: the tab, its live card part, and reading the card from FMK now."""

from django.urls import path

from medicinkort import views

app_name = "medicinkort"

urlpatterns = [
    path("<uuid:patient_id>/", views.medication, name="medication"),
    path("<uuid:patient_id>/card/", views.card_live, name="card_live"),
    path("<uuid:patient_id>/card/refresh/", views.card_refresh, name="card_refresh"),
]
