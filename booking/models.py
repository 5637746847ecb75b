"""Calendars and bookings: what can be booked, when, and the bookings themselves.

A booking holds one or more resources (a doctor and a room; a scanner and a radiographer) through
`Allocation` rows. A PostgreSQL exclusion constraint on the allocations makes two overlapping
active allocations of one resource impossible, whatever the code does; the booking and its
allocations are written in one transaction, so a booking gets all its resources or none.
"""

import pghistory
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from common.models import BaseModel
from outbox.models import DurableJob, Notification


class ResourceKind(models.TextChoices):
    CLINICIAN = "clinician", _("Clinician")
    ROOM = "room", _("Room")
    EQUIPMENT = "equipment", _("Equipment")


class Resource(BaseModel):
    """Something a booking takes: a clinician, a room or a piece of equipment, in a department."""

    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="resources"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ResourceKind.choices)
    name = models.CharField(_("name"), max_length=200)
    staff = models.ForeignKey(
        "organisation.StaffMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="resources",
        verbose_name=_("staff member"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("bookable resource")
        verbose_name_plural = _("bookable resources")
        ordering = ["department", "kind", "name"]
        indexes = [models.Index(fields=["department", "kind"], name="booking_resource_dept_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="clinician", staff__isnull=False) | ~Q(kind="clinician"),
                name="booking_resource_clinician_is_staff",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AppointmentType(BaseModel):
    """A kind of appointment a department offers: how long, what it takes, who may book it."""

    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="appointment_types"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    # The resources needed together, by kind: ["clinician", "room"].
    resource_kinds = ArrayField(
        models.CharField(max_length=20, choices=ResourceKind.choices),
        verbose_name=_("resources needed"),
        default=list,
    )
    patient_may_book = models.BooleanField(_("the patient may book it"), default=False)
    is_video = models.BooleanField(_("video consultation"), default=False)
    preparation = models.TextField(_("preparation for the patient"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        ordering = ["department", "name"]
        constraints = [
            models.UniqueConstraint(fields=["department", "code"], name="booking_type_code"),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduleRule(BaseModel):
    """A weekly rule of a resource's calendar: on these weekdays, between these times, these
    appointment types, from a date (until a date)."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="rules")
    # ISO weekdays, 1 = Monday ... 7 = Sunday.
    weekdays = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)]),
        verbose_name=_("weekdays"),
    )
    start_time = models.TimeField(_("from"))
    end_time = models.TimeField(_("until"))
    appointment_types = models.ManyToManyField(
        AppointmentType, related_name="rules", verbose_name=_("appointment types")
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("schedule rule")
        verbose_name_plural = _("schedule rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="booking_rule_times"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.start_time:%H:%M}-{self.end_time:%H:%M}"


class ScheduleException(BaseModel):
    """A time a resource cannot be booked: absence, a closed room, a course."""

    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, related_name="exceptions")
    period = DateTimeRangeField(_("period"))
    reason = models.CharField(_("reason"), max_length=200)

    class Meta:
        verbose_name = _("schedule exception")
        verbose_name_plural = _("schedule exceptions")
        indexes = [models.Index(fields=["resource"], name="booking_exception_resource")]

    def __str__(self) -> str:
        return f"{self.resource}: {self.reason}"


class BookingStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ARRIVED = "arrived", _("Arrived")
    SEEN = "seen", _("Seen")
    NO_SHOW = "no_show", _("Did not come")
    CANCELLED = "cancelled", _("Cancelled")
    RESCHEDULED = "rescheduled", _("Moved")


# Statuses that hold the resources: a cancelled or moved booking frees them.
ACTIVE_STATUSES = (
    BookingStatus.BOOKED,
    BookingStatus.ARRIVED,
    BookingStatus.SEEN,
    BookingStatus.NO_SHOW,
)


class TsTzRange(models.Func):
    """tstzrange(start, end): a booking's period as PostgreSQL's range, for its constraint."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()


@pghistory.track()
class Booking(BaseModel):
    """An appointment of a patient."""

    class CancelledBy(models.TextChoices):
        PATIENT = "patient", _("the patient")
        HOSPITAL = "hospital", _("the hospital")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="bookings"
    )
    department = models.ForeignKey(
        "organisation.Department", on_delete=models.PROTECT, related_name="bookings"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="bookings"
    )
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    status = models.CharField(
        _("status"), max_length=20, choices=BookingStatus.choices, default=BookingStatus.BOOKED
    )
    booked_by = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("booked by")
    )
    status_changed_at = models.DateTimeField(_("status changed"), null=True, blank=True)
    cancelled_by = models.CharField(
        _("cancelled by"), max_length=10, choices=CancelledBy.choices, blank=True
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        verbose_name=_("moved from"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["patient", "starts_at"], name="booking_patient_start"),
            models.Index(fields=["department", "starts_at"], name="booking_dept_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="booking_period_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | ~Q(cancelled_by=""),
                name="booking_cancel_has_who",
            ),
            # One patient is never in two appointments at once (a double click, an offer
            # accepted twice): PostgreSQL refuses it, whatever the code does.
            ExclusionConstraint(
                name="booking_patient_not_twice",
                expressions=[
                    ("patient", RangeOperators.EQUAL),
                    (TsTzRange("starts_at", "ends_at"), RangeOperators.OVERLAPS),
                ],
                condition=Q(status__in=["booked", "arrived", "seen", "no_show"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} {self.starts_at:%d.%m.%Y %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class Allocation(models.Model):
    """One resource held by one booking for its period. The exclusion constraint is the rule
    "no double booking": two active allocations of one resource never overlap."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="allocations")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="allocations")
    period = DateTimeRangeField()
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        constraints = [
            ExclusionConstraint(
                name="booking_no_double_booking",
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    ("period", RangeOperators.OVERLAPS),
                ],
                condition=Q(active=True),
            ),
            models.UniqueConstraint(fields=["booking", "resource"], name="booking_allocation_once"),
        ]
        indexes = [models.Index(fields=["resource", "active"], name="booking_alloc_resource")]

    def __str__(self) -> str:
        return f"{self.resource} {self.period}"


class CalendarFeed(BaseModel):
    """A private iCal address: a clinician's own calendar or a patient's appointments. The
    token is the only key (a calendar program cannot sign in); revoking it closes the feed.
    What a feed shows is generic ("Aftale på Rigshospitalet"), never a diagnosis or a name."""

    class Kind(models.TextChoices):
        CLINICIAN = "clinician", _("a clinician's calendar")
        PATIENT = "patient", _("a patient's appointments")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    token = models.CharField(max_length=64, unique=True)
    staff = models.ForeignKey(
        "organisation.StaffMember", on_delete=models.CASCADE, null=True, blank=True,
        related_name="calendar_feeds",
    )  # fmt: skip
    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.CASCADE, null=True, blank=True,
        related_name="calendar_feeds",
    )  # fmt: skip
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="clinician") & Q(staff__isnull=False) & Q(patient__isnull=True))
                | (Q(kind="patient") & Q(patient__isnull=False) & Q(staff__isnull=True)),
                name="booking_feed_has_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({'revoked' if self.revoked_at else 'active'})"


class Reminder(Notification, BaseModel):
    """One reminder of one booking on one channel, planned ahead (`offset_minutes` before the
    appointment) and sent once; its text is written when it is sent, from the booking as it is
    then (a cancelled or moved booking's reminders are not sent)."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reminders")
    # How long before the appointment, in minutes (2 days = 2880).
    offset_minutes = models.PositiveIntegerField(_("minutes before"))

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "channel", "offset_minutes"], name="booking_reminder_once"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="booking_reminder_due")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.offset_minutes} min"

    @property
    def offset_text(self) -> str:
        """ "2 days before", "2 hours before"."""
        from django.utils.translation import ngettext

        if self.offset_minutes % 1440 == 0:
            days = self.offset_minutes // 1440
            return ngettext("%(n)s day before", "%(n)s days before", days) % {"n": days}
        hours = max(1, self.offset_minutes // 60)
        return ngettext("%(n)s hour before", "%(n)s hours before", hours) % {"n": hours}


class WaitingListEntry(BaseModel):
    """A patient waiting for an earlier time of an appointment type; offered freed times in
    the order they were put on the list."""

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        OFFERED = "offered", _("Offered a time")
        BOOKED = "booked", _("Booked")
        REMOVED = "removed", _("Removed")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="waiting_list_entries"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="waiting_list"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.WAITING
    )
    added_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("waiting list entry")
        verbose_name_plural = _("waiting list")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "appointment_type"],
                condition=Q(status__in=["waiting", "offered"]),
                name="booking_waiting_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} ({self.get_status_display()})"


class SlotOffer(BaseModel):
    """A freed time offered to the first on the waiting list, by e-mail and SMS with a link
    that is valid until `expires_at`; then the next in line."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        TAKEN = "taken", _("Taken by someone else")

    entry = models.ForeignKey(WaitingListEntry, on_delete=models.CASCADE, related_name="offers")
    starts_at = models.DateTimeField(_("start"))
    token = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(_("valid until"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OFFERED
    )
    booking = models.OneToOneField(
        Booking, on_delete=models.PROTECT, null=True, blank=True, related_name="offer"
    )

    class Meta:
        verbose_name = _("offer of a freed time")
        verbose_name_plural = _("offers of freed times")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.entry} {self.starts_at:%d.%m.%Y %H:%M}"


class FreedTime(DurableJob, BaseModel):
    """A time of a type freed (cancelled, moved, an offer declined or expired), to be offered to
    the waiting list: written in the transaction that frees it, worked by the outbox's engine
    (`booking.freedtime`), so a broker that was down loses no freed time."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        OFFERING = "offering", _("Being offered")
        OFFERED = "offered", _("Offered")
        NOBODY = "nobody", _("Not offered: nobody on the list could take it, or it is already")
        FAILED = "failed", _("Failed")

    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, related_name="freed_times"
    )
    starts_at = models.DateTimeField(_("start"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    offer = models.ForeignKey(
        SlotOffer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("freed time")
        verbose_name_plural = _("freed times")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["due_at"], name="booking_freed_waiting", condition=Q(status="pending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} {self.starts_at:%d.%m.%Y %H:%M} ({self.status})"


class OfferMessage(Notification, BaseModel):
    """The offer of a freed time by e-mail or SMS, written in the transaction that makes the
    offer and sent by the outbox worker (not sent once the offer is no longer open)."""

    offer = models.ForeignKey(SlotOffer, on_delete=models.CASCADE, related_name="messages")

    class Meta:
        verbose_name = _("offer message")
        verbose_name_plural = _("offer messages")
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["offer", "channel"], name="booking_offer_message_once"),
        ]
        indexes = [models.Index(fields=["status", "due_at"], name="booking_offer_message_due")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.offer}"


@pghistory.track()
class ExternalAppointment(BaseModel):
    """An appointment kept in another scheduling system and sent here (HL7 SIU), so the chart
    and the patient see it beside the bookings made here. It holds none of our resources."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        NO_SHOW = "no_show", _("Did not come")

    patient = models.ForeignKey(
        "patients.Patient", on_delete=models.PROTECT, related_name="external_appointments"
    )
    sender = models.CharField(_("sending system"), max_length=200)
    key = models.CharField(_("number in the sending system"), max_length=100)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    service_code = models.CharField(_("code"), max_length=50, blank=True)
    service_text = models.CharField(_("appointment"), max_length=200, blank=True)
    location = models.CharField(_("place"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.BOOKED
    )
    message_id = models.BigIntegerField(_("last message"))

    class Meta:
        verbose_name = _("appointment from another system")
        verbose_name_plural = _("appointments from other systems")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "key"], name="booking_external_once"),
        ]
        indexes = [models.Index(fields=["patient", "starts_at"], name="booking_external_patient")]

    def __str__(self) -> str:
        return f"{self.service_text} {self.starts_at:%d.%m.%Y %H:%M}"
