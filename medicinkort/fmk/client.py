"""FMK's operations as the services call them: build, send through the transport, read.

Every call carries a message id. Writes take it from their outbox row, so a write sent again
after a lost answer is recognised by FMK and changes nothing twice.
"""

import uuid
from datetime import datetime

from lxml import etree

from medicinkort.fmk import reader
from medicinkort.fmk import requests as build
from medicinkort.fmk.requests import DrugMedicationData, Identity
from medicinkort.fmk.transport import call


def _send(operation: str, request, identity: Identity, message_id: str | None, **options):
    envelope = build.envelope(
        request, identity=identity, message_id=message_id or str(uuid.uuid4()), **options
    )
    return call(build.ACTIONS[operation], envelope)


def medicine_card_get(
    cpr: str, identity: Identity, *, message_id: str | None = None
) -> tuple[reader.Card, str]:
    """The patient's card as read, and FMK's answer as it came."""
    answer = _send("GetMedicineCard", build.get_medicine_card(cpr), identity, message_id)
    return reader.medicine_card(answer), etree.tostring(answer, encoding="unicode")


def drug_medication_create(
    cpr: str, card_version: str, identity: Identity, data: DrugMedicationData, *, message_id: str
) -> tuple[str, list[tuple[str, str]]]:
    request = build.create_drug_medication(cpr, card_version, identity, data)
    return reader.write_answer(_send("CreateDrugMedication", request, identity, message_id))


def drug_medication_update(
    cpr: str,
    card_version: str,
    identity: Identity,
    identifier: str,
    data: DrugMedicationData,
    *,
    message_id: str,
    reason: str = "",
) -> tuple[str, list[tuple[str, str]]]:
    request = build.update_drug_medication(cpr, card_version, identity, identifier, data, reason)
    return reader.write_answer(_send("UpdateDrugMedication", request, identity, message_id))


def drug_medications_pause(cpr, card_version, identity, identifiers, *, message_id: str,
                           reason: str = ""):  # fmt: skip
    request = build.pause_drug_medication(cpr, card_version, identity, identifiers, reason)
    return reader.write_answer(_send("PauseDrugMedication", request, identity, message_id))


def drug_medications_unpause(cpr, card_version, identity, identifiers, *, message_id: str):
    request = build.unpause_drug_medication(cpr, card_version, identity, identifiers)
    return reader.write_answer(_send("UnpauseDrugMedication", request, identity, message_id))


def drug_medications_withdraw(cpr, card_version, identity, identifiers, *, message_id: str,
                              reason: str = ""):  # fmt: skip
    request = build.withdraw_drug_medication(cpr, card_version, identity, identifiers, reason)
    return reader.write_answer(_send("WithdrawDrugMedication", request, identity, message_id))


def medicine_card_reviewed(
    cpr: str, card_version: str, identity: Identity, *, at: datetime, message_id: str
) -> str:
    request = build.set_medicine_card_reviewed(cpr, card_version, identity, at=at)
    version, _ = reader.write_answer(
        _send("SetMedicineCardReviewed", request, identity, message_id)
    )
    return version
