"""Laboratory pages."""

from django.urls import path

from labresults import api, views

app_name = "labresults"

urlpatterns = [
    path("queues/", views.queues, name="queues"),
    path("queues/<uuid:message_id>/", views.queue_message, name="queue_message"),
    path("api/messages/", api.InboundMessageCreateApi.as_view(), name="api_messages"),
]
