"""Garbage in every query parameter of every route: a 400 that names the parameter, never a 500.

The parameter names are read from the code (every `query_*(request, "name")` and
`request.GET.get("name")`), so a new parameter is swept without editing this file.
"""

import re
from pathlib import Path

import pytest

from tests.test_access_sweep import build_url, classify, walk

ROOT = Path(__file__).resolve().parent.parent
APPS = ["patients", "journal", "labresults", "chart", "organisation", "sundhed"]
# A NUL byte is refused for every parameter by the middleware (tested below, once per route).
GARBAGE = ["2026-13-45T99:99' OR 1=1 --", "x" * 3000]


def parameter_names() -> set[str]:
    pattern = re.compile(
        r"""(?:query_\w+\(\s*request,\s*|request\.GET\.(?:get|getlist)\(\s*)["'](\w+)["']"""
    )
    names = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    return names


def test_the_sweep_knows_the_parameters_of_the_code():
    assert {"before", "since", "kind", "department", "status", "type", "all", "q"} <= (
        parameter_names()
    )


@pytest.mark.django_db
def test_garbage_in_any_parameter_is_never_a_500(cast, client):
    names = parameter_names()
    routes = [
        (route, name, converters, classify(route, name, callback))
        for route, name, callback, converters in walk()
        if classify(route, name, callback) in {"gated", "staff", None}
        and not route.startswith(("admin/", "accounts/", "i18n/"))
        and set(converters) <= {"patient_id", "code"}
    ]
    assert len(routes) > 20
    checked = 0
    for who in (cast.treating_doctor, cast.administrator):
        client.force_login(who)
        for route, name, converters, kind in routes:
            if who == cast.administrator and kind == "gated":
                continue  # administration opens no clinical page: the doctor sweeps those
            url = build_url(route, converters, {"patient_id": cast.patient.public_id})
            if client.get(url).status_code == 405:
                continue
            nul = client.get(url, {"q": "a\x00b"})
            assert nul.status_code == 400 and "q" in nul.content.decode(), name
            for parameter in names:
                for value in GARBAGE:
                    response = client.get(url, {parameter: value})
                    checked += 1
                    assert response.status_code < 500, (name, parameter, value)
                    if response.status_code == 400 and parameter in response.content.decode():
                        continue
                    assert response.status_code in (200, 204, 302, 401, 403, 404, 405), (
                        name,
                        parameter,
                        value,
                        response.status_code,
                    )
    assert checked > 300


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("route", "parameter", "value"),
    [
        ("chart:timeline", "before", "yesterday"),
        ("labresults:results", "before", "13/13/2026"),
        ("labresults:live_panel", "since", "soon"),
        ("chart:timeline", "kind", "nonsense"),
        ("chart:timeline", "department", "abc"),
        ("journal:notes", "type", "poem"),
    ],
)
def test_a_bad_parameter_is_a_400_that_names_it(cast, client, route, parameter, value):
    from django.urls import reverse

    from audit.models import AccessEvent

    client.force_login(cast.treating_doctor)
    url = reverse(route, kwargs={"patient_id": cast.patient.public_id})
    response = client.get(url, {parameter: value})
    assert response.status_code == 400
    assert parameter in response.content.decode()
    assert not AccessEvent.objects.filter(patient_id=cast.patient.pk).exists()  # nothing shown
