"""The portal's access sweep: every route of the citizen's own record, GET and POST, as two
citizens, as every staff member and as nobody. A citizen never sees another citizen's data, a
staff session never opens a citizen's page, and every page a citizen opens writes exactly one
access event, on their own record."""

from django.test import Client
from django.utils import timezone

from audit.models import AccessEvent
from patients.access.policy import access_decide
from patients.services import blocking_create, care_course_create
from tests.portal.conftest import mitid_sign_in
from tests.test_access_sweep import build_url, classify, walk


def citizen_routes():
    return [
        (route, name, converters)
        for route, name, callback, converters in walk()
        if classify(route, name, callback) == "citizen"
    ]


def test_every_portal_route_keeps_each_citizen_to_their_own(cast, client, mitid):
    routes = citizen_routes()
    assert len(routes) >= 4, routes
    # Lars has a course and a blocking of his own: ids a citizen could try to reach.
    lars = cast.stranger
    lars.address_line = "Hemmelig Allé 7"
    lars.save()
    course = care_course_create(
        patient=lars, department=cast.cardiology, kind="outpatient", title="Lars' forløb",
        started_at=timezone.now() - timezone.timedelta(days=3),
    )  # fmt: skip
    other = Client()
    mitid_sign_in(other, lars.cpr)
    lars.refresh_from_db()
    access = access_decide(user=lars.user, patient=lars, data_kind="blocking", audience="patient")
    blocking = blocking_create(access=access, care_course=course)
    lars_ids = {"blocking_id": blocking.public_id, "patient_id": lars.public_id}
    secrets = [lars.cpr[:6], lars.family_name, lars.address_line, "Lars' forløb"]

    mitid_sign_in(client, cast.patient.cpr)
    for route, name, converters in routes:
        url = build_url(route, converters, lars_ids)
        for method in ("get", "post"):
            before = AccessEvent.objects.count()
            response = getattr(client, method)(url, follow=False)
            body = response.content.decode(errors="replace")
            assert not any(secret in body for secret in secrets), (name, method)
            new = AccessEvent.objects.order_by("id")[before:]
            assert all(e.patient_id == cast.patient.pk for e in new), (name, method)
            if method == "get" and not converters and response.status_code != 405:  # a page
                assert response.status_code == 200, (name, response.status_code)
                assert len(new) == 1, (name, len(new))
    assert blocking.__class__.objects.get(pk=blocking.pk).revoked_at is None

    # Staff and nobody: never a citizen's page.
    for who, user in {**cast.members, "anonymous": None}.items():
        visitor = Client()
        if user is not None:
            visitor.force_login(user)
        for route, name, converters in routes:
            url = build_url(route, converters, lars_ids)
            for method in ("get", "post"):
                before = AccessEvent.objects.count()
                response = getattr(visitor, method)(url)
                assert response.status_code in (302, 403, 404, 405), (who, name, method)
                assert AccessEvent.objects.count() == before, (who, name, method)
