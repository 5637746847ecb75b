"""Booking pages: the patient's appointments with the slot finder, booking, moving, cancelling,
the day's statuses, the follow-up in two clicks, and the calendars."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.models import Action, DataKind
from booking import selectors, services
from booking.forms import (
    BookForm,
    CancelForm,
    FeedForm,
    OfferAnswerForm,
    StatusForm,
    TimeForm,
    WaitingForm,
)
from booking.ical import feed_bookings, feed_calendar
from booking.models import AppointmentType, Booking, CalendarFeed
from booking.services.waiting import offer_accept, offer_decline, offer_get, waiting_list_add
from booking.slots import free_slots
from common.forms import error_messages_add, form_invalid_error
from common.params import (
    BadParameter,
    query_date,
    query_int,
    query_time,
    query_uuid_list,
)
from patients.access import (
    access_events_for_list,
    access_patient_as_system,
    patient_object_view,
    patient_view,
    staff_view,
)
from patients.selectors import patient_banner


def _type_from(request, access) -> AppointmentType | None:
    """The appointment type the query names (of the clinician's department, or of the region's
    with region=1); a 400 naming `type` when it names none of them."""
    raw = request.GET.get("type", "")
    if not raw:
        return None
    found = selectors.appointment_type_chosen(access, raw, region=request.GET.get("region") == "1")
    if found is None:
        raise BadParameter("type", raw, _("an appointment type of your department"))
    return found


def _search(request, access, appointment_type, *, resource=None):
    """The finder's slots from the query: dates, time of day, first 20."""
    today = timezone.localdate()
    start = query_date(request, "from") or today
    weeks = query_int(request, "weeks", 4, low=1, high=16)
    end = query_date(request, "until") or start + timedelta(weeks=weeks)
    region = request.GET.get("region") == "1"
    kinds = [appointment_type]
    if region:
        kinds = selectors.same_appointment_everywhere(appointment_type)
        # A chosen set of the departments that offer it (none chosen: all of them).
        chosen_departments = {str(u) for u in query_uuid_list(request, "department")}
        if chosen_departments:
            kinds = [k for k in kinds if str(k.department.public_id) in chosen_departments]
    slots = free_slots(
        appointment_types=kinds,
        start_date=max(start, today), end_date=end,
        time_from=query_time(request, "after"), time_until=query_time(request, "before"),
        patient=access.patient, limit=60 if resource else 20,
    )  # fmt: skip
    if resource is not None:  # the same clinician: their slots first, else any
        own = [s for s in slots if resource in s.resources]
        slots = own or slots
    return slots[:20], start, end


def _tab_context(request, access, **extra):
    department_id = access.staff.active_department_id if access.staff else None
    return {
        "banner": patient_banner(access),
        **selectors.bookings_for_patient(access),
        "types": selectors.appointment_types_for(department_id),
        "may_book": access.staff is not None and access.legal_basis != "administration",
        **extra,
    }


@require_GET
@patient_view(DataKind.BOOKING)
def patient_bookings(request, access):
    """The patient's appointments, and the finder: pick a type, see the first free times."""
    chosen = _type_from(request, access)
    moving = request.GET.get("move", "")
    if moving:
        import uuid

        try:
            uuid.UUID(moving)
        except ValueError:
            raise BadParameter("move", moving, _("a booking")) from None
    extra: dict = {"chosen": chosen}
    if chosen is not None:
        extra["slots"], extra["start"], extra["end"] = _search(request, access, chosen)
        extra["offering"] = [k.department for k in selectors.same_appointment_everywhere(chosen)]
        extra["departments_chosen"] = set(request.GET.getlist("department"))
    return render(request, "booking/patient.html", _tab_context(request, access, **extra))


@require_GET
@patient_view(DataKind.BOOKING)
def follow_up(request, access):
    """Book a follow-up: the same type and clinician as the last visit, N weeks on; one more
    click on a time books it."""
    department_id = access.staff.active_department_id if access.staff else None
    last = selectors.follow_up_of(access, department_id)
    chosen = _type_from(request, access) or (last.appointment_type if last else None)
    extra: dict = {"chosen": chosen, "follow_up": last}
    if chosen is not None:
        clinician = next(
            (a.resource for a in last.allocations.all() if a.resource.kind == "clinician"), None
        ) if last else None  # fmt: skip
        weeks = query_int(request, "in", 4, low=0, high=52)
        request.GET = request.GET.copy()
        request.GET.setdefault("from", (timezone.localdate() + timedelta(weeks=weeks)).isoformat())
        extra["slots"], extra["start"], extra["end"] = _search(
            request, access, chosen, resource=clinician
        )
        extra["weeks"], extra["clinician"] = weeks, clinician
    return render(request, "booking/patient.html", _tab_context(request, access, **extra))


