"""Laboratory pages: the queues, the HTTP receiver, the inbox, the results tab, trends, the live
panel, orders, imaging and the gated DICOM files."""

from django.urls import path

from labresults import api, views

app_name = "labresults"

urlpatterns = [
    path("queues/", views.queues, name="queues"),
    path("queues/<uuid:message_id>/", views.queue_message, name="queue_message"),
    path("api/messages/", api.InboundMessageCreateApi.as_view(), name="api_messages"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/badge/", views.inbox_badge, name="inbox_badge"),
    path("inbox/<uuid:item_id>/acknowledge/", views.inbox_acknowledge, name="inbox_acknowledge"),
    path("<uuid:patient_id>/results/", views.results, name="results"),
    path("<uuid:patient_id>/results/live/", views.live_panel, name="live_panel"),
    path(
        "<uuid:patient_id>/results/acknowledge/",
        views.results_acknowledge,
        name="results_acknowledge",
    ),
    path("<uuid:patient_id>/results/<str:code>/", views.trend, name="trend"),
    path("<uuid:patient_id>/orders/", views.order_create, name="order_create"),
    path("<uuid:patient_id>/imaging/", views.imaging, name="imaging"),
    path("imaging/<uuid:object_id>/thumbnail.png", views.dicom_thumbnail, name="dicom_thumbnail"),
    path("imaging/<uuid:object_id>/file.dcm", views.dicom_file, name="dicom_file"),
]
