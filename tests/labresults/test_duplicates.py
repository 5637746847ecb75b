"""A duplicate is the same sender, control id and content; a reused control id with other
content is a message of its own, processed, and the queue page says the id was reused."""

import pytest
from django.urls import reverse

from labresults.models import InboundMessage, LabResult
from labresults.services import inbound_message_process, system_client_create
from tests.labresults.test_receive_http import post
from tests.labresults.test_receive_mllp import send

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|SAME1|P|2.5\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1||{filler}|NPU03429^P-Natrium|||20261124093000\r"
    "OBX|1|NM|NPU03429^P-Natrium^NPU||{value}|mmol/L|137-145|N|||F\r"
)


def oru(filler="F1", value="141", newline="\r") -> bytes:
    return ORU.format(filler=filler, value=value).replace("\r", newline).encode()


@pytest.mark.django_db(transaction=True)
def test_over_mllp_a_resend_is_one_message_and_new_content_under_an_old_id_is_another(
    cast, mllp_receiver
):
    acks = send(mllp_receiver, oru(), oru(), oru(filler="F2", value="139"))
    assert [ack.first("MSA").get(1) for ack in acks] == ["AA", "AA", "AA"]
    assert "Duplicate" in acks[1].first("MSA").get(3)
    assert "Duplicate" not in (acks[2].first("MSA").get(3) or "")
    rows = InboundMessage.objects.filter(control_id="SAME1").order_by("id")
    assert rows.count() == 2
    for row in rows:
        assert inbound_message_process(message_id=row.pk).status == "processed"
    assert sorted(LabResult.objects.values_list("value_text", flat=True)) == ["139", "141"]


@pytest.mark.django_db
def test_over_http_the_same_rules_and_line_endings_do_not_make_new_content(cast, client):
    token = system_client_create(name="KBA")[1]
    first = post(client, oru().decode(), token=token)
    again = post(client, oru(newline="\r\n").decode() + "\r\n", token=token)  # same content
    other = post(client, oru(filler="F3", value="150").decode(), token=token)
    assert first.status_code < 300 and again.status_code < 300 and other.status_code < 300
    assert InboundMessage.objects.filter(control_id="SAME1").count() == 2


@pytest.mark.django_db
def test_the_queue_page_says_which_sender_reused_control_ids(cast, client):
    from labresults.services import inbound_message_receive
    from organisation.models import Role, StaffMember

    inbound_message_receive(raw=oru(), transport="mllp")
    inbound_message_receive(raw=oru(filler="F9", value="133"), transport="mllp")
    staff = StaffMember.objects.get(user=cast.administrator)
    assert staff.role == Role.ADMINISTRATOR
    client.force_login(cast.administrator)
    page = client.get(reverse("labresults:queues")).content.decode()
    assert 'data-testid="control-id-reuse"' in page and "LABSYS@KBA RH" in page
