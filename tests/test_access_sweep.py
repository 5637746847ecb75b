"""The access sweep: every route that can show a patient refuses everyone without a relation.

It walks the whole URL configuration. Every route outside Django admin must be classified: gated
by the access gate (`patient_gate`), a staff page (`staff_view`), the user's own account
(allauth), or one of the entries listed below with a reason. An unclassified route fails the
sweep, so a new view cannot escape, with or without parameters.
"""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.views.generic.base import RedirectView

from audit.models import AccessEvent

# Routes with parameters that are not a patient's data, and why.
NOT_PATIENT_DATA = {
    "patients:break_glass": "the way into the gate: shows a form, no patient data",
    "account_confirm_email": "allauth: e-mail confirmation key",
    "account_reset_password_from_key": "allauth: password reset key",
    "set_language": "i18n",
    "booking:offer": "a waiting-list offer's token: the time and place offered to its patient; "
    "what it shows and books is on the patient's access log, by the system",
    "booking:ical": "a private iCal token: times and places in generic words, no name or "
    "diagnosis; a patient's feed writes the patient's own access event",
    "openid_connect_login": "allauth: starts a citizen's sign-in at the MitID broker",
    "openid_connect_callback": "allauth: the broker's answer; signs the citizen in",
    # Routes without parameters that are not a patient's data.
    "healthz": "the process answers; touches nothing",
    "readyz": "PostgreSQL and the broker answer; names no patient",
    "organisation:switch_department": "the staff member's own active department",
    "portal:signin": "the way into the portal (MitID)",
    "portal:signout": "signs the citizen out",
    "portal:act_for": "a proxy chooses whom to act for; the portal's gate decides on each page",
    "labresults:api_messages": "a laboratory posts results with its system token (bound to its "
    "senders); the answer is the acknowledgement, no patient data",
    "home": "the start page: the active department's work list and appointments, only after "
    "the second factor, each patient shown logged as a list (worklist_disclose)",
}
# allauth's pages of the user's own account (sign-in, password, e-mail, linked accounts).
OWN_ACCOUNT_PREFIXES = ("account_", "socialaccount_", "mfa_")
ADMIN_PREFIX = "admin:"
# Gated routes that take only a POST (a change); every other gated route is a page to open.
POST_ONLY = {
    "patients:cave_create",
    "journal:note_new",
    "journal:epikrise_new",
    "labresults:order_create",
    "labresults:results_acknowledge",
    "medicinkort:card_refresh",
    "medicinkort:order_new",
    "booking:book",
    "booking:waiting_add",
}


def walk(patterns=None, prefix="", namespace=""):
    """(route, name, callback) for every pattern in the project."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield prefix + str(entry.pattern), name, entry.callback, entry.pattern.converters


def has_parameter(route):
    return "<" in route or "(?P<" in route


def classify(route, name, callback):
    gate = getattr(callback, "patient_gate", None)
    if gate:
        # The portal's pages of the citizen's own record: swept in tests/portal/test_sweep.py.
        return "citizen" if gate["audience"] == "patient" else "gated"
    if getattr(callback, "staff_view", False):
        return "staff"
    if name.startswith(ADMIN_PREFIX) or route.startswith("admin/"):
        return "admin"
    if name in NOT_PATIENT_DATA or name.startswith(OWN_ACCOUNT_PREFIXES):
        return "exempt"
    if getattr(callback, "view_class", None) is not None and issubclass(
        callback.view_class, RedirectView
    ):
        return "redirect"  # a fixed redirect (allauth's old addresses, the favicon)
    if getattr(callback, "cls", None) is not None:  # DRF views are gated by their permission
        permissions = getattr(callback.cls, "permission_classes", [])
        if any(getattr(p, "patient_gate", False) for p in permissions):
            return "gated"
    return None


def build_url(route, converters, values):
    """Fill a route's parameters: patient_id with the given patient, other uuids at random."""
    url = "/" + route
    for key in converters:
        converter = type(converters[key]).__name__.lower().replace("converter", "")
        token_start = url.index("<")
        token_end = url.index(">", token_start)
        value = values.get(key)
        if value is None:
            # A uuid route gets an unknown uuid; any other parameter a plain word.
            value = uuid.uuid4() if converter == "uuid" else "NPU03429"
        url = url[:token_start] + str(value) + url[token_end + 1 :]
    return url


