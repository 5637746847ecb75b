"""Demo cards: what a GP, a hospital department and a pharmacy have put on a patient's card.

Real Danish drugs with their ATC code, form, strength, route and a usual indication and dose.
Drug ids are Medicinpriser's where FMK's recorded answers show them; the others carry none
(FMK allows a drug named without an id). Creators are identified as FMK identifies them: a GP
by Yder number, a hospital department by SKS code, a pharmacy by its pharmacy number.
"""

import random
from datetime import date, timedelta

from lxml import etree

from simulators.fmksim.cards import BASE, E2, CardStore, child, text_of

# name, ATC, ATC text, drug id, form code, form text, strength value, unit, strength text,
# substance, route code, route text, indication code, indication text, unit singular/plural,
# morning, noon, evening, night (quantities; None = not then), according to need.
DRUGS = [
    ("Panodil", "N02BE01", "Paracetamol", "28100636073", "TABFILM", "filmovertrukne tabletter",
     "500", "MG", "500 mg", "PARACETAMOL", "OR", "Oral anvendelse", "96", "mod smerter",
     "tablet", "tabletter", 2, 2, 2, 2, False),
    ("Primcillin", "J01CE02", "Phenoxymethylpenicillin", "28100902476", "TABFILM",
     "filmovertrukne tabletter", "800", "MG", "800 mg", "PHENOXYMETHYLPENICILLINKALIUM", "OR",
     "Oral anvendelse", "72", "mod infektion", "tablet", "tabletter", 1, 1, 1, 1, False),
    ("Brufen", "M01AE01", "Ibuprofen", "28101088281", "TABFILM", "filmovertrukne tabletter",
     "600", "MG", "600 mg", "IBUPROFEN", "OR", "Oral anvendelse", "143", "mod muskelsmerter",
     "tablet", "tabletter", 1, None, 1, None, False),
    ("Metformin \"Sandoz\"", "A10BA02", "Metformin", "", "TABFILM", "filmovertrukne tabletter",
     "500", "MG", "500 mg", "METFORMINHYDROCHLORID", "OR", "Oral anvendelse", "", "mod sukkersyge",
     "tablet", "tabletter", 1, None, 1, None, False),
    ("Hjertemagnyl", "B01AC06", "Acetylsalicylsyre", "", "TABFILM", "filmovertrukne tabletter",
     "75", "MG", "75 mg", "ACETYLSALICYLSYRE", "OR", "Oral anvendelse", "",
     "blodfortyndende", "tablet", "tabletter", 1, None, None, None, False),
    ("Simvastatin \"Actavis\"", "C10AA01", "Simvastatin", "", "TABFILM",
     "filmovertrukne tabletter", "40", "MG", "40 mg", "SIMVASTATIN", "OR", "Oral anvendelse", "",
     "mod forhøjet kolesterol", "tablet", "tabletter", None, None, 1, None, False),
    ("Amlodipin \"Teva\"", "C08CA01", "Amlodipin", "", "TAB", "tabletter", "5", "MG", "5 mg",
     "AMLODIPINBESILAT", "OR", "Oral anvendelse", "", "mod forhøjet blodtryk", "tablet",
     "tabletter", 1, None, None, None, False),
    ("Enalapril \"Krka\"", "C09AA02", "Enalapril", "", "TAB", "tabletter", "10", "MG", "10 mg",
     "ENALAPRILMALEAT", "OR", "Oral anvendelse", "", "mod forhøjet blodtryk", "tablet",
     "tabletter", 1, None, None, None, False),
    ("Furix", "C03CA01", "Furosemid", "", "TAB", "tabletter", "40", "MG", "40 mg", "FUROSEMID",
     "OR", "Oral anvendelse", "", "vanddrivende", "tablet", "tabletter", 1, None, None, None,
     False),
    ("Pantoprazol \"Teva\"", "A02BC02", "Pantoprazol", "", "ENTTAB", "enterotabletter", "40",
     "MG", "40 mg", "PANTOPRAZOLNATRIUMSESQUIHYDRAT", "OR", "Oral anvendelse", "",
     "mod mavesår", "tablet", "tabletter", 1, None, None, None, False),
    ("Marevan", "B01AA03", "Warfarin", "", "TAB", "tabletter", "2,5", "MG", "2,5 mg",
     "WARFARINNATRIUM", "OR", "Oral anvendelse", "", "blodfortyndende", "tablet", "tabletter",
     None, None, 1, None, False),
    ("Eliquis", "B01AF02", "Apixaban", "", "TABFILM", "filmovertrukne tabletter", "5", "MG",
     "5 mg", "APIXABAN", "OR", "Oral anvendelse", "", "blodfortyndende", "tablet", "tabletter",
     1, None, 1, None, False),
    ("Sertralin \"Actavis\"", "N06AB06", "Sertralin", "", "TABFILM", "filmovertrukne tabletter",
     "50", "MG", "50 mg", "SERTRALINHYDROCHLORID", "OR", "Oral anvendelse", "", "mod depression",
     "tablet", "tabletter", 1, None, None, None, False),
    ("Zopiclone \"Actavis\"", "N05CF01", "Zopiclon", "", "TABFILM", "filmovertrukne tabletter",
     "7,5", "MG", "7,5 mg", "ZOPICLON", "OR", "Oral anvendelse", "", "mod søvnløshed", "tablet",
     "tabletter", None, None, None, 1, True),
    ("Levaxin", "H03AA01", "Levothyroxinnatrium", "", "TAB", "tabletter", "100", "MIKROG",
     "100 mikrog", "LEVOTHYROXINNATRIUM", "OR", "Oral anvendelse", "",
     "mod for lavt stofskifte", "tablet", "tabletter", 1, None, None, None, False),
    ("Ventoline", "R03AC02", "Salbutamol", "", "INHSPRAY", "inhalationsspray, suspension",
     "0,1", "MG/DOS", "0,1 mg/dosis", "SALBUTAMOLSULFAT", "IH", "Inhalation", "",
     "mod astma", "pust", "pust", 2, None, None, None, True),
    ("Oxynorm", "N02AA05", "Oxycodon", "", "KAP", "kapsler, hårde", "5", "MG", "5 mg",
     "OXYCODONHYDROCHLORID", "OR", "Oral anvendelse", "", "mod smerter", "kapsel", "kapsler",
     1, None, None, None, True),
    ("Locoid", "D07AB02", "Hydrocortisonbutyrat", "28106808322", "CREME", "creme", "0,1", "%",
     "0,1%", "HYDROCORTISONBUTYRAT", "KU", "Kutan anvendelse", "", "mod eksem", "påsmøring",
     "påsmøringer", 1, None, 1, None, False),
]  # fmt: skip
GP = {
    "authorisation": "0017L",
    "name": "Karen Lund",
    "organisation": "Lægerne Vesterbrogade",
    "address": ["Vesterbrogade 41", "1620 København V"],
    "phone": "33214455",
    "type": "Yder",
    "identifier": ("Yder", "012345"),
}
HOSPITAL = {
    "authorisation": "0C1D2",
    "name": "Jens Møller",
    "organisation": "Rigshospitalet, Kardiologisk afdeling",
    "address": ["Blegdamsvej 9", "2100 København Ø"],
    "phone": "35450000",
    "type": "Sygehus",
    "identifier": ("SKS", "1301011"),
}
PHARMACY = {
    "authorisation": "PH771",
    "name": "Mette Skov",
    "organisation": "Nørrebro Apotek",
    "address": ["Nørrebrogade 2", "2200 København N"],
    "phone": "35371100",
    "type": "Apotek",
    "identifier": ("Apotek", "063"),
}


