"""Min Sundhedsplatform: the citizen's own record, and who has looked at it.

Every page of the record goes through the gate with the patient as the audience
(`own_record_view`) and is on the patient's own access log, basis "the patient themself".
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from audit.models import AccessEvent, Action, DataKind, LegalBasis
from common.forms import form_errors_attach
from patients.access.http import acting_subject, own_record_view
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


# Rows of "who has looked" to a page.
PAGE = 100


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
    from django.urls import reverse

    start = reverse("openid_connect_login", kwargs={"provider_id": PROVIDER_ID})
    response = render(request, "portal/signin.html", {"start": f"{start}?next=/portal/"})
    # The sign-in form leads, by our redirect, to the broker: the page's CSP allows its origin.
    response._csp_update = {"form-action": [_broker_origin()]}
    return response


def _broker_origin() -> str:
    from urllib.parse import urlsplit

    for app in settings.SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]:
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
    from portal.selectors import overview_for_citizen

    context = {"access": access, "looks": _looks(access.patient, limit=5)}
    context.update(overview_for_citizen(access))
    return render(request, "portal/overview.html", context)


def _looks(patient, *, limit=None, offset=0) -> list[AccessEvent]:
    """The accesses to the patient's record in the kept period, newest first, each with its
    role in words and the department with its hospital (`role_label`, `where`)."""
    from organisation.models import Department, Role

    days = settings.SUNDHED_PORTAL_ACCESS_LOG_DAYS
    events = AccessEvent.objects.filter(
        patient_id=patient.pk, occurred_at__gte=timezone.now() - timedelta(days=days)
    ).order_by("-occurred_at", "-id")
    found = list(events[offset : offset + limit] if limit else events[:PAGE])
    codes = {e.department_code for e in found if e.department_code}
    places = {
        d.sor_code: f"{d.name}, {d.hospital.name}"
        for d in Department.objects.filter(sor_code__in=codes).select_related("hospital")
    }
    roles = dict(Role.choices)
    for event in found:
        event.role_label = roles.get(event.role, event.role) if event.role != "patient" else ""
        event.where = places.get(event.department_code, event.department_name)
    return found


@portal_view(DataKind.ACCESS_LOG)
def access_log(request, access):
    """Who has looked at my record: each access in plain words, break the glass standing out;
    100 to a page, newest first."""
    from common.params import query_int

    page = query_int(request, "side", 1, low=1, high=100_000)
    events = _looks(access.patient, limit=PAGE + 1, offset=(page - 1) * PAGE)
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
    from patients import selectors, services
    from portal.forms import CitizenBlockingForm

    if request.method == "POST" and access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself blocks or lifts a blocking."))
        return redirect("portal:blockings")
    courses, departments = selectors.blocking_targets_for_patient(access)
    form = CitizenBlockingForm(request.POST or None, courses=courses, departments=departments)
    if request.method == "POST" and form.is_valid():
        try:
            services.blocking_create(access=access, **form.blocking_arguments(courses, departments))
        except ValidationError as error:
            form_errors_attach(form, error)
        else:
            messages.success(
                request, _("Blocked. Other departments now see only that something is blocked.")
            )
            return redirect("portal:blockings")
    context = {
        "access": access, "form": form,
        "blockings": selectors.blocking_list_for_patient(access),
    }  # fmt: skip
    return render(request, "portal/blockings.html", context, status=400 if form.errors else 200)


@require_POST
@portal_view(DataKind.BLOCKING, action=Action.UPDATE)
def blocking_lift(request, access, blocking_id):
    from patients import selectors, services

    if access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself blocks or lifts a blocking."))
        return redirect("portal:blockings")
    blocking = selectors.blocking_get_for_patient(access, blocking_id)
    services.blocking_revoke(access=access, blocking=blocking)
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
    from portal.release import reports_with_release

    now = timezone.now()
    with_release = reports_with_release(access)
    reports = list(
        with_release.filter(release_at__lte=now)
        .prefetch_related("results")
        .order_by("-observed_at", "-id")[:100]
    )
    for report in reports:
        report.rows = [
            {"result": r, "flag_words": _flag_words(r)}
            for r in report.results.all()
            if r.status != "cancelled"
        ]
    pending = list(
        with_release.filter(Q(release_at__gt=now) | Q(release_at__isnull=True)).order_by(
            "-observed_at", "-id"
        )[:50]
    )
    return render(
        request, "portal/results.html", {"access": access, "reports": reports, "pending": pending}
    )


@portal_view(DataKind.LAB_RESULTS)
def result_trend(request, access, code):
    """One analysis over time, only released values: a chart and the same numbers in a table."""
    from portal.selectors import result_trend_for_citizen

    trend = result_trend_for_citizen(access, code)
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
    from journal.models import Note, NoteStatus
    from portal.release import note_is_released, note_rules

    now = timezone.now()
    rules = note_rules()
    candidates = (
        access.unblocked(Note.objects.filter(patient=access.patient, status=NoteStatus.SIGNED))
        .select_related("department__hospital", "signed_by")
        .order_by("-signed_at")[:200]
    )
    shown = [n for n in candidates if note_is_released(n, rules, now=now)]
    return render(request, "portal/notes.html", {"access": access, "notes": shown})


def _bookable_types(access):
    """What the citizen may book: types open to patients, in departments that treat them (an
    open course or an appointment there)."""
    from booking.models import AppointmentType
    from patients.models import CareCourse

    departments = set(
        CareCourse.objects.filter(patient=access.patient, ended_at__isnull=True).values_list(
            "department_id", flat=True
        )
    ) | set(access.patient.bookings.values_list("department_id", flat=True))
    return list(
        AppointmentType.objects.filter(
            patient_may_book=True, is_active=True, department_id__in=departments
        )
        .exclude(department_id__in=access.blocked_department_ids)
        .select_related("department__hospital")
        .order_by("department__name", "name")
    )


@portal_view(DataKind.BOOKING)
def appointments(request, access):
    """Coming and past appointments; cancel, move or book where allowed; a calendar address."""
    from booking.models import CalendarFeed
    from booking.selectors import bookings_for_patient

    context = {
        "access": access, **bookings_for_patient(access, past_limit=20),
        "types": _bookable_types(access),
        # The calendar address is the person's own secret: a proxy neither sees nor makes it.
        "feed": CalendarFeed.objects.filter(
            patient=access.patient, revoked_at__isnull=True
        ).first() if access.legal_basis == LegalBasis.SELF else None,
    }  # fmt: skip
    return render(request, "portal/appointments.html", context)


def _free_times(access, kind, request):
    from datetime import timedelta as days

    from booking.slots import free_slots
    from common.params import query_date

    start = max(query_date(request, "from") or timezone.localdate(), timezone.localdate())
    slots = free_slots(
        appointment_types=[kind], start_date=start, end_date=start + days(weeks=8),
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
    from django.http import Http404

    from booking import services

    kind = next((t for t in _bookable_types(access) if str(t.public_id) == str(type_id)), None)
    if kind is None:
        raise Http404(_("You cannot book this appointment yourself."))
    status = 200
    if request.method == "POST":
        status = _booking_change(
            request, lambda at: services.booking_create(
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
    from booking import services
    from common.params import BadParameter, query_datetime

    starts_at = query_datetime(request, "starts_at", source=request.POST)
    if starts_at is None:
        raise BadParameter("starts_at", "", _("a date and time (ISO 8601)"))
    try:
        change(starts_at)
    except services.SlotTaken as taken:
        messages.error(request, taken.messages[0])
        return 409
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return 400
    messages.success(request, done)
    return 302


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.BOOKING, action=Action.UPDATE)
def appointment_move(request, access, booking_id):
    """Move a coming appointment of a type the citizen may book to another free time."""
    from booking import selectors, services

    booking = selectors.booking_get_for_patient(access, booking_id)
    if not booking.appointment_type.patient_may_book:
        messages.error(request, _("Call the department to move this appointment."))
        return redirect("portal:appointments")
    status = 200
    if request.method == "POST":
        status = _booking_change(
            request, lambda at: services.booking_move(
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
    from booking import selectors, services

    booking = selectors.booking_get_for_patient(access, booking_id)
    try:
        services.booking_cancel(
            access=access, booking=booking, by="patient",
            reason=request.POST.get("reason", "").strip()[:300] or _("Cancelled by the patient"),
        )  # fmt: skip
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The appointment is cancelled."))
    return redirect("portal:appointments")


@require_POST
@portal_view(DataKind.BOOKING, action=Action.UPDATE)
def calendar_address(request, access):
    """Make (or close) the private address that adds the citizen's appointments to a calendar."""
    from booking import services

    if access.legal_basis != LegalBasis.SELF:
        messages.error(request, _("Only the person themself can make or close a calendar address."))
        return redirect("portal:appointments")
    if request.POST.get("action") == "close":
        services.calendar_feed_revoke(patient=access.patient)
        messages.success(request, _("The calendar address is closed."))
    else:
        services.calendar_feed_create(patient=access.patient)
        messages.success(request, _("Your calendar address is ready. An earlier one is closed."))
    return redirect("portal:appointments")