def test_every_route_is_classified_with_or_without_parameters():
    routes = list(walk())
    unknown = [
        f"{name or '(unnamed)'} {route}"
        for route, name, callback, _converters in routes
        if classify(route, name, callback) is None
    ]
    assert unknown == [], "classify these routes in the access sweep"
    assert sum(not has_parameter(route) for route, *_ in routes) > 20  # the parameterless too


@pytest.mark.django_db
def test_no_one_without_a_care_relation_sees_a_patient(cast, client, settings):
    # Lars Holm (cast.stranger) has no care course anywhere: every cast member is an outsider.
    outsider = cast.stranger
    gated = [
        (route, name, converters)
        for route, name, callback, converters in walk()
        if classify(route, name, callback) == "gated"
    ]
    assert gated, "the sweep found no gated routes"
    refused_as = {**cast.members, "anonymous": None}
    outsider.address_line = "Hemmelig Allé 7"
    outsider.save()
    secrets = [outsider.cpr[:6], outsider.family_name, outsider.address_line]
    requests = 0
    for route, name, converters in gated:
        url = build_url(route, converters, {"patient_id": outsider.public_id})
        for who, user in refused_as.items():
            client.logout()
            if user is not None:
                client.force_login(user)
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                requests += 1
                body = response.content.decode(errors="replace")
                allowed_admin_log = who in {"administrator", "it_administrator"} and name in {
                    "patients:access_log",
                    "patients:blockings",
                }
                if allowed_admin_log:
                    # Administration may read the access log and blockings, never clinical data;
                    # the refusal tests elsewhere prove it gets no clinical page.
                    continue
                assert not 200 <= response.status_code < 300, (name, who, method)
                assert not any(secret in body for secret in secrets), (name, who, method)

    # The treating doctor, with a care relation, gets every GET page of the patient's own,
    # and each writes exactly one access event (none for 204: a poll that found nothing new).
    client.force_login(cast.treating_doctor)
    opened, post_only = set(), set()
    for route, name, converters in gated:
        if not set(converters) <= {"patient_id", "code"}:
            continue
        url = build_url(route, converters, {"patient_id": cast.patient.public_id})
        before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
        response = client.get(url)
        written = AccessEvent.objects.filter(patient_id=cast.patient.pk).count() - before
        if response.status_code == 405:
            post_only.add(name)
            continue
        assert response.status_code in (200, 204), name
        assert written == (0 if response.status_code == 204 else 1), (name, written)
        opened.add(name)
    print(
        f"\naccess sweep: {len(gated)} gated routes, {requests} refused requests as "
        f"{len(refused_as)} cast members, {len(opened)} pages opened by the treating doctor"
    )
    assert post_only == POST_ONLY, "a route changed between GET and POST-only: update POST_ONLY"
    assert opened, "the treating doctor opened no page"


@pytest.mark.django_db
def test_routes_outside_the_gate_that_take_a_patient_show_nothing_of_them(cast, client):
    """The break-the-glass page and the like take a patient but must not disclose them."""
    outsider = cast.stranger
    routes = [
        (route, name, converters)
        for route, name, callback, converters in walk()
        if "patient_id" in converters and classify(route, name, callback) in {"staff", "exempt"}
    ]
    assert routes
    for route, name, converters in routes:
        url = build_url(route, converters, {"patient_id": outsider.public_id})
        for who, user in {**cast.members, "anonymous": None}.items():
            client.logout()
            if user is not None:
                client.force_login(user)
            body = client.get(url).content.decode(errors="replace")
            assert outsider.family_name not in body and outsider.cpr[:6] not in body, (name, who)


