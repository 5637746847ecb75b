"""Sundhed's FMK client against fmksim, a process of its own, over a real socket."""

import urllib.request
import uuid
from datetime import UTC, datetime

import pytest
from lxml import etree

from medicinkort.fmk import client, reader
from medicinkort.fmk import requests as build
from medicinkort.fmk.requests import DrugMedicationData, Identity
from medicinkort.fmk.transport import FmkFault, FmkUnavailable, breaker_open, call

pytestmark = pytest.mark.django_db

DOCTOR = Identity(
    authorisation_id="B1C2D",
    name="Tove Hjertelæge",
    role="7170",
    organisation="Testhospitalet, Kardiologisk afdeling",
    sor_code="900000000011",
)
PANODIL = DrugMedicationData(
    drug_name="Panodil",
    atc_code="N02BE01",
    atc_text="Paracetamol",
    drug_id="28100636073",
    form_code="TABFILM",
    form_text="filmovertrukne tabletter",
    strength_text="500 mg",
    route_code="OR",
    route_text="Oral anvendelse",
    indication="mod smerter",
    dosage_text="2 tabletter 4 gange daglig",
)


def fresh_cpr() -> str:
    """A CPR number fmksim has not seen in this run (its cards live for the whole run), of
    someone born in the 1900s: a sequence digit 4-9 with a late year would put the birth in the
    1800s, before the earliest BirthDate FMK's schema accepts (1890-01-01)."""
    return f"0101{uuid.uuid4().int % 100:02d}{uuid.uuid4().int % 4000:04d}"


