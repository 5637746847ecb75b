"""FMK's SOAP requests, built element by element as the WSDL's schemas want them.

Element order matters (the schemas are sequences); fmksim validates every request against the
schemas, and so does the test suite, so a mistake here is a failing test, not a fault in
production.
"""

import csv
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from lxml import etree

BASE = "http://www.dkma.dk/medicinecard/xml.schema/2015/06/01"
E2 = BASE + "/E2"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
MEDCOM = "http://www.medcom.dk/dgws/2006/04/dgws-1.0.xsd"
SOSI = "http://www.sosi.dk/sosi/2006/04/sosi-1.0.xsd"
WHITELIST = "http://www.sdsd.dk/dgws/2012/06"
WHITELIST_TYPES = "http://www.sdsd.dk/dgws/2010/08"

# SOAP actions of the operations Sundhed uses (from the WSDL's binding).
ACTIONS = {
    "GetMedicineCard": E2 + "#GetMedicineCard",
    "CreateDrugMedication": E2 + "#CreateDrugMedication",
    "UpdateDrugMedication": E2 + "#UpdateDrugMedication",
    "PauseDrugMedication": BASE + "#PauseDrugMedication",
    "UnpauseDrugMedication": BASE + "#UnpauseDrugMedication",
    "WithdrawDrugMedication": BASE + "#WithdrawDrugMedication",
    "SetMedicineCardReviewed": BASE + "#SetMedicineCardReviewed",
    "SetMedicineCardNotReviewed": BASE + "#SetMedicineCardNotReviewed",
    "GetPrescription": BASE + "/E6#GetPrescription",
    "GiveConsent": BASE + "#GiveConsent",
    "RemoveConsent": BASE + "#RemoveConsent",
}


@dataclass(frozen=True)
class Identity:
    """Who asks FMK: the clinician (authorisation id and role) and where they work."""

    authorisation_id: str
    name: str
    role: str  # DGWS user role: "7170" doctor, "5166" nurse, ...
    organisation: str
    sor_code: str
    sks_code: str = ""
    system_name: str = "Sundhed"
    system_version: str = "0.1"


@dataclass
class DrugMedicationData:
    """A drug medication as Sundhed writes it to FMK."""

    drug_name: str
    atc_code: str = ""
    atc_text: str = ""
    drug_id: str = ""
    form_code: str = ""
    form_text: str = ""
    strength_text: str = ""
    route_code: str = ""
    route_text: str = ""
    indication: str = ""
    dosage_text: str = ""
    start: date = field(default_factory=date.today)
    end: date | None = None
    # The structured dosage (medicinkort.dosage.Dosage as JSON), sent as FMK's structures;
    # without one the dosage is sent as its free text.
    structure: dict | None = None


def _sub(parent, namespace: str, name: str, text: str | None = None, **attributes):
    element = etree.SubElement(parent, f"{{{namespace}}}{name}", **attributes)
    if text is not None:
        element.text = text
    return element