@portal_view(DataKind.MEDICATION)
def medication(request, access):
    """The shared medication card (FMK) as last read, with its age, and the hospital's current
    orders. The card is FMK's: the citizen also sees it on sundhed.dk; here it stands beside
    what the hospital gives now."""
    from medicinkort.selectors import card_state

    state = card_state(access, with_orders=True)
    return render(request, "portal/medication.html", {"access": access, "state": state})


def _departments_to_write_to(access):
    """Departments that treat the citizen: a course in the last two years, or an appointment."""
    from django.db.models import Q

    from organisation.models import Department

    since = timezone.now() - timedelta(days=730)
    courses = Q(care_courses__patient=access.patient) & (
        Q(care_courses__ended_at__isnull=True) | Q(care_courses__ended_at__gte=since)
    )
    booked = Q(bookings__patient=access.patient)
    return list(
        Department.objects.filter(courses | booked)
        .select_related("hospital")
        .distinct()
        .order_by("name")
    )


def _response_time_words(department_id) -> str:
    from journal.messaging import usual_response_time

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
    from journal.messaging import threads_for_patient

    departments = _departments_to_write_to(access)
    for department in departments:
        department.response_words = _response_time_words(department.pk)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            thread = _message_start(request, access, departments)
        except ValidationError as error:
            errors, status = error.message_dict, 400
        else:
            return redirect("portal:thread", thread_id=thread.public_id)
    context = {
        "access": access, "threads": threads_for_patient(access), "departments": departments,
        "errors": errors, "posted": request.POST,
    }  # fmt: skip
    return render(request, "portal/messages.html", context, status=status)


