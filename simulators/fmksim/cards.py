"""fmksim's cards: each patient's medicine card kept as the XML FMK answers with.

A card is an E2 `MedicineCard` element. Writes change it as FMK would: a new card version (and
the old one as `PreviousVersion`), a new drug medication version, who changed it and when. The
four recorded cards are served as they were recorded until something writes to them.
"""

import copy
import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from lxml import etree

BASE = "http://www.dkma.dk/medicinecard/xml.schema/2015/06/01"
E2 = BASE + "/E2"
E6 = BASE + "/E6"
NSMAP = {None: BASE, "e2": E2, "e6": E6}
RECORDED = Path(__file__).resolve().parent / "recorded"

# The order of a card's and a drug medication's children in the E2 schema.
CARD_ORDER = [
    "Patient", "Version", "PreviousVersion", "NextVersion", "ReportedBy", "Modified", "Reviewed",
    "NotReviewed", "IsInvalid", "PatientOrganisationRelation", "PrivateDrugMedication",
    "DrugMedication", "InvalidDrugMedication", "Prescription", "InvalidPrescription",
    "LatestDosageDispensingEffectuation", "HasOpenDosageDispensingPrescriptions",
    "OrderedPrescriptionsExist",
]  # fmt: skip
DM_ORDER = [
    "Identifier", "Version", "PreviousVersion", "NextVersion", "ParentIdentifier", "Created",
    "ReportedBy", "Modified", "ModifiedNonclinical", "Type", "FollowUpDates", "Paused",
    "Withdrawn", "IsPrivateDrugMedication", "BeginEndDate", "Indication",
    "RouteOfAdministration", "Drug", "Dosage", "SubstitutionAllowed", "Effectuation",
    "InvalidEffectuation", "Prescription", "InvalidPrescription", "ReimbursementClause",
]  # fmt: skip
# What every create and update carries, and so replaces.
REQUIRED_CONTENT = {
    "BeginEndDate", "Indication", "RouteOfAdministration", "Drug", "Dosage", "SubstitutionAllowed"
}  # fmt: skip
# What an update may replace on a drug medication (the rest is FMK's own bookkeeping).
UPDATABLE = [
    "ParentIdentifier", "FollowUpDates", "Type", "IsPrivateDrugMedication", "BeginEndDate",
    "Indication", "RouteOfAdministration", "Drug", "Dosage", "SubstitutionAllowed",
    "ReimbursementClause",
]  # fmt: skip


class FmkError(Exception):
    """A request FMK refuses: a SOAP fault with FMK's code and a Danish text."""

    def __init__(self, code: str, text: str, *, client: bool = True, dgws: str = ""):
        super().__init__(text)
        self.code, self.text, self.client = code, text, client
        self.dgws = dgws or ("syntax_error" if client else "processing_problem")


def local(element) -> str:
    return etree.QName(element).localname


def child(element, name: str):
    for c in element:
        if isinstance(c.tag, str) and local(c) == name:
            return c
    return None


def children(element, name: str) -> list:
    return [c for c in element if isinstance(c.tag, str) and local(c) == name]


def text_of(element, name: str) -> str:
    found = child(element, name)
    return (found.text or "").strip() if found is not None else ""


def place(parent, new, order: list[str]) -> None:
    """Insert `new` among `parent`'s children where the schema's sequence wants it."""
    rank = order.index(local(new))
    for index, existing in enumerate(parent):
        name = local(existing) if isinstance(existing.tag, str) else ""
        if name in order and order.index(name) > rank:
            parent.insert(index, new)
            return
    parent.append(new)


def remove_all(parent, name: str) -> None:
    for found in children(parent, name):
        parent.remove(found)


