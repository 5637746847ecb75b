"""Min Sundhedsplatform: the citizen's own record, and who has looked at it.

Every page of the record goes through the gate with the patient as the audience
(`own_record_view`) and is on the patient's own access log, basis "the patient themself".
"""

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import Action, DataKind, LegalBasis
from booking import selectors as booking_selectors
from booking import services as booking_services
from booking.forms import CancelForm, TimeForm
from booking.slots import free_slots
from common.forms import error_messages_add, form_errors_attach, form_invalid_error
from common.params import query_date, query_int
from journal.messaging import (
    attachment_get,
    message_send,
    thread_get,
    thread_mark_read,
    thread_messages,
    thread_start,
    threads_for_patient,
    usual_response_time,
)
from medicinkort.selectors import card_state
from patients import selectors as patients_selectors
from patients import services as patients_services
from patients.access.http import acting_subject, own_record_view
from patients.access.policy import proxy_valid
from portal import selectors
from portal.forms import (
    ActForForm,
    CalendarAddressForm,
    CitizenBlockingForm,
    MessageForm,
    ProxyGiveForm,
    ProxyWithdrawForm,
)
from portal.signin import ACTING_KEY, PROVIDER_ID, SESSION_KEY

log = logging.getLogger(__name__)

SWITCH_BACK = gettext_lazy("Switch back to yourself to give or withdraw a power of attorney.")
# One answer whether the number is unknown or the surname does not match: the form never tells
# whether someone is a patient here, nor their name.
UNKNOWN_HOLDER = gettext_lazy(
    "We found no one with this CPR number and surname who has been in contact with the "
    "hospitals. Check both."
)
TOO_MANY_TRIES = gettext_lazy(
    "You have tried to give power of attorney many times in a short while. Try again in an hour."
)
# Tries at giving power of attorney a citizen may make in an hour.
PROXY_TRIES_PER_HOUR = 10

PAGE = selectors.PAGE


def portal_view(data_kind: str, *, action: str = Action.VIEW, own_only: bool = False):
    """A page of the record the citizen sees: their own, or the one they act for as a proxy
    (never for a page about the citizen themself only)."""
    return own_record_view(
        data_kind, action=action, session_key=SESSION_KEY, acting_key=ACTING_KEY,
        own_only=own_only,
    )  # fmt: skip


def signin(request):
    """The portal's front door: sign in with MitID."""
    if request.user.is_authenticated and request.session.get(SESSION_KEY):
        return redirect("portal:overview")
    start = reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID})
    response = render(request, "portal/signin.html", {"start": f"{start}?next=/portal/"})
    # The sign-in form leads, by our redirect, to the broker: the page's CSP allows its origin.
    response._csp_update = {"form-action": [_broker_origin()]}  # type: ignore[attr-defined]
    return response


def _broker_origin() -> str:
    providers: dict = settings.SOCIALACCOUNT_PROVIDERS
    for app in providers["openid_connect"]["APPS"]:
        if app["provider_id"] == PROVIDER_ID:
            url = urlsplit(app["settings"]["server_url"])
            return f"{url.scheme}://{url.netloc}"
    return "'self'"


@require_POST
def signout(request):
    logout(request)
    return redirect("portal:signin")


@portal_view(DataKind.OVERVIEW)
def overview(request, access):
    """What is new and what is coming: appointments, results and notes of the last 30 days,
    unread answers, the medication card, and the latest looks at the record."""
    context = {"access": access, "looks": selectors.looks_at(access.patient, limit=5)}
    context.update(selectors.overview_for_citizen(access))
    return render(request, "portal/overview.html", context)


