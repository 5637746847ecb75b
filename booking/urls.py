"""Booking pages. Every route with a patient or a booking goes through the access gate."""

from django.urls import path

from booking import views

app_name = "booking"

urlpatterns = [
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/feed/", views.calendar_feed, name="calendar_feed"),
    path("ical/<str:token>.ics", views.ical_feed, name="ical"),
    path("offer/<str:token>/", views.offer, name="offer"),
    path("<uuid:patient_id>/waiting-list/", views.waiting_add, name="waiting_add"),
    path("<uuid:patient_id>/", views.patient_bookings, name="patient"),
    path("<uuid:patient_id>/follow-up/", views.follow_up, name="follow_up"),
    path("<uuid:patient_id>/book/", views.book, name="book"),
    path("bookings/<uuid:booking_id>/cancel/", views.cancel, name="cancel"),
    path("bookings/<uuid:booking_id>/move/", views.move, name="move"),
    path("bookings/<uuid:booking_id>/status/", views.set_status, name="status"),
]
