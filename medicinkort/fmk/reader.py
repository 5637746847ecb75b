"""Reading FMK's answers: take what is known, keep the rest, never fail on the unknown.

Real cards carry more than one version of the schema foresees: modifications by someone who is
not an authorised healthcare professional (`Other`, a pharmacy system, the patient), elements
from later E-versions, private drug medications known only by identifier. Elements are found by
their local name in any namespace, missing ones read as empty, and the raw XML of every drug
medication is kept beside what was read of it.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from lxml import etree

# Elements of a drug medication this reader understands; anything else is noted, not lost.
KNOWN_DM = {
    "Identifier", "Version", "PreviousVersion", "NextVersion", "ParentIdentifier", "Created",
    "ReportedBy", "Modified", "ModifiedNonclinical", "Type", "FollowUpDates", "Paused",
    "Withdrawn", "IsPrivateDrugMedication", "BeginEndDate", "Indication",
    "RouteOfAdministration", "Drug", "Dosage", "SubstitutionAllowed", "Effectuation",
    "InvalidEffectuation", "Prescription", "InvalidPrescription", "ReimbursementClause",
}  # fmt: skip


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def first(element, *path: str):
    """The first descendant along `path` (local names), or None."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if _local(c) == name), None)
    return element


def every(element, name: str) -> list:
    return [c for c in element if _local(c) == name] if element is not None else []


def text(element, *path: str) -> str:
    found = first(element, *path)
    return " ".join((found.text or "").split()) if found is not None else ""


def long_text(element, *path: str) -> str:
    found = first(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _datetime(value: str) -> datetime | None:
    """An aware datetime; a time without an offset is taken as Danish local time."""
    try:
        parsed = parse_datetime(value) if value else None
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, zoneinfo.ZoneInfo("Europe/Copenhagen"))
    return parsed


def _date(value: str) -> date | None:
    try:
        return parse_date(value[:10]) if value else None
    except ValueError:
        return None


@dataclass
class Modification:
    """Who did something on the card, and when; in words a clinician reads."""

    person: str = ""
    organisation: str = ""
    organisation_kind: str = ""  # Sygehus, Yder, Apotek, ... or "" when unknown
    organisation_id: str = ""  # "SKS 1330599", "Yder 76333"
    at: datetime | None = None

    def __str__(self) -> str:
        return ", ".join(filter(None, [self.person, self.organisation]))


def modification(element) -> Modification:
    """Created / Modified / Reviewed / Paused / Withdrawn (By + DateTime), or a bare By."""
    if element is None:
        return Modification()
    by = first(element, "By")
    if by is None:
        by = element
    person = text(by, "AuthorisedHealthcareProfessional", "Name")
    if not person and first(by, "Other") is not None:
        person = text(by, "Other", "Name") or text(by, "Role")
    if not person and first(by, "Patient") is not None:
        person = "patienten"
    organisation = first(by, "Organisation")
    identifier = first(organisation, "Identifier")
    return Modification(
        person=person,
        organisation=text(organisation, "Name"),
        organisation_kind=text(organisation, "Type"),
        organisation_id=(
            f"{identifier.get('source', '')} {(identifier.text or '').strip()}".strip()
            if identifier is not None
            else ""
        ),
        at=_datetime(text(element, "DateTime")),
    )


def _structure(dosage) -> dict | None:
    from medicinkort.dosage import from_fmk

    structure = from_fmk(dosage)
    return structure.to_json() if structure else None


def dosage_text(dosage) -> str:
    """The dosage as FMK's own short translation says it (each structure, fixed and according
    to need), else its long translation, else the free text, else what kind it is."""
    if dosage is None:
        return ""
    shorts = [
        long_text(structure, "DosageTranslation", "ShortText")
        for part in ("StructuresFixed", "StructuresAccordingToNeed")
        for structure in every(first(dosage, part), "Structure")
    ]
    if any(shorts):
        return "\n".join(s for s in shorts if s)
    for part in ("StructuresFixed", "StructuresAccordingToNeed"):
        combined = long_text(dosage, part, "DosageTranslationCombined", "LongText")
        if combined:
            return combined
    free = long_text(dosage, "FreeText", "Text")
    if free:
        return free
    if first(dosage, "AdministrationAccordingToSchemaInLocalSystem") is not None:
        return "Efter skema i lokalt system"
    return text(dosage, "Type")