def _message_start(request, access, departments):
    """A new thread to the posted department (one that treats the citizen)."""
    from journal.messaging import thread_start

    chosen = next(
        (d for d in departments if str(d.public_id) == request.POST.get("department")), None
    )
    if chosen is None:
        raise ValidationError({"department": _("Choose a department that treats you.")})
    thread = thread_start(
        access=access, department=chosen, subject=request.POST.get("subject", ""),
        text=request.POST.get("text", ""), files=request.FILES.getlist("attachments"),
        allowed_department_ids=[d.pk for d in departments],
    )  # fmt: skip
    messages.success(request, _("Your message is sent to %(d)s.") % {"d": chosen.name})
    return thread


@require_http_methods(["GET", "POST"])
@portal_view(DataKind.MESSAGES)
def thread(request, access, thread_id):
    """One thread: the messages both ways, attachments, and a reply."""
    from journal.messaging import message_send, thread_get, thread_mark_read, thread_messages

    found = thread_get(access, thread_id)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            message_send(
                access=access, thread=found, text=request.POST.get("text", ""),
                files=request.FILES.getlist("attachments"),
            )  # fmt: skip
        except ValidationError as error:
            errors, status = error.message_dict, 400
        else:
            messages.success(request, _("Your message is sent."))
            return redirect("portal:thread", thread_id=found.public_id)
    if access.legal_basis == LegalBasis.SELF:
        # Read by the person, not by someone acting for them: the person still sees it as new.
        thread_mark_read(access=access, thread=found)
    context = {
        "access": access, "thread": found, "messages_in_thread": thread_messages(found),
        "errors": errors, "response_words": _response_time_words(found.department_id),
    }  # fmt: skip
    return render(request, "portal/thread.html", context, status=status)