def birth_date(cpr: str) -> str:
    """The birth date a CPR number carries (the CPR office's century rule), ISO; 1900-01-01 for
    a number that carries none (a replacement number)."""
    try:
        day, month, year, digit = int(cpr[0:2]), int(cpr[2:4]), int(cpr[4:6]), int(cpr[6])
    except (ValueError, IndexError):
        return "1900-01-01"
    if digit <= 3:
        century = 1900
    elif digit in (4, 9):
        century = 2000 if year <= 36 else 1900
    else:
        century = 2000 if year <= 57 else 1800
    try:
        return date(century + year, month, day).isoformat()
    except ValueError:
        return "1900-01-01"


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Card:
    cpr: str
    element: etree._Element  # E2:MedicineCard

    @property
    def version(self) -> int:
        return int(text_of(self.element, "Version") or 0)

    def drug_medications(self) -> list:
        return children(self.element, "DrugMedication")

    def drug_medication(self, identifier: str):
        for dm in self.drug_medications():
            if text_of(dm, "Identifier") == identifier:
                return dm
        raise FmkError(
            "DrugMedicationNotFound",
            f"Lægemiddelordination {identifier} findes ikke på medicinkortet.",
        )


class CardStore:
    """Every card, the answers already given by message id, and a version clock; one lock."""

    def __init__(self):
        self.lock = threading.RLock()
        self.cards: dict[str, Card] = {}
        self.replies: dict[str, bytes] = {}
        self.log: list[dict] = []
        # (CPR, drug medication id): the ModificationMetadata of its changes, oldest first.
        self.metadata: dict[tuple[str, str], list[str]] = {}
        self._clock = 0
        self._next_identifier = 90_000_000

    # --- identifiers and versions, in FMK's shape (milliseconds, then a counter) ----------
    def new_version(self) -> str:
        self._clock = max(self._clock + 1, int(time.time() * 1000) * 1_000_000 + 1001)
        return str(self._clock)

    def new_identifier(self) -> str:
        self._next_identifier += 1
        return str(self._next_identifier)

    # --- cards ----------------------------------------------------------------------------
    def load_recorded(self, folder: Path = RECORDED) -> list[str]:
        """The recorded cards, as recorded."""
        loaded = []
        for path in sorted(folder.glob("medicine-card-*.xml")):
            root = etree.parse(str(path)).getroot()
            card = child(root, "MedicineCard")
            cpr = path.stem.rsplit("-", 1)[1]
            self.cards[cpr] = Card(cpr, card)
            loaded.append(cpr)
        return loaded

    def card(self, cpr: str) -> Card:
        """The patient's card; a person FMK has never seen has an empty card of version 0."""
        if cpr not in self.cards:
            element = etree.Element(f"{{{E2}}}MedicineCard", nsmap=NSMAP)
            patient = etree.SubElement(element, f"{{{E2}}}Patient")
            person = etree.SubElement(patient, f"{{{BASE}}}Person")
            name = etree.SubElement(person, f"{{{BASE}}}Name")
            # FMK takes the name from the CPR register; fmksim has none to take it from.
            etree.SubElement(name, f"{{{BASE}}}GivenName").text = "Ukendt"
            etree.SubElement(name, f"{{{BASE}}}Surname").text = "Patient"
            identifier = etree.SubElement(person, f"{{{BASE}}}PersonIdentifier", source="CPR")
            identifier.text = cpr
            etree.SubElement(person, f"{{{BASE}}}BirthDate").text = birth_date(cpr)
            gender = "female" if cpr[-1:].isdigit() and int(cpr[-1]) % 2 == 0 else "male"
            etree.SubElement(person, f"{{{BASE}}}Gender").text = gender
            etree.SubElement(element, f"{{{E2}}}Version").text = "0"
            etree.SubElement(
                element, f"{{{E2}}}HasOpenDosageDispensingPrescriptions"
            ).text = "false"
            etree.SubElement(element, f"{{{E2}}}OrderedPrescriptionsExist").text = "false"
            self.cards[cpr] = Card(cpr, element)
        return self.cards[cpr]

    def dose_dispensing(self, card: Card, on: bool) -> None:
        """A pharmacy dose-dispenses the patient's medicine (FMK's card says the patient has
        open dose dispensing prescriptions), or no longer does."""
        flag = child(card.element, "HasOpenDosageDispensingPrescriptions")
        if flag is not None:
            flag.text = "true" if on else "false"

    def check_version(self, card: Card, version: str) -> None:
        """A write based on another version than the card's is refused (FMK's optimistic lock)."""
        if str(card.version) != version.strip():
            raise FmkError(
                "MedicineCardVersionMismatch",
                f"Medicinkortet er ændret: version {version} er ikke den aktuelle "
                f"({card.version}). Hent kortet igen.",
            )

    def bump(self, card: Card, by) -> str:
        """A new card version, made by `by` (a ModificatorType element) now."""
        old = child(card.element, "Version")
        remove_all(card.element, "PreviousVersion")
        previous = etree.Element(f"{{{E2}}}PreviousVersion")
        previous.text = old.text
        place(card.element, previous, CARD_ORDER)
        old.text = self.new_version()
        remove_all(card.element, "Modified")
        place(card.element, modified_element(f"{{{E2}}}Modified", by), CARD_ORDER)
        return old.text

    def bump_drug_medication(self, dm, by) -> str:
        version = child(dm, "Version")
        remove_all(dm, "PreviousVersion")
        previous = etree.Element(f"{{{E2}}}PreviousVersion")
        previous.text = version.text
        place(dm, previous, DM_ORDER)
        version.text = self.new_version()
        remove_all(dm, "Modified")
        place(dm, modified_element(f"{{{E2}}}Modified", by), DM_ORDER)
        return version.text

    # --- the writes -----------------------------------------------------------------------
    def create(self, card: Card, by, requested: list) -> list[tuple[str, str]]:
        created = []
        for wanted in requested:
            dm = etree.Element(f"{{{E2}}}DrugMedication")
            identifier = self.new_identifier()
            etree.SubElement(dm, f"{{{E2}}}Identifier").text = identifier
            etree.SubElement(dm, f"{{{E2}}}Version").text = self.new_version()
            created_by = child(wanted, "CreatedBy")
            who = created_by if created_by is not None else by
            dm.append(modified_element(f"{{{E2}}}Created", who))
            dm.append(modified_element(f"{{{E2}}}Modified", who))
            for name in UPDATABLE:
                found = child(wanted, name)
                if found is not None:
                    place(dm, _as_response(found, name), DM_ORDER)
            if child(dm, "Type") is None:
                kind = etree.Element(f"{{{E2}}}Type")
                kind.text = "Lægeordineret"
                place(dm, kind, DM_ORDER)
            place(card.element, dm, CARD_ORDER)
            created.append((identifier, text_of(dm, "Version")))
        return created

    def update(self, card: Card, by, requested: list) -> list[tuple[str, str]]:
        updated = []
        for wanted in requested:
            dm = card.drug_medication(text_of(wanted, "Identifier"))
            if child(dm, "Withdrawn") is not None and child(wanted, "Unwithdraw") is None:
                raise FmkError(
                    "DrugMedicationWithdrawn",
                    f"Lægemiddelordination {text_of(dm, 'Identifier')} er seponeret.",
                )
            remove_all(dm, "Withdrawn")
            for name in UPDATABLE:
                found = child(wanted, name)
                if found is not None or name in REQUIRED_CONTENT:
                    remove_all(dm, name)
                if found is not None:
                    place(dm, _as_response(found, name), DM_ORDER)
            who = child(wanted, "ModifiedBy")
            updated.append((text_of(dm, "Identifier"), self.bump_drug_medication(dm, who or by)))
        return updated

    def pause(self, card: Card, by, requested: list, *, pause: bool) -> list[tuple[str, str]]:
        done = []
        for wanted in requested:
            dm = card.drug_medication(text_of(wanted, "Identifier"))
            remove_all(dm, "Paused")
            who = child(wanted, "PausedBy") if pause else child(wanted, "ModifiedBy")
            if pause:
                paused = etree.Element(f"{{{E2}}}Paused")
                for name in ("FromDate", "FromDateTime", "ToDate", "ToDateTime"):
                    found = child(wanted, name)
                    if found is not None:
                        paused.append(_rename(found, f"{{{BASE}}}{name}"))
                paused.append(_rename(who if who is not None else by, f"{{{BASE}}}By"))
                etree.SubElement(paused, f"{{{BASE}}}DateTime").text = now_text()
                place(dm, paused, DM_ORDER)
            done.append((text_of(dm, "Identifier"), self.bump_drug_medication(dm, who or by)))
        return done

    def withdraw(self, card: Card, by, requested: list) -> list[tuple[str, str]]:
        done = []
        for wanted in requested:
            dm = card.drug_medication(text_of(wanted, "Identifier"))
            if child(dm, "Withdrawn") is not None:
                raise FmkError(
                    "DrugMedicationWithdrawn",
                    f"Lægemiddelordination {text_of(dm, 'Identifier')} er allerede seponeret.",
                )
            who = child(wanted, "WithdrawnBy")
            withdrawn = etree.Element(f"{{{E2}}}Withdrawn")
            withdrawn.append(_rename(who if who is not None else by, f"{{{BASE}}}By"))
            etree.SubElement(withdrawn, f"{{{BASE}}}DateTime").text = now_text()
            place(dm, withdrawn, DM_ORDER)
            done.append((text_of(dm, "Identifier"), self.bump_drug_medication(dm, who or by)))
        return done

    def review(self, card: Card, by, when: str, *, reviewed: bool) -> None:
        remove_all(card.element, "Reviewed")
        remove_all(card.element, "NotReviewed")
        element = etree.Element(f"{{{E2}}}{'Reviewed' if reviewed else 'NotReviewed'}")
        element.append(_rename(by, f"{{{BASE}}}By"))
        etree.SubElement(element, f"{{{BASE}}}DateTime").text = when
        place(card.element, element, CARD_ORDER)

    def set_private(self, card: Card, by, requested: list, *, private: bool) -> list:
        done = []
        for wanted in requested:
            dm = card.drug_medication(text_of(wanted, "Identifier"))
            remove_all(dm, "IsPrivateDrugMedication")
            if private:
                place(dm, etree.Element(f"{{{E2}}}IsPrivateDrugMedication"), DM_ORDER)
            done.append((text_of(dm, "Identifier"), self.bump_drug_medication(dm, by)))
        return done

    def answer_card(self, card: Card, *, with_private: bool, with_withdrawn: bool):
        """The card as GetMedicineCard answers: private drug medications only by identifier
        unless the patient's consent is in the header; withdrawn ones only when asked for."""
        shown = copy.deepcopy(card.element)
        remove_all(shown, "PrivateDrugMedication")
        for dm in children(shown, "DrugMedication"):
            if child(dm, "Withdrawn") is not None and not with_withdrawn:
                shown.remove(dm)
            elif child(dm, "IsPrivateDrugMedication") is not None and not with_private:
                marker = etree.Element(f"{{{E2}}}PrivateDrugMedication")
                etree.SubElement(marker, f"{{{BASE}}}Identifier").text = text_of(dm, "Identifier")
                etree.SubElement(marker, f"{{{BASE}}}Version").text = text_of(dm, "Version")
                shown.remove(dm)
                place(shown, marker, CARD_ORDER)
        for marker in children(card.element, "PrivateDrugMedication"):
            place(shown, copy.deepcopy(marker), CARD_ORDER)
        return shown


