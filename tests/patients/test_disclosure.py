"""Exactly one access event for every response that shows patient data, whatever its status;
none for responses that show nothing (HEAD, OPTIONS, redirects). No caching, no open redirect."""

import pytest
from django.urls import reverse

from audit.models import AccessEvent

REASON = "Patienten er indlagt akut og bevidstløs på min afdeling"


def detail(cast):
    return reverse("patients:detail", kwargs={"patient_id": cast.patient.public_id})


def events(cast):
    return AccessEvent.objects.filter(patient_id=cast.patient.pk)


def test_an_invalid_form_re_rendered_with_400_writes_one_view_event(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("patients:cave_create", kwargs={"patient_id": cast.patient.public_id})
    response = client.post(url, {"substance": ""})
    assert response.status_code == 400
    assert "Karen" in response.content.decode()  # the whole page with the banner
    event = events(cast).get()
    assert (event.action, event.data_kind) == ("view", "cave")


@pytest.mark.parametrize("method", ["head", "options"])
def test_head_and_options_show_nothing_and_are_not_logged(cast, client, method):
    client.force_login(cast.treating_doctor)
    for url in (detail(cast), reverse("patients:access_log", args=[cast.patient.public_id])):
        response = getattr(client, method)(url)
        assert response.status_code in (200, 405)
        assert response.content == b"", url  # nothing of the page
    assert not events(cast).exists()


def test_patient_pages_and_api_answers_are_never_cached(cast, client):
    client.force_login(cast.treating_doctor)
    for url in (detail(cast), f"/api/patients/{cast.patient.public_id}/"):
        response = client.get(url)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], url


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
def test_break_the_glass_never_sends_on_to_another_site(cast, client, target):
    client.force_login(cast.treating_doctor)
    url = reverse("patients:break_glass", kwargs={"patient_id": cast.stranger.public_id})
    response = client.post(f"{url}?next={target}", {"reason": REASON, "next": target})
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"] == reverse("patients:detail", args=[cast.stranger.public_id])


def test_break_the_glass_returns_to_a_page_of_ours(cast, client):
    client.force_login(cast.treating_doctor)
    url = reverse("patients:break_glass", kwargs={"patient_id": cast.stranger.public_id})
    back = reverse("patients:access_log", args=[cast.stranger.public_id])
    response = client.post(url, {"reason": REASON, "next": back})
    assert response["Location"] == back


def test_the_api_answers_an_unknown_patient_with_a_404_and_a_body(cast, client):
    import uuid

    client.force_login(cast.treating_doctor)
    response = client.get(f"/api/patients/{uuid.uuid4()}/")
    assert response.status_code == 404 and response.json()["detail"]