def _dt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(body, *, identity: Identity, message_id: str, consent: bool = False) -> bytes:
    """The SOAP envelope with FMK's headers around one request element."""
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    header = _sub(env, SOAP_ENV, "Header")
    security = etree.SubElement(header, f"{{{WSSE}}}Security", nsmap={"wsse": WSSE})
    assertion = etree.SubElement(
        security,
        f"{{{SAML}}}Assertion",
        nsmap={"saml": SAML},
        IssueInstant=_dt(datetime.now(UTC)),
        Version="2.0",
        id="IDCard",
    )
    _sub(assertion, SAML, "Issuer", "Sundhed (unsigned: a production STS signs this)")
    for statement_id, attributes in (
        ("IDCardData", [("sosi:IDCardType", "user"), ("sosi:AuthenticationLevel", "4")]),
        (
            "UserLog",
            [
                ("medcom:UserGivenName", identity.name.rsplit(" ", 1)[0]),
                ("medcom:UserSurName", identity.name.rsplit(" ", 1)[-1]),
                ("medcom:UserRole", identity.role),
                ("medcom:UserAuthorizationCode", identity.authorisation_id),
                ("medcom:UserOccupation", identity.organisation),
            ],
        ),
        (
            "SystemLog",
            [
                ("medcom:ITSystemName", identity.system_name),
                ("medcom:CareProviderID", identity.sor_code),
                ("medcom:CareProviderName", identity.organisation),
            ],
        ),
    ):
        statement = _sub(assertion, SAML, "AttributeStatement", id=statement_id)
        for name, value in attributes:
            attribute = _sub(statement, SAML, "Attribute", Name=name)
            _sub(attribute, SAML, "AttributeValue", value)
    medcom = etree.SubElement(header, f"{{{MEDCOM}}}Header", nsmap={"medcom": MEDCOM})
    _sub(medcom, MEDCOM, "SecurityLevel", "4")
    linking = _sub(medcom, MEDCOM, "Linking")
    _sub(linking, MEDCOM, "FlowID", str(uuid.uuid4()))
    _sub(linking, MEDCOM, "MessageID", message_id)
    whitelisting = etree.SubElement(
        header,
        f"{{{WHITELIST}}}WhitelistingHeader",
        nsmap={"wl": WHITELIST, "wlt": WHITELIST_TYPES},
    )
    _sub(whitelisting, WHITELIST_TYPES, "SystemOwnerName", identity.organisation)
    _sub(whitelisting, WHITELIST_TYPES, "SystemName", identity.system_name)
    _sub(whitelisting, WHITELIST_TYPES, "SystemVersion", identity.system_version)
    _sub(whitelisting, WHITELIST_TYPES, "OrgResponsibleName", identity.organisation)
    _sub(whitelisting, WHITELIST_TYPES, "OrgUsingName", identity.organisation)
    _sub(whitelisting, WHITELIST_TYPES, "OrgUsingID", identity.sor_code, NameFormat="sor")
    _sub(whitelisting, WHITELIST_TYPES, "RequestedRole", identity.role)
    if consent:
        consent_header = etree.SubElement(header, f"{{{BASE}}}ConsentHeader", nsmap={"fmk": BASE})
        _sub(consent_header, BASE, "Consent", "true")
    body_element = _sub(env, SOAP_ENV, "Body")
    body_element.append(body)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def modificator(tag: str, identity: Identity):
    """A ModificatorType: the authorised professional and the hospital department."""
    element = etree.Element(tag)
    professional = _sub(element, BASE, "AuthorisedHealthcareProfessional")
    _sub(professional, BASE, "AuthorisationIdentifier", identity.authorisation_id)
    _sub(professional, BASE, "Name", identity.name)
    organisation = _sub(element, BASE, "Organisation")
    _sub(organisation, BASE, "Name", identity.organisation)
    _sub(organisation, BASE, "Type", "Sygehus")
    if identity.sks_code:
        _sub(organisation, BASE, "Identifier", identity.sks_code, source="SKS")
    else:
        _sub(organisation, BASE, "Identifier", identity.sor_code, source="SOR")
    return element


def _person(parent, namespace: str, cpr: str) -> None:
    _sub(parent, namespace, "PersonIdentifier", cpr, source="CPR")


def get_medicine_card(cpr: str, *, include_withdrawn_after: datetime | None = None):
    request = etree.Element(f"{{{E2}}}GetMedicineCardRequest", nsmap={None: E2, "fmk": BASE})
    _person(request, E2, cpr)
    _sub(request, E2, "IncludePrescriptions", "false")
    _sub(request, E2, "IncludeEffectuations", "false")
    _sub(request, E2, "IncludeNonRelevantPrescriptions", "false")
    if include_withdrawn_after:
        withdrawn = _sub(request, E2, "IncludeWithdrawnDrugMedications")
        _sub(withdrawn, BASE, "WithdrawnAfterDateTime", _dt(include_withdrawn_after))
    return request


def get_prescription(cpr: str):
    request = etree.Element(f"{{{BASE}}}GetPrescriptionRequest", nsmap={None: BASE})
    _person(request, BASE, cpr)
    _sub(request, BASE, "IncludeOpenPrescriptions")
    _sub(request, BASE, "IncludeEffectuations", "false")
    return request


def _coded(parent, name: str, code: str, text: str, namespace: str = BASE):
    element = _sub(parent, namespace, name)
    if code:
        _sub(element, BASE, "Code", code, source="Medicinpriser")
    _sub(element, BASE, "Text", text or code)
    return element