@require_POST
@patient_view(DataKind.BOOKING, action=Action.CREATE)
def book(request, access):
    """Book the chosen free time; a time taken a moment ago is said in words (409), a form that
    is wrong names its field (400)."""
    form = BookForm(request.POST, access=access)
    if not form.is_valid():
        return _tab_again(request, access, form, status=400)
    chosen = form.cleaned_data["slot_type"] or form.cleaned_data["type"]
    try:
        booking = services.booking_create(
            access=access, appointment_type=chosen, starts_at=form.cleaned_data["starts_at"],
            note=form.cleaned_data["note"],
        )  # fmt: skip
    except services.SlotTaken as taken:
        messages.error(request, taken.messages[0])
        return _tab_again(request, access, None, status=409, chosen=form.cleaned_data["type"])
    except ValidationError as error:
        error_messages_add(request, error, form)
        return redirect("booking:patient", patient_id=access.patient.public_id)
    when = timezone.localtime(booking.starts_at).strftime("%d.%m.%Y %H:%M")
    messages.success(request, _("Booked: %(type)s %(when)s.") % {"type": chosen.name, "when": when})
    return redirect("booking:patient", patient_id=access.patient.public_id)


def _tab_again(request, access, form, *, status: int, chosen=None):
    """The tab shown again after a POST that did not book: the form's errors as messages, the
    finder's times again when a type was chosen."""
    if form is not None:
        error_messages_add(request, form_invalid_error(form), form)
    context = _tab_context(request, access, chosen=chosen)
    if chosen is not None:
        context["slots"], context["start"], context["end"] = _search(request, access, chosen)
    return render(request, "booking/patient.html", context, status=status)


@require_POST
@patient_object_view(Booking, DataKind.BOOKING, kwarg="booking_id", action=Action.UPDATE)
def cancel(request, access, obj):
    """Cancel, saying who asked and why."""
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        services.booking_cancel(
            access=access, booking=obj, by=form.cleaned_data["by"],
            reason=form.cleaned_data["reason"],
        )  # fmt: skip
    except (ValidationError, PermissionDenied) as error:
        if isinstance(error, PermissionDenied):
            error = ValidationError(str(error))
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("The appointment is cancelled."))
    return redirect("booking:patient", patient_id=access.patient.public_id)


@require_POST
@patient_object_view(Booking, DataKind.BOOKING, kwarg="booking_id", action=Action.UPDATE)
def move(request, access, obj):
    """Move to another free time (the finder on the tab offers them)."""
    form = TimeForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        moved = services.booking_move(
            access=access, booking=obj, starts_at=form.cleaned_data["starts_at"]
        )
    except services.SlotTaken as taken:
        messages.error(request, taken.messages[0])
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        when = timezone.localtime(moved.starts_at).strftime("%d.%m.%Y %H:%M")
        messages.success(request, _("Moved to %(when)s.") % {"when": when})
    return redirect("booking:patient", patient_id=access.patient.public_id)


@require_POST
@patient_object_view(Booking, DataKind.BOOKING, kwarg="booking_id", action=Action.UPDATE)
def set_status(request, access, obj):
    """Arrived, seen, did not come."""
    form = StatusForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        services.booking_set_status(access=access, booking=obj, status=form.cleaned_data["status"])
    except ValidationError as error:
        error_messages_add(request, error, form)
    then = form.cleaned_data.get("next") if form.is_valid() else ""
    if then == "calendar":
        return redirect(reverse("booking:calendar") + "?scope=department")
    if then == "worklist":
        return redirect("chart:worklist")
    return redirect("booking:patient", patient_id=access.patient.public_id)