@portal_view(DataKind.ACCESS_LOG)
def access_log(request, access):
    """Who has looked at my record: each access in plain words, break the glass standing out;
    100 to a page, newest first."""
    page = query_int(request, "side", 1, low=1, high=100_000)
    events = selectors.looks_at(access.patient, limit=PAGE + 1, offset=(page - 1) * PAGE)
    return render(
        request, "portal/access_log.html",
        {
            "access": access, "events": events[:PAGE], "page": page,
            "more": len(events) > PAGE,
            "show_names": settings.SUNDHED_PORTAL_SHOW_STAFF_NAMES,
            "kept_days": settings.SUNDHED_PORTAL_ACCESS_LOG_DAYS,
            "BREAK_GLASS": LegalBasis.BREAK_GLASS, "SELF": LegalBasis.SELF,
        },
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.BLOCKING)
def blockings(request, access):
    """Blocking (spærring): the citizen hides a course or a department's information from the
    other departments, sees what is blocked, and lifts it."""
    if request.method == "POST" and access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself blocks or lifts a blocking."))
        return redirect("portal:blockings")
    courses, departments = patients_selectors.blocking_targets_for_patient(access)
    form = CitizenBlockingForm(request.POST or None, courses=courses, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            patients_services.blocking_create(
                access=access, **form.blocking_arguments(courses, departments)
            )
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(
                request, _("Blocked. Other departments now see only that something is blocked.")
            )
            return redirect("portal:blockings")
    context = {
        "access": access, "form": form,
        "blockings": patients_selectors.blocking_list_for_patient(access),
    }  # fmt: skip
    return render(request, "portal/blockings.html", context, status=400 if form.errors else 200)


@require_POST
@portal_view(DataKind.BLOCKING, action=Action.UPDATE)
def blocking_lift(request, access, blocking_id):
    if access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself blocks or lifts a blocking."))
        return redirect("portal:blockings")
    blocking = patients_selectors.blocking_get_for_patient(access, blocking_id)
    patients_services.blocking_revoke(access=access, blocking=blocking)
    messages.success(request, _("The blocking is lifted."))
    return redirect("portal:blockings")


FLAG_WORDS = {
    "H": gettext_lazy("Above the reference interval"),
    "L": gettext_lazy("Below the reference interval"),
    "HH": gettext_lazy("Far above the reference interval"),
    "LL": gettext_lazy("Far below the reference interval"),
    "A": gettext_lazy("Abnormal"),
}


def _flag_words(result) -> str:
    if result.flag in FLAG_WORDS:
        return str(FLAG_WORDS[result.flag])
    return str(gettext_lazy("Within the reference interval")) if result.reference_range else ""


@portal_view(DataKind.LAB_RESULTS)
def results(request, access):
    """Results released to the citizen, newest first, in plain words; those still waiting
    are named with the day they will be shown, never with their value."""
    found = selectors.released_results(access)
    for report in found["reports"]:
        report.rows = [{"result": r, "flag_words": _flag_words(r)} for r in report.shown_results]
    return render(request, "portal/results.html", {"access": access, **found})


@portal_view(DataKind.LAB_RESULTS)
def result_trend(request, access, code):
    """One analysis over time, only released values: a chart and the same numbers in a table."""
    trend = selectors.result_trend_for_citizen(access, code)
    rows = [{"result": v, "flag_words": _flag_words(v)} for v in reversed(trend["values"])]
    context = {
        "access": access, "name": trend["name"], "chart": trend["chart"], "rows": rows,
        "interval": trend["interval"],
    }  # fmt: skip
    return render(request, "portal/trend.html", context)


@portal_view(DataKind.JOURNAL)
def notes(request, access):
    """Notes released to the citizen by their type's rule: never a draft; a corrected note as
    its latest version, saying it was corrected."""
    shown = selectors.released_notes(access)
    return render(request, "portal/notes.html", {"access": access, "notes": shown})


@portal_view(DataKind.BOOKING)
def appointments(request, access):
    """Coming and past appointments; cancel, move or book where allowed; a calendar address."""
    # The calendar address is the person's own secret: a proxy neither sees nor makes it.
    own = access.legal_basis == LegalBasis.SELF
    context = {
        "access": access, **booking_selectors.bookings_for_patient(access, past_limit=20),
        "types": booking_selectors.bookable_types_for_patient(access),
        "feed": booking_selectors.calendar_feed_of(access.patient) if own else None,
    }  # fmt: skip
    return render(request, "portal/appointments.html", context)


def _free_times(access, kind, request):
    start = max(query_date(request, "from") or timezone.localdate(), timezone.localdate())
    slots = free_slots(
        appointment_types=[kind], start_date=start, end_date=start + timedelta(weeks=8),
        patient=access.patient, limit=20,
    )  # fmt: skip
    # A citizen chooses a time, not a room: one offer per start.
    seen, times = set(), []
    for slot in slots:
        if slot.starts_at not in seen:
            seen.add(slot.starts_at)
            times.append(slot)
    return times


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.BOOKING, action=Action.CREATE)
def appointment_book(request, access, type_id):
    """Find a free time of a type the citizen may book, and book it."""
    types = booking_selectors.bookable_types_for_patient(access)
    kind = next((t for t in types if str(t.public_id) == str(type_id)), None)
    if kind is None:
        raise Http404(_("You cannot book this appointment yourself."))
    status = 200
    if request.method == "POST":
        status = _booking_change(
            request, lambda at: booking_services.booking_create(
                access=access, appointment_type=kind, starts_at=at
            ), _("Booked. You will get a reminder before the appointment."),
        )  # fmt: skip
        if status == 302:
            return redirect("portal:appointments")
    context = {"access": access, "kind": kind, "times": _free_times(access, kind, request)}
    return render(request, "portal/appointment_book.html", context, status=status)