def drug_medication_content(parent, data: DrugMedicationData) -> None:
    """BeginEndDate to SubstitutionAllowed, as Create and Update both carry them."""
    begin = _sub(parent, E2, "BeginEndDate")
    _sub(begin, BASE, "TreatmentStartDate", data.start.isoformat())
    if data.end:
        _sub(begin, BASE, "TreatmentEndDate", data.end.isoformat())
    else:
        _sub(begin, BASE, "TreatmentEndingUndetermined")
    indication = _sub(parent, E2, "Indication")
    code = indication_code(data.indication)
    if code:
        _sub(indication, BASE, "Code", code, source="Medicinpriser")
        _sub(indication, BASE, "Text", data.indication.strip())
    else:
        _sub(indication, BASE, "FreeText", data.indication or "ikke angivet")
    route = _sub(parent, E2, "RouteOfAdministration")
    _sub(route, BASE, "Code", data.route_code, source="Medicinpriser")
    if data.route_text:
        _sub(route, BASE, "Text", data.route_text)
    drug = _sub(parent, E2, "Drug")
    if data.atc_code:
        _coded(drug, "ATC", data.atc_code, data.atc_text or data.atc_code)
    if data.drug_id:
        _sub(drug, BASE, "Identifier", data.drug_id, source="Medicinpriser")
    _sub(drug, BASE, "Name", data.drug_name)
    if data.form_code:
        _coded(drug, "Form", data.form_code, data.form_text or data.form_code)
    if data.strength_text:
        strength = _sub(drug, BASE, "Strength")
        _sub(strength, BASE, "Text", data.strength_text, source="Medicinpriser")
    dosage = _sub(parent, E2, "Dosage")
    if data.structure:
        _structures(dosage, data.structure)
        _sub(parent, E2, "SubstitutionAllowed", "true")
        return
    free = _sub(dosage, E2, "FreeText")
    _sub(free, BASE, "StartDate", data.start.isoformat())
    if data.end:
        _sub(free, BASE, "EndDate", data.end.isoformat())
    else:
        _sub(free, BASE, "DosageEndingUndetermined")
    _sub(free, BASE, "Text", data.dosage_text or "efter aftale")
    _sub(parent, E2, "SubstitutionAllowed", "true")


INDICATIONS_FILE = Path(__file__).resolve().parents[1] / "data" / "indications.tsv"