@portal_view(DataKind.MESSAGES)
def attachment(request, access, attachment_id):
    """A file of a message, as a download (never shown inline: it is the sender's file)."""
    from django.http import FileResponse

    from journal.messaging import attachment_get

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
    from portal.selectors import proxies_of

    me = access.patient  # always the citizen themself here (own_only)
    acting = acting_subject(request, ACTING_KEY)
    errors, status = {}, 200
    if request.method == "POST":
        if acting is not None:
            messages.error(request, str(SWITCH_BACK))
            return redirect("portal:proxies")
        try:
            _proxy_change(request, access)
        except ValidationError as error:
            errors, status = error.message_dict, 400
        else:
            return redirect("portal:proxies")
    context = {
        "access": access, "me": me, "errors": errors, "posted": request.POST, "acting": acting,
        **proxies_of(me),
    }  # fmt: skip
    return render(request, "portal/proxies.html", context, status=status)


def _proxy_change(request, access) -> None:
    """Withdraw a power of attorney the citizen gave, or give one to the adult whose CPR number
    and surname were posted (answered alike for an unknown person and a wrong surname)."""
    from patients.cpr import parse_cpr
    from patients.models import Patient, Proxy
    from patients.services import proxy_grant, proxy_withdraw

    if "withdraw" in request.POST:
        chosen = request.POST["withdraw"]
        given = (
            Proxy.objects.filter(subject=access.patient, public_id=chosen).first()
            if _is_uuid(chosen)
            else None
        )
        if given is None:
            raise ValidationError({"withdraw": _("No such power of attorney.")})
        proxy_withdraw(access=access, proxy=given)
        messages.success(request, _("The power of attorney is withdrawn."))
        return
    if _too_many_tries(request.user):
        log.warning("power of attorney: too many tries by user %s", request.user.pk)
        raise ValidationError({"cpr": str(TOO_MANY_TRIES)})
    try:
        cpr = parse_cpr(request.POST.get("cpr", ""))
    except ValidationError as error:
        raise ValidationError({"cpr": error.messages}) from None
    surname = request.POST.get("family_name", "").strip()
    if not surname:
        raise ValidationError({"family_name": _("Write the person's surname.")})
    holder = Patient.objects.filter(cpr=cpr.value).first()
    if holder is None or holder.family_name.casefold() != surname.casefold():
        raise ValidationError({"cpr": str(UNKNOWN_HOLDER)})
    proxy_grant(access=access, holder=holder)
    messages.success(request, _("%(name)s may now see your record for a year.") % {
        "name": f"{holder.given_names} {holder.family_name}"})  # fmt: skip


def _too_many_tries(user) -> bool:
    """Count a try at giving power of attorney; whether the hour's allowance is spent."""
    from django.core.cache import cache

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
    from patients.access.policy import proxy_valid
    from patients.models import Patient

    if not (request.user.is_authenticated and request.session.get(SESSION_KEY)):
        return redirect("portal:signin")
    chosen = request.POST.get("patient", "")
    if chosen == "self":
        request.session.pop(ACTING_KEY, None)
        return redirect("portal:overview")
    subject = Patient.objects.filter(public_id=chosen).first() if _is_uuid(chosen) else None
    if subject is None or not proxy_valid(user=request.user, patient=subject):
        messages.error(request, _("You may not act for this person."))
        return redirect("portal:proxies")
    request.session[ACTING_KEY] = subject.pk
    return redirect("portal:overview")


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