def _booking_change(request, change, done: str) -> int:
    """Book or move to the posted time: 302 when done, else the page's status (409 when the
    time was taken a moment ago, 400 with the reason)."""
    form = TimeForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        change(form.cleaned_data["starts_at"])
    except booking_services.SlotTaken as taken:
        messages.error(request, taken.messages[0])
        return 409
    except ValidationError as error:
        error_messages_add(request, error, form)
        return 400
    messages.success(request, done)
    return 302


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.BOOKING, action=Action.UPDATE)
def appointment_move(request, access, booking_id):
    """Move a coming appointment of a type the citizen may book to another free time."""
    booking = booking_selectors.booking_get_for_patient(access, booking_id)
    if not booking.appointment_type.patient_may_book:
        messages.error(request, _("Call the department to move this appointment."))
        return redirect("portal:appointments")
    status = 200
    if request.method == "POST":
        status = _booking_change(
            request, lambda at: booking_services.booking_move(
                access=access, booking=booking, starts_at=at
            ), _("Moved."),
        )  # fmt: skip
        if status == 302:
            return redirect("portal:appointments")
    context = {
        "access": access, "kind": booking.appointment_type, "booking": booking,
        "times": _free_times(access, booking.appointment_type, request),
    }  # fmt: skip
    return render(request, "portal/appointment_book.html", context, status=status)


@require_POST
@portal_view(DataKind.BOOKING, action=Action.UPDATE)
def appointment_cancel(request, access, booking_id):
    booking = booking_selectors.booking_get_for_patient(access, booking_id)
    form = CancelForm(request.POST)
    try:
        if not form.is_valid():
            raise form_invalid_error(form)
        booking_services.booking_cancel(
            access=access, booking=booking, by="patient",
            reason=form.cleaned_data["reason"] or _("Cancelled by the patient"),
        )  # fmt: skip
    except ValidationError as error:
        error_messages_add(request, error, form)
    else:
        messages.success(request, _("The appointment is cancelled."))
    return redirect("portal:appointments")


@require_POST
@portal_view(DataKind.BOOKING, action=Action.UPDATE)
def calendar_address(request, access):
    """Make (or close) the private address that adds the citizen's appointments to a calendar."""
    if access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself can make or close a calendar address."))
        return redirect("portal:appointments")
    form = CalendarAddressForm(request.POST)
    if form.is_valid() and form.cleaned_data["action"] == "close":
        booking_services.calendar_feed_revoke(patient=access.patient)
        messages.success(request, _("The calendar address is closed."))
    elif form.is_valid():
        booking_services.calendar_feed_create(patient=access.patient)
        messages.success(request, _("Your calendar address is ready. An earlier one is closed."))
    else:
        error_messages_add(request, form_invalid_error(form), form)
    return redirect("portal:appointments")


@portal_view(DataKind.MEDICATION)
def medication(request, access):
    """The shared medication card (FMK) as last read, with its age, and the hospital's current
    orders. The card is FMK's: the citizen also sees it on sundhed.dk; here it stands beside
    what the hospital gives now."""
    state = card_state(access, with_orders=True)
    return render(request, "portal/medication.html", {"access": access, "state": state})


def _response_time_words(department_id) -> str:
    usual = usual_response_time(department_id)
    if usual is None:
        return _("usually within 3 working days")
    hours = max(1, round(usual.total_seconds() / 3600))
    if hours < 48:
        return _("usually within %(n)s hours") % {"n": hours}
    return _("usually within %(n)s days") % {"n": round(hours / 24)}


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.MESSAGES)
def messages_list(request, access):
    """The citizen's threads with the departments, and a new message to one of them."""
    departments = selectors.departments_to_write_to(access)
    for department in departments:
        shown: Any = department  # with the words the page shows
        shown.response_words = _response_time_words(department.pk)
    form = MessageForm(request.POST or None, request.FILES or None, departments=departments)
    if request.method == "POST" and (thread := _message_start(request, access, form)):
        return redirect("portal:thread", thread_id=thread.public_id)
    context = {
        "access": access, "threads": threads_for_patient(access), "departments": departments,
        "errors": form.errors, "posted": form.data,
    }  # fmt: skip
    return render(request, "portal/messages.html", context, status=400 if form.errors else 200)


def _message_start(request, access, form: MessageForm):
    """A new thread to the chosen department (one that treats the citizen); None with the
    errors on the form."""
    if not form.is_valid():
        return None
    chosen = form.department_chosen()
    try:
        thread = thread_start(
            access=access, department=chosen, subject=form.cleaned_data["subject"],
            text=form.cleaned_data["text"], files=form.cleaned_data["attachments"],
            allowed_department_ids=[d.pk for d in form.departments],
        )  # fmt: skip
    except ValidationError as error:
        form_errors_attach(form, error)
        return None
    messages.success(request, _("Your message is sent to %(d)s.") % {"d": chosen.name})
    return thread


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.MESSAGES)
def thread(request, access, thread_id):
    """One thread: the messages both ways, attachments, and a reply."""
    found = thread_get(access, thread_id)
    form = MessageForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and _reply(request, access, found, form):
        messages.success(request, _("Your message is sent."))
        return redirect("portal:thread", thread_id=found.public_id)
    if access.legal_basis == LegalBasis.SELF:
        # Read by the person, not by someone acting for them: the person still sees it as new.
        thread_mark_read(access=access, thread=found)
    context = {
        "access": access, "thread": found, "messages_in_thread": thread_messages(found),
        "errors": form.errors, "response_words": _response_time_words(found.department_id),
    }  # fmt: skip
    return render(request, "portal/thread.html", context, status=400 if form.errors else 200)


