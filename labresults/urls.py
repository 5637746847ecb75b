"""Laboratory pages."""

from django.urls import path

from labresults import views

app_name = "labresults"

urlpatterns = [
    path("queues/", views.queues, name="queues"),
    path("queues/<uuid:message_id>/", views.queue_message, name="queue_message"),
]