@pytest.mark.django_db
def test_admin_pages_of_patient_data_refuse_everyone_but_admin_staff(cast, client):
    patient_models = ["patient", "carecourse", "caveentry", "blocking", "breakglass"]
    objects = {"patient": cast.patient.pk, "carecourse": cast.course.pk}
    checked = 0
    for who, user in {**cast.members, "anonymous": None}.items():
        client.logout()
        if user is not None:
            client.force_login(user)
        for model in patient_models:
            urls = [f"/admin/patients/{model}/"]
            if model in objects:
                urls.append(f"/admin/patients/{model}/{objects[model]}/change/")
            for url in urls:
                response = client.get(url)
                checked += 1
                if user is not None and user.is_staff:
                    # Admin staff without the model permission get 403; with it, an audited page.
                    assert response.status_code in (200, 403), (url, who)
                else:
                    assert response.status_code == 302, (url, who)
                    assert response["Location"].startswith("/admin/login/"), (url, who)
    assert checked == 7 * (len(cast.members) + 1)


def _name_shown(response, patient) -> bool:
    body = response.content.decode(errors="replace")
    return patient.family_name in body or patient.cpr[:6] in body


@pytest.mark.django_db
def test_every_response_that_shows_the_patient_writes_one_event_and_no_other_does(cast, client):
    """Whatever the method and status: HEAD and OPTIONS, a form sent back with errors (4xx),
    a refusal, a redirect after a change."""
    client.force_login(cast.treating_doctor)
    patient = cast.patient
    checked = 0
    for route, name, callback, converters in walk():
        if classify(route, name, callback) != "gated" or not set(converters) <= {
            "patient_id",
            "code",
        }:
            continue
        url = build_url(route, converters, {"patient_id": patient.public_id})
        for method in ("head", "options", "post"):
            before = AccessEvent.objects.filter(patient_id=patient.pk).count()
            response = getattr(client, method)(url)
            written = AccessEvent.objects.filter(patient_id=patient.pk).count() - before
            checked += 1
            if method in ("head", "options"):
                assert written == 0, (name, method)
            elif 300 <= response.status_code < 400:
                assert written <= 1, (name, method, written)  # the change's own event, if any
            else:
                expected = 1 if _name_shown(response, patient) else 0
                assert written == expected, (name, method, response.status_code, written)
    assert checked > 30


ADMIN_PATIENT_MODELS = [
    ("patients", "patient"),
    ("patients", "carecourse"),
    ("patients", "caveentry"),
    ("patients", "blocking"),
    ("patients", "breakglass"),
    ("labresults", "labreport"),
    ("labresults", "labresult"),
]


@pytest.mark.django_db
def test_every_admin_page_that_shows_a_patient_is_on_their_log(cast, client):
    from tests.conftest import block

    block(cast, care_course=cast.course)
    objects = {
        "patient": cast.patient.pk,
        "carecourse": cast.course.pk,
        "caveentry": cast.patient.cave_entries.get().pk,
        "blocking": cast.patient.blockings.get().pk,
    }
    client.force_login(cast.it_administrator)
    pages = 0
    for app, model in ADMIN_PATIENT_MODELS:
        urls = [f"/admin/{app}/{model}/"]
        if model in objects:
            urls += [
                f"/admin/{app}/{model}/{objects[model]}/change/",
                f"/admin/{app}/{model}/{objects[model]}/history/",
            ]
        for url in urls:
            before = AccessEvent.objects.filter(patient_id=cast.patient.pk).count()
            response = client.get(url)
            written = AccessEvent.objects.filter(patient_id=cast.patient.pk).count() - before
            if response.status_code == 403:
                assert not _name_shown(response, cast.patient), url
                continue
            assert response.status_code == 200, url
            pages += 1
            # A page of one of the patient's objects shows their record, named or not.
            shown = url.endswith(("/change/", "/history/")) or _name_shown(response, cast.patient)
            assert written == (1 if shown else 0), (url, written)
            event = AccessEvent.objects.filter(patient_id=cast.patient.pk).first()
            if written:
                assert event.legal_basis == "administration", url
    assert pages >= 10