def _reply(request, access, found, form: MessageForm) -> bool:
    if not form.is_valid():
        return False
    try:
        message_send(
            access=access, thread=found, text=form.cleaned_data["text"],
            files=form.cleaned_data["attachments"],
        )  # fmt: skip
    except ValidationError as error:
        form_errors_attach(form, error)
        return False
    return True


@portal_view(DataKind.MESSAGES)
def attachment(request, access, attachment_id):
    """A file of a message, as a download (never shown inline: it is the sender's file)."""
    found = attachment_get(access, attachment_id)
    response = FileResponse(
        found.file.open("rb"), as_attachment=True, filename=found.name,
        content_type=found.content_type,
    )  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.PROXY, own_only=True)
def proxies(request, access):
    """Whom the citizen may act for (children under 15, powers of attorney given to them), and
    the powers of attorney they have given: give one to an adult for a year, renew, withdraw."""
    me = access.patient  # always the citizen themself here (own_only)
    acting = acting_subject(request, ACTING_KEY)
    form = None
    if request.method == "POST":
        if acting is not None:
            messages.error(request, str(SWITCH_BACK))
            return redirect("portal:proxies")
        form = _proxy_change(request, access)
        if not form.errors:
            return redirect("portal:proxies")
    context = {
        "access": access, "me": me, "acting": acting, "errors": form.errors if form else {},
        "posted": request.POST, **patients_selectors.proxies_of(me),
    }  # fmt: skip
    return render(request, "portal/proxies.html", context, status=400 if form else 200)


def _proxy_change(request, access):
    """Withdraw a power of attorney the citizen gave, or give one to the adult whose CPR number
    and surname were posted (answered alike for an unknown person and a wrong surname); the
    form, with its errors if it failed."""
    form: ProxyWithdrawForm | ProxyGiveForm
    if "withdraw" in request.POST:  # which of the page's two forms was sent
        form = ProxyWithdrawForm(request.POST)
        if not form.is_valid():
            return form
        given = patients_selectors.power_of_attorney_given(
            access.patient, form.cleaned_data["withdraw"]
        )
        if given is None:
            form.add_error("withdraw", _("No such power of attorney."))
            return form
        patients_services.proxy_withdraw(access=access, proxy=given)
        messages.success(request, _("The power of attorney is withdrawn."))
        return form
    form = ProxyGiveForm(request.POST)
    if _too_many_tries(request.user):
        log.warning("power of attorney: too many tries by user %s", request.user.pk)
        form.errors.clear()
        form.add_error("cpr", str(TOO_MANY_TRIES))
        return form
    if not form.is_valid():
        return form
    holder = patients_selectors.patient_with_cpr(form.cleaned_data["cpr"])
    surname = form.cleaned_data["family_name"]
    if holder is None or holder.family_name.casefold() != surname.casefold():
        form.add_error("cpr", str(UNKNOWN_HOLDER))
        return form
    try:
        patients_services.proxy_grant(access=access, holder=holder)
    except ValidationError as error:
        form_errors_attach(form, error)
        return form
    messages.success(request, _("%(name)s may now see your record for a year.") % {
        "name": f"{holder.given_names} {holder.family_name}"})  # fmt: skip
    return form


def _too_many_tries(user) -> bool:
    """Count a try at giving power of attorney; whether the hour's allowance is spent."""
    key = f"portal:proxy-tries:{user.pk}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > PROXY_TRIES_PER_HOUR
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        return False


@require_POST
def act_for(request):
    """Act for someone the citizen is a proxy for, or switch back to oneself."""
    if not (request.user.is_authenticated and request.session.get(SESSION_KEY)):
        return redirect("portal:signin")
    form = ActForForm(request.POST)
    chosen = form.cleaned_data["patient"] if form.is_valid() else ""
    if chosen == "self":
        request.session.pop(ACTING_KEY, None)
        return redirect("portal:overview")
    subject = patients_selectors.patient_by_public_id(chosen)
    if subject is None or not proxy_valid(user=request.user, patient=subject):
        messages.error(request, _("You may not act for this person."))
        return redirect("portal:proxies")
    request.session[ACTING_KEY] = subject.pk
    return redirect("portal:overview")