@lru_cache(maxsize=1)
def indications() -> dict[str, str]:
    """FMK's indication codes by their text (medicinkort/data/indications.tsv)."""
    with open(INDICATIONS_FILE, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    return {text.strip().lower(): code.strip() for code, text in rows if code and text}


def indication_code(text: str) -> str:
    """FMK's code of an indication written exactly as its text ("mod smerter": 145), or ""."""
    return indications().get(" ".join(text.split()).lower(), "")


def _structures(dosage, structure: dict) -> None:
    """A structured dosage as FMK's request carries it (DosageStructureForRequest): the unit,
    then a structure a period (its rhythm, start, end, supplementary text), each with the doses
    of its days (a time of day where one is set, and the quantity). As needed: the most a day is
    that many doses on day 1."""
    from medicinkort.dosage import fmk_quantity

    unit: list[str] = list(structure.get("unit") or []) + ["", ""]
    singular, plural = unit[0], unit[1]
    if singular or plural:
        units = _sub(dosage, E2, "UnitTexts")
        _sub(units, E2, "Singular", singular or plural)
        _sub(units, E2, "Plural", plural or singular)
    needed = bool(structure.get("as_needed"))
    part = _sub(dosage, E2, "StructuresAccordingToNeed" if needed else "StructuresFixed")
    for period in structure.get("periods", []):
        element = _sub(part, BASE, "Structure")
        _sub(element, BASE, "IterationInterval", str(period.get("every_days", 1)))
        _sub(element, BASE, "StartDate", period["start"])
        if period.get("end"):
            _sub(element, BASE, "EndDate", period["end"])
        else:
            _sub(element, BASE, "DosageEndingUndetermined")
        if period.get("supplementary"):
            _sub(element, BASE, "SupplementaryText", period["supplementary"][:100])
        doses = period.get("doses") or [["1", ""]]
        if needed:
            doses = [doses[0]] * int(structure.get("most_a_day") or 1)
        for number in period.get("days", [1]):
            day = _sub(element, BASE, "Day")
            _sub(day, BASE, "Number", str(number))
            for quantity, time in doses:
                dose = _sub(day, BASE, "Dose")
                if time and not needed:
                    _sub(dose, BASE, "Time", f"{time}:00")
                _sub(dose, BASE, "Quantity", fmk_quantity(Decimal(str(quantity))))


def create_drug_medication(
    cpr: str, card_version: str, identity: Identity, data: DrugMedicationData
):
    request = etree.Element(f"{{{E2}}}CreateDrugMedicationRequest", nsmap={None: E2, "fmk": BASE})
    _person(request, E2, cpr)
    _sub(request, E2, "MedicineCardVersion", card_version)
    request.append(modificator(f"{{{E2}}}CreatedBy", identity))
    drug_medication_content(_sub(request, E2, "DrugMedication"), data)
    return request


def reason_metadata(reason: str) -> str:
    """The clinician's reason for a change, a pause or a withdrawal, as FMK 2015_06_01 carries
    it: this version has no reason element, only `ModificationMetadata` ("metadata of a
    change", at most 200 characters)."""
    text = " ".join(reason.split())
    return f"Årsag: {text}"[:200] if text else ""


def update_drug_medication(
    cpr: str, card_version: str, identity: Identity, identifier: str, data: DrugMedicationData,
    reason: str = "",
):  # fmt: skip
    request = etree.Element(f"{{{E2}}}UpdateDrugMedicationRequest", nsmap={None: E2, "fmk": BASE})
    _person(request, E2, cpr)
    _sub(request, E2, "MedicineCardVersion", card_version)
    request.append(modificator(f"{{{E2}}}ModifiedBy", identity))
    dm = _sub(request, E2, "DrugMedication")
    _sub(dm, E2, "Identifier", identifier)
    if metadata := reason_metadata(reason):
        _sub(dm, E2, "ModificationMetadata", metadata)
    drug_medication_content(dm, data)
    return request


def _simple_write(
    operation: str, by_tag: str, cpr: str, card_version: str, identity: Identity, identifiers,
    reason: str = "",
):  # fmt: skip
    request = etree.Element(f"{{{BASE}}}{operation}Request", nsmap={None: BASE})
    _person(request, BASE, cpr)
    _sub(request, BASE, "MedicineCardVersion", card_version)
    request.append(modificator(f"{{{BASE}}}{by_tag}", identity))
    for identifier in identifiers:
        dm = _sub(request, BASE, "DrugMedication")
        _sub(dm, BASE, "Identifier", identifier)
        if metadata := reason_metadata(reason):
            _sub(dm, BASE, "ModificationMetadata", metadata)
    return request


def pause_drug_medication(cpr, card_version, identity, identifiers, reason=""):
    return _simple_write(
        "PauseDrugMedication", "PausedBy", cpr, card_version, identity, identifiers, reason
    )


def unpause_drug_medication(cpr, card_version, identity, identifiers):
    return _simple_write(
        "UnpauseDrugMedication", "ModifiedBy", cpr, card_version, identity, identifiers
    )


def withdraw_drug_medication(cpr, card_version, identity, identifiers, reason=""):
    return _simple_write(
        "WithdrawDrugMedication", "WithdrawnBy", cpr, card_version, identity, identifiers, reason
    )


def set_medicine_card_reviewed(cpr: str, card_version: str, identity: Identity, *, at: datetime):
    request = etree.Element(f"{{{BASE}}}SetMedicineCardReviewedRequest", nsmap={None: BASE})
    _person(request, BASE, cpr)
    _sub(request, BASE, "MedicineCardVersion", card_version)
    request.append(modificator(f"{{{BASE}}}ReviewedBy", identity))
    _sub(request, BASE, "ReviewedDateTime", _dt(at))
    return request


def remove_consent(cpr, card_version, identity, identifiers):
    """Mark drug medications private (privatmarkering, the patient's negative consent)."""
    return _simple_write("RemoveConsent", "ModifiedBy", cpr, card_version, identity, identifiers)


def give_consent(cpr, card_version, identity, identifiers):
    """Lift the private marking."""
    return _simple_write("GiveConsent", "ModifiedBy", cpr, card_version, identity, identifiers)