@require_GET
@staff_view
def calendar(request):
    """The clinician's own day or week, and the department's day. Names are shown only for the
    patients the viewer has a care relation with; other times say "optaget"."""
    staff = request.staff
    day = query_date(request, "day") or timezone.localdate()
    days = query_int(request, "days", 1, low=1, high=7)
    scope = request.GET.get("scope", "mine")
    if scope not in ("mine", "department"):
        raise BadParameter("scope", scope, _("one of mine, department"))
    page = selectors.calendar_page(user=request.user, staff=staff, scope=scope, day=day, days=days)
    access_events_for_list(
        user=request.user, patients=page["shown"], data_kind=DataKind.CALENDAR, path=request.path
    )
    feed = page["feed"]
    context = {
        "feed_url": feed and request.build_absolute_uri(
            reverse("booking:ical", kwargs={"token": feed.token})
        ),
        "rows": page["rows"], "day": day, "days": days, "scope": scope,
        "resources": page["resources"], "previous": day - timedelta(days=days),
        "next": day + timedelta(days=days),
    }  # fmt: skip
    template = "booking/calendar.html#table" if request.htmx else "booking/calendar.html"
    return render(request, template, context)


@require_POST
@staff_view
def calendar_feed(request):
    """Create (or, with action=revoke, close) the clinician's private iCal address."""
    form = FeedForm(request.POST)
    if not form.is_valid():
        error_messages_add(request, form_invalid_error(form), form)
    elif form.cleaned_data["action"] == "revoke":
        services.calendar_feed_revoke(staff=request.staff)
        messages.success(request, _("The calendar address is closed."))
    else:
        services.calendar_feed_create(staff=request.staff)
        messages.success(request, _("A new calendar address is made; the old one stops working."))
    return redirect("booking:calendar")


@require_GET
def ical_feed(request, token):
    """The iCal feed behind a private address. A patient's feed is on their access log as
    fetched by themselves; a clinician's names no patient."""
    feed = (
        CalendarFeed.objects.filter(token=token, revoked_at__isnull=True)
        .select_related("patient__user", "staff")
        .first()
    )
    if feed is None:
        raise Http404(_("Not found."))
    bookings = feed_bookings(feed)
    if feed.patient is not None:
        # Whoever holds the address fetched it: on the patient's log, as the calendar feed.
        access_patient_as_system(
            patient=feed.patient, data_kind=DataKind.BOOKING, action=Action.VIEW,
            system="Kalenderabonnement", object_type="booking.calendarfeed",
            object_id=str(feed.public_id),
        )  # fmt: skip
    response = HttpResponse(feed_calendar(feed, bookings), content_type="text/calendar")
    response["Cache-Control"] = "private, no-store"
    return response


@require_POST
@patient_view(DataKind.BOOKING, action=Action.CREATE)
def waiting_add(request, access):
    """Put the patient on the waiting list for an earlier time of the chosen type."""
    form = WaitingForm(request.POST, access=access)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        chosen = form.cleaned_data["type"]
        waiting_list_add(access=access, appointment_type=chosen, note=form.cleaned_data["note"])
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("On the waiting list for %(type)s.") % {"type": chosen.name})
    return redirect("booking:patient", patient_id=access.patient.public_id)


@require_http_methods(["GET", "POST"])
def offer(request, token):
    """A freed time offered from the waiting list: the patient accepts or declines through the
    link's token (no sign-in, as a letter with an answer link)."""
    found = offer_get(token)
    if found is None:
        raise Http404(_("Not found."))
    status = 200
    if request.method == "GET":
        # Whoever holds the link sees the time offered: on the patient's log, by the system.
        access_patient_as_system(
            patient=found.entry.patient, data_kind=DataKind.BOOKING, action=Action.VIEW,
            system="Venteliste", object_type="booking.slotoffer",
            object_id=str(found.public_id),
        )  # fmt: skip
    else:
        status = _offer_answer(request, found)
        found = offer_get(token)
    return render(request, "booking/offer.html", {"offer": found}, status=status)


def _offer_answer(request, found) -> int:
    """The patient's answer to an offer: accept or decline; the page's status (409 when the
    time was taken meanwhile or the offer is no longer open)."""
    form = OfferAnswerForm(request.POST)
    if not form.is_valid():
        error_messages_add(request, form_invalid_error(form), form)
        return 400
    try:
        if form.cleaned_data["answer"] == "accept":
            offer_accept(offer=found)
            messages.success(request, _("Thank you: the time is booked for you."))
        else:
            offer_decline(offer=found)
            messages.info(request, _("Thank you for your answer; you stay on the waiting list."))
    except services.SlotTaken:
        messages.error(
            request, _("Sorry, the time was just taken. You keep your place on the list.")
        )
        return 409
    except ValidationError as error:
        error_messages_add(request, error)
        return 409
    return 200