def modificator(tag: str, who: dict):
    """A ModificatorType element: the professional and the organisation."""
    element = etree.Element(tag)
    professional = etree.SubElement(element, f"{{{BASE}}}AuthorisedHealthcareProfessional")
    etree.SubElement(professional, f"{{{BASE}}}AuthorisationIdentifier").text = who["authorisation"]
    etree.SubElement(professional, f"{{{BASE}}}Name").text = who["name"]
    organisation = etree.SubElement(element, f"{{{BASE}}}Organisation")
    etree.SubElement(organisation, f"{{{BASE}}}Name").text = who["organisation"]
    for line in who["address"]:
        etree.SubElement(organisation, f"{{{BASE}}}AddressLine").text = line
    etree.SubElement(organisation, f"{{{BASE}}}TelephoneNumber").text = who["phone"]
    etree.SubElement(organisation, f"{{{BASE}}}Type").text = who["type"]
    source, value = who["identifier"]
    etree.SubElement(organisation, f"{{{BASE}}}Identifier", source=source).text = value
    return element


def _coded(parent, tag: str, code: str, text: str):
    element = etree.SubElement(parent, tag)
    if code:
        etree.SubElement(element, f"{{{BASE}}}Code", source="Medicinpriser").text = code
    etree.SubElement(element, f"{{{BASE}}}Text").text = text
    return element