def _rename(element, tag: str):
    """A copy of `element` under another name (a ModificatorType keeps its content)."""
    renamed = copy.deepcopy(element)
    renamed.tag = tag
    return renamed


def modified_element(tag: str, by):
    """`<Created>` / `<Modified>`: By (the modificator) and DateTime."""
    element = etree.Element(tag)
    element.append(_rename(by, f"{{{BASE}}}By"))
    etree.SubElement(element, f"{{{BASE}}}DateTime").text = now_text()
    return element


def _translation(structure, singular: str, plural: str, needed: bool) -> str:
    """FMK's short text of one structure (its "dosis til tekst"), as fmksim says it: "2
    tabletter 3 gange daglig", "1 tablet kl. 08:00, 1 tablet kl. 20:00 hver 2. dag", "1 tablet
    efter behov, højst 4 gange daglig"."""
    days = children(structure, "Day")
    doses = children(days[0], "Dose") if days else []
    amounts = [text_of(dose, "Quantity") or text_of(dose, "MaximalQuantity") for dose in doses]

    def amount(value: str) -> str:
        return f"{value.replace('.', ',')} {singular if value in ('1', '1.0') else plural}"

    first = amounts[0] if amounts else "1"
    if needed:
        return f"{amount(first)} efter behov, højst {len(doses)} gange daglig"
    times = [text_of(dose, "Time")[:5] for dose in doses]
    if all(times) and times:
        what = ", ".join(f"{amount(a)} kl. {t}" for a, t in zip(amounts, times, strict=True))
    else:
        what = f"{amount(first)} {len(doses)} {'gang' if len(doses) == 1 else 'gange'}"
    interval = text_of(structure, "IterationInterval") or "1"
    rhythm = "daglig" if interval == "1" else f"hver {interval}. dag"
    extra = text_of(structure, "SupplementaryText")
    return f"{what} {rhythm}" + (f". {extra}" if extra else "")


