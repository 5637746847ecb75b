"""Every write of booking: bookings (`bookings`: book, move, cancel, the day's statuses, the
calendar address), the waiting list and its offers (`waiting`), reminders (`reminders`) and
appointments filed from other systems (`external`). The bookings' writes are named here."""

from booking.services.bookings import (
    EXCLUSION,
    PATIENT_TWICE,
    RESOURCE_LOCKS,
    SlotTaken,
    book_slot,
    booking_cancel,
    booking_create,
    booking_move,
    booking_set_status,
    calendar_feed_create,
    calendar_feed_revoke,
    freed_time_record,
)

__all__ = [
    "EXCLUSION",
    "PATIENT_TWICE",
    "RESOURCE_LOCKS",
    "SlotTaken",
    "book_slot",
    "booking_cancel",
    "booking_create",
    "booking_move",
    "booking_set_status",
    "calendar_feed_create",
    "calendar_feed_revoke",
    "freed_time_record",
]