TIMES = ("morning", "noon", "evening", "night")
TIME_WORDS = {"morning": "morgen", "noon": "middag", "evening": "aften", "night": "nat"}


def drug_medication_request(drug: tuple, started: date):
    """A drug medication as CreateDrugMedication asks for it (E2)."""
    (name, atc, atc_text, drug_id, form, form_text, _value, _unit, strength_text, substance,
     route, route_text, indication_code, indication, singular, plural, *quantities,
     needed) = drug  # fmt: skip
    dm = etree.Element(f"{{{E2}}}DrugMedication")
    begin = etree.SubElement(dm, f"{{{E2}}}BeginEndDate")
    etree.SubElement(begin, f"{{{BASE}}}TreatmentStartDate").text = started.isoformat()
    etree.SubElement(begin, f"{{{BASE}}}TreatmentEndingUndetermined")
    if indication_code:
        _coded(dm, f"{{{E2}}}Indication", indication_code, indication)
    else:
        etree.SubElement(
            etree.SubElement(dm, f"{{{E2}}}Indication"), f"{{{BASE}}}FreeText"
        ).text = indication
    _coded(dm, f"{{{E2}}}RouteOfAdministration", route, route_text)
    drug_element = etree.SubElement(dm, f"{{{E2}}}Drug")
    _coded(drug_element, f"{{{BASE}}}ATC", atc, atc_text)
    if drug_id:
        etree.SubElement(
            drug_element, f"{{{BASE}}}Identifier", source="Medicinpriser"
        ).text = drug_id
    etree.SubElement(drug_element, f"{{{BASE}}}Name").text = name
    _coded(drug_element, f"{{{BASE}}}Form", form, form_text)
    strength = etree.SubElement(drug_element, f"{{{BASE}}}Strength")
    etree.SubElement(strength, f"{{{BASE}}}Text", source="Medicinpriser").text = strength_text
    substances = etree.SubElement(drug_element, f"{{{BASE}}}Substances")
    active = etree.SubElement(substances, f"{{{BASE}}}ActiveSubstance")
    etree.SubElement(active, f"{{{BASE}}}FreeText").text = substance
    dosage = etree.SubElement(dm, f"{{{E2}}}Dosage")
    free = etree.SubElement(dosage, f"{{{E2}}}FreeText")
    etree.SubElement(free, f"{{{BASE}}}StartDate").text = started.isoformat()
    etree.SubElement(free, f"{{{BASE}}}DosageEndingUndetermined")
    parts = [
        f"{q} {singular if q == 1 else plural} {TIME_WORDS[t]}"
        for q, t in zip(quantities, TIMES, strict=True)
        if q
    ]
    text = ", ".join(parts) + (" efter behov" if needed else "")
    etree.SubElement(free, f"{{{BASE}}}Text").text = text
    etree.SubElement(dm, f"{{{E2}}}SubstitutionAllowed").text = "true"
    return dm


# A child's card (under 18): children's forms and doses (a mixture dosed in ml for a child of
# about 25 kg, inhalers), never an adult's tablets. The same columns as DRUGS.
CHILD_DRUGS = [
    ("Pinex", "N02BE01", "Paracetamol", "", "MIKST", "oral suspension", "24", "MG/ML",
     "24 mg/ml", "PARACETAMOL", "OR", "Oral anvendelse", "96", "mod smerter og feber", "ml", "ml",
     10, 10, 10, 10, True),
    ("Ventoline", "R03AC02", "Salbutamol", "", "INHSPRAY", "inhalationsspray", "0,1", "MG",
     "0,1 mg/dosis", "SALBUTAMOLSULFAT", "IH", "Inhalation", "", "mod astma", "pust", "pust",
     2, None, 2, None, True),
    ("Flixotide", "R03BA05", "Fluticason", "", "INHSPRAY", "inhalationsspray", "50", "MIKROG",
     "50 mikrog/dosis", "FLUTICASONPROPIONAT", "IH", "Inhalation", "", "forebyggende mod astma",
     "pust", "pust", 1, None, 1, None, False),
    ("Movicol Junior", "A06AD65", "Macrogol, kombinationer", "", "PULVORSUSP",
     "pulver til oral opløsning", "6,9", "G", "6,9 g", "MACROGOL 3350", "OR", "Oral anvendelse",
     "", "mod forstoppelse", "brev", "breve", 1, None, None, None, False),
]  # fmt: skip
# Drugs a prescriber would not put on one card together (two anticoagulants; an anticoagulant
# with an NSAID), by ATC prefix: a demo card never holds both.
NOT_TOGETHER = [("B01AA", "B01AF"), ("B01AA", "M01A"), ("B01AF", "M01A"), ("B01AC", "M01A")]


