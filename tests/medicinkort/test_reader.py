"""The reader takes what it knows of an FMK card and never fails on what it does not."""

import pytest
from lxml import etree

from medicinkort.fmk import reader

RECORDED = {
    # CPR: (card version, drug medications (name, ATC), private drug medications)
    "1004219992": ("0", [], []),
    "1111111118": ("1775566805133001001", [("Ipren", "M01AE01")], ["66044262"]),
    "0410009234": (
        "1764944101486001001",
        [("Brufen", "M01AE01"), ("Brufen", "M01AE01"), ("Arax", "N02BE01"),
         ("Pinex", "N02BE01"), ("Viagra", "G04BE03")],
        [],
    ),
    "1011649927": (
        "1744024412144001001",
        [("Panodil", "N02BE01"), ("Locoid", "D07AB02"), ("Opatanol", "S01GX09"),
         ("Primcillin", "J01CE02"), ("Briviact", "N03AX23")],
        [],
    ),
}  # fmt: skip


@pytest.mark.parametrize("cpr", sorted(RECORDED))
def test_the_four_cards_recorded_from_fmks_test_environment_read_correctly(reference_data, cpr):
    path = reference_data / "fmk" / "responses" / f"medicine-card-{cpr}.xml"
    card = reader.medicine_card(etree.parse(str(path)).getroot())
    version, drugs, private = RECORDED[cpr]
    assert card.cpr == cpr
    assert card.version == version
    assert [(line.drug_name, line.atc_code) for line in card.lines] == drugs
    assert card.private_identifiers == private
    for line in card.lines:
        assert line.identifier and line.version and line.dosage_text and line.route_text
        assert line.created.organisation_kind in ("Yder", "Sygehus")
        assert line.raw.startswith("<")


def test_the_copies_fmksim_serves_are_the_recorded_ones(reference_data):
    from simulators.fmksim.cards import RECORDED as served

    for cpr in RECORDED:
        name = f"medicine-card-{cpr}.xml"
        assert (served / name).read_bytes() == (
            reference_data / "fmk" / "responses" / name
        ).read_bytes()


CARD = """<?xml version="1.0" encoding="UTF-8"?>
<e2:GetMedicineCardResponse xmlns="http://www.dkma.dk/medicinecard/xml.schema/2015/06/01"
    xmlns:e2="http://www.dkma.dk/medicinecard/xml.schema/2015/06/01/E2"
    xmlns:e9="http://www.dkma.dk/medicinecard/xml.schema/2015/06/01/E9">
  <e2:MedicineCard>
    <e2:Patient><Person><Name><Surname>Test</Surname></Name>
      <PersonIdentifier source="CPR">0707614048</PersonIdentifier></Person></e2:Patient>
    <e2:Version>42</e2:Version>
    <e2:PreviousVersion>41</e2:PreviousVersion>
    <e2:Modified><By><Other><Name>Apotekssystemet</Name></Other><Role>Apoteker</Role>
      <Organisation><Name>Nørrebro Apotek</Name><Type>Apotek</Type>
      <Identifier source="Apotek">063</Identifier></Organisation></By>
      <DateTime>2026-11-30T09:15:00Z</DateTime></e2:Modified>
    <e9:SomethingNew>from a later E-version</e9:SomethingNew>
    <e2:PrivateDrugMedication><Identifier>7001</Identifier><Version>1</Version></e2:PrivateDrugMedication>
    <e2:DrugMedication>
      <e2:Identifier>7002</e2:Identifier><e2:Version>3</e2:Version>
      <e2:Created><By><Patient/></By><DateTime>2026-01-01T00:00:00Z</DateTime></e2:Created>
      <e2:Type>Egen</e2:Type>
      <e9:Monitoring>INR hver uge</e9:Monitoring>
      <e2:BeginEndDate><TreatmentStartDate>not a date</TreatmentStartDate></e2:BeginEndDate>
      <e2:Drug><DetailedDrugText>Magistrelt: Morfin mikstur 5 mg/ml</DetailedDrugText></e2:Drug>
    </e2:DrugMedication>
    <e2:DrugMedication>
      <e2:Identifier>7003</e2:Identifier><e2:Version>9</e2:Version>
      <e2:Created><By><Other><Name>Dosisdispenseringssystem</Name></Other><Role>System</Role></By>
        <DateTime>2026-02-01T08:00:00+01:00</DateTime></e2:Created>
      <e2:Paused><By><Patient/></By><DateTime>2026-03-01T08:00:00Z</DateTime></e2:Paused>
      <e2:Drug><ATC><Code>C03CA01</Code><Text>Furosemid</Text></ATC><Name>Furix</Name>
        <Strength><Value>40</Value><UnitText>mg</UnitText></Strength></e2:Drug>
      <e2:Dosage><e2:AdministrationAccordingToSchemaInLocalSystem/></e2:Dosage>
    </e2:DrugMedication>
  </e2:MedicineCard>
</e2:GetMedicineCardResponse>"""


def test_a_card_beyond_the_schema_is_read_as_far_as_it_is_known():
    card = reader.medicine_card(etree.fromstring(CARD.encode()))
    assert (card.cpr, card.version, card.previous_version) == ("0707614048", "42", "41")
    # Modified by someone who is not an authorised healthcare professional (ModificatorType/Other)
    assert card.modified.person == "Apotekssystemet"
    assert card.modified.organisation_kind == "Apotek"
    assert card.private_identifiers == ["7001"]
    magistral, furix = card.lines
    assert magistral.drug_name == "Magistrelt: Morfin mikstur 5 mg/ml"
    assert magistral.created.person == "patienten"
    assert magistral.start is None  # a date that is no date is left empty, not a crash
    assert magistral.unknown == ["Monitoring"]
    assert "INR hver uge" in magistral.raw  # kept, though not understood
    assert (furix.atc_code, furix.strength_text, furix.status) == ("C03CA01", "40 mg", "paused")
    assert furix.dosage_text == "Efter skema i lokalt system"
    assert furix.created.person == "Dosisdispenseringssystem"
    assert furix.created.at is not None


def test_an_answer_without_a_card_is_a_clear_error():
    with pytest.raises(ValueError, match="no MedicineCard"):
        reader.medicine_card(etree.fromstring(b"<Something/>"))
