"""The HTTP receiver: systems with a token post HL7 v2; answers are 2xx or 4xx with a body."""

import pytest
from django.urls import reverse

from labresults.models import InboundMessage
from labresults.services import system_client_create

pytestmark = pytest.mark.django_db
URL = "/lab/api/messages/"
ORU = (
    b"MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|H1|P|2.5\r"
    b"PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    b"OBR|1|REQ1|LAB1|NPU03429^P-Natrium|||20261124093000\r"
    b"OBX|1|NM|NPU03429^P-Natrium^NPU||141|mmol/L|137-145|N|||F\r"
)


@pytest.fixture
def token():
    return system_client_create(name="KBA Rigshospitalet")[1]


def post(client, body, token=None):
    headers = {"Authorization": f"Token {token}"} if token else {}
    return client.generic(
        "POST", URL, body, content_type="x-application/hl7-v2+er7", headers=headers
    )


def test_the_route_is_where_the_docs_say():
    assert reverse("labresults:api_messages") == URL


def test_a_system_with_a_token_posts_a_result_and_it_is_stored(client, token):
    response = post(client, ORU, token)
    assert response.status_code == 201 and response.json()["ack_code"] == "AA"
    assert bytes(InboundMessage.objects.get().raw) == ORU
    duplicate = post(client, ORU, token)
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True
    assert InboundMessage.objects.count() == 1


def test_what_cannot_be_taken_is_a_400_with_the_reason_and_is_kept(client, token):
    response = post(client, b"not hl7 at all", token)
    assert response.status_code == 400
    assert "MSH" in response.json()["detail"]
    assert InboundMessage.objects.filter(status="failed").count() == 1
    assert post(client, b"", token).status_code == 400


def test_without_a_valid_token_nothing_is_taken(client, token):
    assert post(client, ORU).status_code in (401, 403)
    wrong = post(client, ORU, "not-the-token")
    assert wrong.status_code == 401 and "detail" in wrong.json()
    assert not InboundMessage.objects.exists()