def age_from_cpr(cpr: str, today: date) -> int | None:
    """The age a CPR number says (the seventh digit gives the century), or None when it says
    none (not ten digits, or a replacement number with no valid date)."""
    if len(cpr) != 10 or not cpr.isdigit():
        return None
    day, month, year, seventh = int(cpr[:2]), int(cpr[2:4]), int(cpr[4:6]), int(cpr[6])
    if seventh in (0, 1, 2, 3) or (seventh in (4, 9) and year > 36):
        century = 1900
    elif seventh in (4, 9) or (seventh in (5, 6, 7, 8) and year <= 57):
        century = 2000
    else:
        century = 1800
    try:
        born = date(century + year, month, day)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _plausible(drugs: list) -> list:
    """The drugs in order, leaving out any that must not be on a card with one before it."""
    kept: list = []
    for drug in drugs:
        clash = any(
            (drug[1].startswith(a) and other[1].startswith(b))
            or (drug[1].startswith(b) and other[1].startswith(a))
            for other in kept
            for a, b in NOT_TOGETHER
        )  # fmt: skip
        if not clash:
            kept.append(drug)
    return kept


def seed_card(store: CardStore, cpr: str) -> None:
    """Two to six drug medications on the card (none to two children's drugs for a child),
    chosen by the CPR number (the same each run), never two that must not go together."""
    chooser = random.Random(cpr)
    today = date.today()
    age = age_from_cpr(cpr, today)
    child = age is not None and age < 18
    card = store.card(cpr)
    if card.drug_medications():
        return
    if child:
        chosen = chooser.sample(CHILD_DRUGS, chooser.randint(0, 2))
    else:
        chosen = _plausible(chooser.sample(DRUGS, chooser.randint(2, 6)))
    # Many of the old on many drugs have them dose-dispensed by a pharmacy.
    if age is not None and age >= 75 and len(chosen) >= 4 and chooser.random() < 0.5:
        store.dose_dispensing(card, True)
    for drug in chosen:
        who = chooser.choice([GP, GP, HOSPITAL, PHARMACY])
        started = today - timedelta(days=chooser.randint(20, 300 if child else 2000))
        by = modificator(f"{{{E2}}}CreatedBy", who)
        store.create(card, by, [drug_medication_request(drug, started)])
        store.bump(card, by)


def gp_change(store: CardStore, cpr: str, *, chooser: random.Random | None = None) -> str:
    """The GP changes the card behind the hospital's back: a new drug medication (one not on
    the card yet, while there is one). Returns the new card version."""
    chooser = chooser or random.Random()
    with store.lock:
        card = store.card(cpr)
        by = modificator(f"{{{E2}}}ModifiedBy", GP)
        names = {(child(child(dm, "Drug"), "Name").text or "") for dm in card.drug_medications()}
        age = age_from_cpr(cpr, date.today())
        offered: list = CHILD_DRUGS if age is not None and age < 18 else DRUGS
        atcs = [text_of(child(child(dm, "Drug"), "ATC"), "Code") for dm in card.drug_medications()]
        kept = [("", atc) for atc in atcs]
        # Never one that must not go with what the card holds (and not one it holds already).
        fresh = [
            d for d in offered if d[0] not in names and len(_plausible([*kept, d])) > len(kept)
        ]
        fresh = fresh or [d for d in offered if d[0] not in names] or offered
        created_by = modificator(f"{{{E2}}}CreatedBy", GP)
        store.create(
            card, created_by, [drug_medication_request(chooser.choice(fresh), date.today())]
        )
        store.bump(card, by)
        return str(card.version)