def _translated(dosage) -> None:
    """A structured dosage as FMK answers it: each structure with its translation, and the
    structures' combined one."""
    units = child(dosage, "UnitTexts")
    singular = text_of(units, "Singular") if units is not None else text_of(dosage, "UnitText")
    plural = text_of(units, "Plural") if units is not None else singular
    for part_name in ("StructuresFixed", "StructuresAccordingToNeed"):
        part = child(dosage, part_name)
        if part is None:
            continue
        texts = []
        for structure in children(part, "Structure"):
            text = _translation(structure, singular, plural, part_name != "StructuresFixed")
            translation = etree.SubElement(structure, f"{{{BASE}}}DosageTranslation")
            _texts(translation, text, text)
            texts.append(text)
        combined = etree.SubElement(part, f"{{{BASE}}}DosageTranslationCombined")
        _texts(combined, "; ".join(texts), "\n".join(texts))


def _texts(translation, short: str, long: str) -> None:
    """FMK's ShortText is at most 70 characters and may be left out; the LongText is always."""
    if len(short) <= 70:
        etree.SubElement(translation, f"{{{BASE}}}ShortText").text = short
    etree.SubElement(translation, f"{{{BASE}}}LongText").text = long


def _as_response(element, name: str):
    """A request's part as the card shows it: the same, except where the types differ."""
    shown = _rename(element, f"{{{E2}}}{name}")
    if name == "Dosage":
        _translated(shown)
    if name == "BeginEndDate" and child(shown, "CreatedDateTime") is None:
        created = etree.Element(f"{{{BASE}}}CreatedDateTime")
        created.text = now_text()
        shown.insert(0, created)
    if name == "Dosage" and child(shown, "Type") is None:
        fixed = child(shown, "StructuresFixed") is not None
        needed = child(shown, "StructuresAccordingToNeed") is not None
        kind = etree.SubElement(shown, f"{{{E2}}}Type")
        kind.text = {
            (True, True): "kombineret", (True, False): "fast", (False, True): "efter behov"
        }.get((fixed, needed), "ikke angivet")  # fmt: skip
    return shown
