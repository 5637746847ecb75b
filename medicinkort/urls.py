"""Medication pages: the tab and its live card part, reading the card now, orders,
reconciliation, and the ward's administration record."""

from django.urls import path

from medicinkort import views

app_name = "medicinkort"

urlpatterns = [
    path("mar/", views.mar, name="mar"),
    path("drugs/", views.drug_search, name="drug_search"),
    path("dosage-proposal/", views.dosage_proposal, name="dosage_proposal"),
    path("orders/<uuid:order_id>/stop/", views.order_stop, name="order_stop"),
    path("orders/<uuid:order_id>/cosign/", views.order_cosign, name="order_cosign"),
    path("orders/<uuid:order_id>/give/", views.administration_new, name="administration_new"),
    path(
        "reconciliations/<uuid:reconciliation_id>/not-updated/",
        views.reconciliation_not_updated,
        name="reconciliation_not_updated",
    ),
    path("<uuid:patient_id>/", views.medication, name="medication"),
    path("<uuid:patient_id>/card/", views.card_live, name="card_live"),
    path("<uuid:patient_id>/card/refresh/", views.card_refresh, name="card_refresh"),
    path("<uuid:patient_id>/orders/new/", views.order_new, name="order_new"),
    path("<uuid:patient_id>/drug-checks/", views.drug_checks, name="drug_checks"),
    path("<uuid:patient_id>/reconcile/<str:kind>/", views.reconcile, name="reconcile"),
]