def post_raw(sim, body: bytes, action: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        sim.url, data=body, headers={"SOAPAction": action, "Content-Type": "text/xml"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_card_is_read_written_and_read_again_with_new_versions(fmksim):
    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    assert card.version == "0" and card.lines == []

    version, created = client.drug_medication_create(
        cpr, card.version, DOCTOR, PANODIL, message_id=str(uuid.uuid4())
    )
    [(identifier, _)] = created
    card, raw = client.medicine_card_get(cpr, DOCTOR)
    assert card.version == version != "0"
    [line] = card.lines
    assert (line.identifier, line.drug_name, line.atc_code) == (identifier, "Panodil", "N02BE01")
    assert line.dosage_text == "2 tabletter 4 gange daglig"
    assert line.created.person == "Tove Hjertelæge"
    assert line.created.organisation_id == "SOR 900000000011"

    changed = DrugMedicationData(**{**PANODIL.__dict__, "dosage_text": "1 tablet 3 gange daglig"})
    version, _ = client.drug_medication_update(
        cpr, version, DOCTOR, identifier, changed, message_id=str(uuid.uuid4())
    )
    version, _ = client.drug_medications_pause(
        cpr, version, DOCTOR, [identifier], message_id=str(uuid.uuid4())
    )
    version = client.medicine_card_reviewed(
        cpr, version, DOCTOR, at=datetime.now(UTC), message_id=str(uuid.uuid4())
    )
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    assert card.version == version
    assert card.lines[0].status == "paused"
    assert card.lines[0].dosage_text == "1 tablet 3 gange daglig"
    assert card.reviewed is not None and card.reviewed.person == "Tove Hjertelæge"

    version, _ = client.drug_medications_withdraw(
        cpr, version, DOCTOR, [identifier], message_id=str(uuid.uuid4())
    )
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    assert card.lines == []  # withdrawn drug medications are not on the card unless asked for


@pytest.mark.parametrize("recorded", [True, False])
def test_every_answer_after_writes_is_valid_by_fmks_own_schema(fmksim, recorded):
    from simulators.fmksim.wsdl import schema

    # A recorded card (with a private drug medication), or one fmksim made for a new person.
    cpr = "1111111118" if recorded else fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    version, _ = client.drug_medication_create(
        cpr, card.version, DOCTOR, PANODIL, message_id=str(uuid.uuid4())
    )
    answer = call(
        build.ACTIONS["GetMedicineCard"],
        build.envelope(
            build.get_medicine_card(cpr), identity=DOCTOR, message_id="v-" + cpr + version
        ),
    )
    assert list(schema().iter_errors(answer)) == []
    prescriptions = call(
        build.ACTIONS["GetPrescription"],
        build.envelope(build.get_prescription(cpr), identity=DOCTOR, message_id="rx-" + version),
    )
    assert list(schema().iter_errors(prescriptions)) == []


def test_a_write_on_a_stale_card_version_is_refused_with_fmks_fault(fmksim):
    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    client.drug_medication_create(cpr, card.version, DOCTOR, PANODIL, message_id=str(uuid.uuid4()))
    with pytest.raises(FmkFault) as refused:
        client.drug_medication_create(
            cpr, card.version, DOCTOR, PANODIL, message_id=str(uuid.uuid4())
        )
    assert refused.value.version_conflict
    assert "Hent kortet igen" in refused.value.text
    assert len(client.medicine_card_get(cpr, DOCTOR)[0].lines) == 1


def test_a_retry_with_the_same_message_id_gets_the_same_answer_and_writes_once(fmksim):
    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    message_id = str(uuid.uuid4())
    first = client.drug_medication_create(cpr, card.version, DOCTOR, PANODIL, message_id=message_id)
    again = client.drug_medication_create(cpr, card.version, DOCTOR, PANODIL, message_id=message_id)
    assert first == again
    assert len(client.medicine_card_get(cpr, DOCTOR)[0].lines) == 1


def test_a_request_fmks_schema_would_refuse_is_refused_naming_the_element(fmksim):
    wrong = build.create_drug_medication(fresh_cpr(), "0", DOCTOR, PANODIL)
    indication = wrong.find(f".//{{{build.E2}}}Indication")
    indication[0].tag = f"{{{build.BASE}}}Text"  # the schema wants Code or FreeText here
    with pytest.raises(FmkFault) as refused:
        call(
            build.ACTIONS["CreateDrugMedication"],
            build.envelope(wrong, identity=DOCTOR, message_id=str(uuid.uuid4())),
        )
    assert refused.value.code == "SchemaValidation"
    assert "Indication" in refused.value.text


def test_an_authorisation_id_fmk_would_not_accept_is_refused(fmksim):
    vowel = Identity(**{**DOCTOR.__dict__, "authorisation_id": "A1B2C"})
    with pytest.raises(FmkFault) as refused:
        client.drug_medication_create(fresh_cpr(), "0", vowel, PANODIL, message_id="x-vowel")
    assert refused.value.code == "SchemaValidation"


def test_without_an_identity_card_fmksim_refuses_with_a_dgws_fault(fmksim):
    request = build.get_medicine_card(fresh_cpr())
    envelope = etree.fromstring(build.envelope(request, identity=DOCTOR, message_id="no-card"))
    header = envelope.find(f"{{{build.SOAP_ENV}}}Header")
    header.remove(header.find(f"{{{build.WSSE}}}Security"))
    status, body = post_raw(fmksim, etree.tostring(envelope), build.ACTIONS["GetMedicineCard"])
    assert status == 500
    answer = etree.fromstring(body)
    assert answer.findtext(f".//{{{build.MEDCOM}}}FaultCode") == "missing_required_header"


def test_an_id_card_without_authorisation_or_role_is_refused(fmksim):
    nobody = Identity(**{**DOCTOR.__dict__, "authorisation_id": ""})
    with pytest.raises(FmkFault) as refused:
        client.medicine_card_get(fresh_cpr(), nobody)
    assert refused.value.dgws == "invalid_idcard"


def test_a_nurse_may_read_but_not_write_without_on_behalf_of(fmksim):
    nurse = Identity(**{**DOCTOR.__dict__, "authorisation_id": "G5H6K", "role": "5166"})
    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, nurse)
    with pytest.raises(FmkFault) as refused:
        client.drug_medication_create(cpr, card.version, nurse, PANODIL, message_id="nurse-1")
    assert refused.value.dgws == "not_authorized"


def test_a_write_signed_by_someone_else_than_the_id_card_holder_is_refused(fmksim):
    cpr = fresh_cpr()
    request = build.create_drug_medication(cpr, "0", DOCTOR, PANODIL)
    other = Identity(**{**DOCTOR.__dict__, "authorisation_id": "D3F4G"})
    with pytest.raises(FmkFault) as refused:
        call(
            build.ACTIONS["CreateDrugMedication"],
            build.envelope(request, identity=other, message_id=str(uuid.uuid4())),
        )
    assert refused.value.dgws == "not_authorized"


def test_private_drug_medications_are_shown_only_with_the_patients_consent(fmksim):
    get = build.get_medicine_card("1111111118")
    without = reader.medicine_card(
        call(
            build.ACTIONS["GetMedicineCard"], build.envelope(get, identity=DOCTOR, message_id="p1")
        )
    )
    assert without.private_identifiers == ["66044262"]
    assert "66044262" not in [line.identifier for line in without.lines]

    # A drug medication the patient marks private (RemoveConsent), then shown with consent.
    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    version, [(identifier, _)] = client.drug_medication_create(
        cpr, card.version, DOCTOR, PANODIL, message_id=str(uuid.uuid4())
    )
    private = build.remove_consent(cpr, version, DOCTOR, [identifier])
    call(
        build.ACTIONS["RemoveConsent"],
        build.envelope(private, identity=DOCTOR, message_id=str(uuid.uuid4())),
    )

    def read(consent: bool) -> reader.Card:
        envelope = build.envelope(
            build.get_medicine_card(cpr), identity=DOCTOR, message_id=str(uuid.uuid4()),
            consent=consent,
        )  # fmt: skip
        return reader.medicine_card(call(build.ACTIONS["GetMedicineCard"], envelope))

    hidden, shown = read(False), read(True)
    assert hidden.lines == [] and hidden.private_identifiers == [identifier]
    assert [line.identifier for line in shown.lines] == [identifier] and shown.lines[0].private


def test_fmk_down_connection_refused_or_503_is_unavailable_and_opens_the_breaker(fmksim, settings):
    settings.SUNDHED_FMK_BREAKER_FAILURES = 2
    fmksim.mode("refuse")
    with pytest.raises(FmkUnavailable):
        client.medicine_card_get(fresh_cpr(), DOCTOR)
    fmksim.mode("unavailable")
    with pytest.raises(FmkUnavailable):
        client.medicine_card_get(fresh_cpr(), DOCTOR)
    assert breaker_open()
    fmksim.mode("up")
    seen = len(fmksim.requests_seen())
    with pytest.raises(FmkUnavailable, match="paused"):
        client.medicine_card_get(fresh_cpr(), DOCTOR)  # the breaker holds calls a moment
    assert len(fmksim.requests_seen()) == seen  # nothing was sent


def test_a_slow_fmk_times_out_as_unavailable(fmksim, settings):
    settings.SUNDHED_FMK_TIMEOUT = 0.3
    settings.SUNDHED_FMK_RETRIES = 0
    fmksim.mode("up", delay=1.0)
    with pytest.raises(FmkUnavailable):
        client.medicine_card_get(fresh_cpr(), DOCTOR)


def test_a_structured_dosage_and_a_coded_indication_go_as_fmk_has_them(fmksim):
    """A structure (weekly, at 08:00) and an indication written as FMK's text for a code ("mod
    smerter": 145) are sent as FMK's structures and code; fmksim accepts them against FMK's
    schema, its answer validates too, and the card read back holds the structure, the code's
    text and FMK's translation; an indication FMK has no code for goes as free text."""
    from medicinkort.dosage import Dosage
    from simulators.fmksim.wsdl import schema

    cpr = fresh_cpr()
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    period = {"start": "2026-12-07", "end": None, "every_days": 7, "days": [1],
              "doses": [["1", "08:00"]], "supplementary": "Tages fastende"}  # fmt: skip
    weekly = {"unit": ["tablet", "tabletter"], "as_needed": False, "most_a_day": None,
              "periods": [period]}  # fmt: skip
    structured = DrugMedicationData(**{**PANODIL.__dict__, "indication": "mod smerter",
                                       "structure": weekly})  # fmt: skip
    version, [(identifier, _)] = client.drug_medication_create(
        cpr, card.version, DOCTOR, structured, message_id=str(uuid.uuid4())
    )
    free = DrugMedicationData(**{**PANODIL.__dict__, "indication": "Smerter i knæet"})
    client.drug_medication_create(cpr, version, DOCTOR, free, message_id=str(uuid.uuid4()))
    answer = call(
        build.ACTIONS["GetMedicineCard"],
        build.envelope(build.get_medicine_card(cpr), identity=DOCTOR, message_id="s-" + cpr),
    )
    assert list(schema().iter_errors(answer)) == []
    card, _ = client.medicine_card_get(cpr, DOCTOR)
    line = next(line for line in card.lines if line.identifier == identifier)
    assert line.indication == "mod smerter"
    assert line.dosage_text == "1 tablet kl. 08:00 hver 7. dag. Tages fastende"
    assert Dosage.from_json(line.dosage) == Dosage.from_json(weekly)
    summary = {d["identifier"]: d for d in fmksim.card(cpr)["drug_medications"]}
    assert summary[identifier]["indication_code"] == "145"
    other = next(d for i, d in summary.items() if i != identifier)
    assert (other["indication"], other["indication_code"]) == ("Smerter i knæet", "")