@dataclass
class CardLine:
    """One drug medication (lægemiddelordination) of the card, as read."""

    identifier: str
    version: str
    drug_name: str = ""
    atc_code: str = ""
    atc_text: str = ""
    drug_id: str = ""
    form_code: str = ""
    form_text: str = ""
    strength_text: str = ""
    substance: str = ""
    route_code: str = ""
    route_text: str = ""
    indication: str = ""
    dosage_text: str = ""
    dosage_kind: str = ""
    dosage: dict | None = None  # the structure (medicinkort.dosage), where FMK gave one
    kind: str = ""  # Lægeordineret, ...
    start: date | None = None
    end: date | None = None
    status: str = "active"  # active, paused, withdrawn
    private: bool = False
    created: Modification = field(default_factory=Modification)
    modified: Modification = field(default_factory=Modification)
    unknown: list[str] = field(default_factory=list)
    raw: str = ""


@dataclass
class Card:
    """A medicine card as read: its version, who changed and reviewed it, its lines."""

    cpr: str
    version: str
    previous_version: str = ""
    modified: Modification = field(default_factory=Modification)
    reviewed: Modification | None = None
    not_reviewed: Modification | None = None
    lines: list[CardLine] = field(default_factory=list)
    private_identifiers: list[str] = field(default_factory=list)
    # FMK: the patient has open dose dispensing prescriptions (a pharmacy packs the medicine).
    dose_dispensed: bool = False


def drug_medication(element) -> CardLine:
    """One drug medication element of any E-version."""
    drug = first(element, "Drug")
    strength = first(drug, "Strength")
    strength_text = text(strength, "Text") or " ".join(
        filter(None, [text(strength, "Value"), text(strength, "UnitText")])
    )
    substances = first(drug, "Substances", "ActiveSubstance")
    substance = (
        text(substances, "SubstanceText")
        or text(substances, "FreeText")
        or text(substances, "Text")
    )
    begin_end = first(element, "BeginEndDate")
    status = "active"
    if first(element, "Paused") is not None:
        status = "paused"
    if first(element, "Withdrawn") is not None:
        status = "withdrawn"
    indication = first(element, "Indication")
    return CardLine(
        identifier=text(element, "Identifier"),
        version=text(element, "Version"),
        drug_name=text(drug, "Name") or text(drug, "DetailedDrugText"),
        atc_code=text(drug, "ATC", "Code"),
        atc_text=text(drug, "ATC", "Text"),
        drug_id=text(drug, "Identifier"),
        form_code=text(drug, "Form", "Code"),
        form_text=text(drug, "Form", "Text") or text(drug, "Form", "Code"),
        strength_text=strength_text,
        substance=substance,
        route_code=text(element, "RouteOfAdministration", "Code"),
        route_text=text(element, "RouteOfAdministration", "Text"),
        indication=text(indication, "Text") or text(indication, "FreeText"),
        dosage_text=dosage_text(first(element, "Dosage")),
        dosage_kind=text(element, "Dosage", "Type"),
        dosage=_structure(first(element, "Dosage")),
        kind=text(element, "Type"),
        start=_date(text(begin_end, "TreatmentStartDate")),
        end=_date(text(begin_end, "TreatmentEndDate")),
        status=status,
        private=first(element, "IsPrivateDrugMedication") is not None,
        created=modification(first(element, "Created")),
        modified=modification(first(element, "Modified")),
        unknown=sorted({_local(c) for c in element if _local(c) and _local(c) not in KNOWN_DM}),
        raw=etree.tostring(element, encoding="unicode"),
    )


def medicine_card(answer) -> Card:
    """A GetMedicineCardResponse (any E-version) as a Card; the first card if several."""
    card = first(answer, "MedicineCard")
    if card is None and _local(answer) == "MedicineCard":
        card = answer
    if card is None:
        raise ValueError("the answer holds no MedicineCard")
    person = first(card, "Patient", "Person")
    reviewed = first(card, "Reviewed")
    not_reviewed = first(card, "NotReviewed")
    return Card(
        cpr=text(person, "PersonIdentifier"),
        version=text(card, "Version"),
        previous_version=text(card, "PreviousVersion"),
        modified=modification(first(card, "Modified")),
        reviewed=modification(reviewed) if reviewed is not None else None,
        not_reviewed=modification(not_reviewed) if not_reviewed is not None else None,
        lines=[drug_medication(dm) for dm in every(card, "DrugMedication")],
        private_identifiers=[text(p, "Identifier") for p in every(card, "PrivateDrugMedication")],
        dose_dispensed=text(card, "HasOpenDosageDispensingPrescriptions") == "true",
    )


def write_answer(answer) -> tuple[str, list[tuple[str, str]]]:
    """A write's answer: the card's new version and (identifier, version) per drug medication."""
    return text(answer, "MedicineCardVersion"), [
        (text(dm, "Identifier"), text(dm, "Version")) for dm in every(answer, "DrugMedication")
    ]
