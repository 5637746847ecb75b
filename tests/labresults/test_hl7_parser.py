"""The HL7 v2 parser takes what real laboratories send, and refuses the rest with a reason."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from labresults.hl7.ack import build_ack
from labresults.hl7.mllp import Deframer, frame
from labresults.hl7.oru import extract_results
from labresults.hl7.parser import Hl7Error, parse, parse_timestamp

ORU = (
    "MSH|^~\\&|LABSYS|KBA RH|SUNDHED|RH|20261124101500||ORU^R01|MSG0001|P|2.5|||||DNK|{charset}\r"
    "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
    "OBR|1|REQ123|LAB987|NPU03429^P-Natrium|||20261124093000|||||||||||||||20261124101000|||F\r"
    "OBX|1|NM|NPU03429^P-Natrium;stofk.^NPU||141|mmol/L|137-145|N|||F|||20261124093000\r"
    "OBX|2|NM|NPU03230^P-Kalium;stofk.^NPU||2.9|mmol/L|3.5-4.4|LL|||F\r"
    "NTE|1||Prøven er hæmolyseret \\T\\ gentages\r"
)


def oru(charset="8859/1", endings="\r", encoding="latin-1", bom=b""):
    text = ORU.format(charset=charset).replace("\r", endings)
    return bom + text.encode(encoding)


@pytest.mark.parametrize(
    ("endings", "bom"), [("\r", b""), ("\n", b""), ("\r\n", b""), ("\r", b"\xef\xbb\xbf")]
)
def test_any_segment_ending_and_a_byte_order_mark_are_accepted(endings, bom):
    message = parse(oru(charset="UNICODE UTF-8", encoding="utf-8", endings=endings, bom=bom))
    assert [s.name for s in message.segments] == ["MSH", "PID", "OBR", "OBX", "OBX", "NTE"]
    assert message.control_id == "MSG0001" and message.message_type == "ORU^R01"


@pytest.mark.parametrize(
    ("charset", "encoding"), [("8859/1", "latin-1"), ("UNICODE UTF-8", "utf-8"), ("", "utf-8")]
)
def test_the_character_set_of_msh_18_is_honoured(charset, encoding):
    results = extract_results(parse(oru(charset=charset, encoding=encoding)))
    assert results.orders[0].notes == ["Prøven er hæmolyseret & gentages"]


def test_latin1_bytes_without_a_declared_charset_still_read_as_danish():
    results = extract_results(parse(oru(charset="", encoding="latin-1")))
    assert "hæmolyseret" in results.orders[0].notes[0]


def test_an_unknown_character_set_is_refused_with_its_name():
    with pytest.raises(Hl7Error, match="KLINGON"):
        parse(oru(charset="KLINGON"))


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a\\F\\b", "a|b"),
        ("a\\S\\b", "a^b"),
        ("a\\T\\b", "a&b"),
        ("a\\R\\b", "a~b"),
        ("a\\E\\b", "a\\b"),
        ("linje\\.br\\to", "linje\nto"),
        ("\\XC6\\ble", "Æble"),
        ("\\H\\vigtigt\\N\\", "vigtigt"),
    ],
)
def test_escape_sequences_are_resolved(escaped, plain):
    message = parse(f"MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\rNTE|1||{escaped}\r")
    assert message.first("NTE").get(3) == plain


def test_results_orders_and_patient_are_extracted():
    results = extract_results(parse(oru()))
    assert results.patient_ids == [("0707614048", "CPR")]
    assert results.patient_name == "Karen Jensen"
    order = results.orders[0]
    assert (order.placer_order, order.filler_order, order.status) == ("REQ123", "LAB987", "final")
    sodium, potassium = order.observations
    assert (sodium.code, sodium.numeric, sodium.unit, sodium.flags) == (
        "NPU03429",
        Decimal("141"),
        "mmol/L",
        ["N"],
    )
    assert potassium.flags == ["LL"] and potassium.reference_range == "3.5-4.4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20261124101500", datetime(2026, 11, 24, 10, 15, tzinfo=ZoneInfo("Europe/Copenhagen"))),
        ("202611241015", datetime(2026, 11, 24, 10, 15, tzinfo=ZoneInfo("Europe/Copenhagen"))),
        ("20260701", datetime(2026, 7, 1, tzinfo=ZoneInfo("Europe/Copenhagen"))),
        (
            "20261124101500+0000",
            datetime(2026, 11, 24, 11, 15, tzinfo=ZoneInfo("Europe/Copenhagen")),
        ),
        (
            "20261124101500.25+0100",
            datetime(2026, 11, 24, 10, 15, 0, 250000, tzinfo=ZoneInfo("Europe/Copenhagen")),
        ),
    ],
)
def test_timestamps_without_a_zone_are_copenhagen_time(text, expected):
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize("text", ["2026-11-24", "20261324", "yesterday"])
def test_a_malformed_timestamp_is_a_clear_error(text):
    with pytest.raises(Hl7Error, match="timestamp|date"):
        parse_timestamp(text)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "no MSH"),
        (b"hello world", "no MSH"),
        (b"MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5 PID|1||123 OBR|1|x", "not separated"),
        (b"MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\r?? broken\r", "not an HL7 segment"),
        (b"MSH|^~\\&|A|B|C|D|20260101||ORU^R01|1|P|2.5\rOBX|1|NM|X^Y||1\r", "before any OBR"),
        (b"MSH|^~\\&|A|B|C|D|20260101||ADT^A01|1|P|2.5\rPID|1\r", "not a result message"),
    ],
)
def test_what_cannot_be_taken_gets_a_reason(raw, reason):
    with pytest.raises(Hl7Error, match=reason):
        extract_results(parse(raw))


def test_an_ack_names_the_message_it_answers():
    message = parse(oru())
    ack = build_ack(message, "AA").decode()
    assert "MSA|AA|MSG0001" in ack and ack.startswith("MSH|^~\\&|SUNDHED|RH|LABSYS|KBA RH|")
    refused = build_ack(message, "AE", "Unknown analysis | code").decode()
    assert "MSA|AE|MSG0001|Unknown analysis   code" in refused and "\rERR|" in refused


def test_mllp_frames_survive_any_split_of_the_stream():
    stream = frame(b"first") + frame(b"second") + b"\x0bthird\x1c"
    for cut in range(1, len(stream)):
        deframer = Deframer()
        got = deframer.feed(stream[:cut]) + deframer.feed(stream[cut:])
        assert got == [b"first", b"second", b"third"], cut


# --- the real messages of ../shared/reference-data/hl7v2 ------------------------------------
def reference_files(reference_data, folder):
    return sorted((reference_data / "hl7v2" / folder).glob("*.hl7"))


def test_every_reference_result_message_gives_results_or_a_reason(reference_data):
    outcome = {}
    for path in reference_files(reference_data, "oru"):
        try:
            results = extract_results(parse(path.read_bytes()))
        except Hl7Error as error:
            outcome[path.name] = f"refused: {error.reason}"
        else:
            outcome[path.name] = sum(len(o.observations) for o in results.orders)
    # Out-of-order segments are refused rather than guessed; everything else yields results.
    assert str(outcome.pop("fhirconv-ORU-R01-01.hl7")).startswith("refused: An OBX comes before")
    assert outcome["fhirconv-LRI_2.0-NG_CBC_Typ_Message.hl7"] == 28
    assert outcome["athena-oru-example.hl7"] == 0  # a correction at order level only
    assert all(isinstance(count, int) for count in outcome.values()), outcome


def test_preliminary_then_final_reference_pair_has_the_same_orders(reference_data):
    first, second = (
        extract_results(parse((reference_data / "hl7v2" / "oru" / name).read_bytes()))
        for name in ("fhirconv-LAB-ORU-1.hl7", "fhirconv-LAB-ORU-2.hl7")
    )
    key = lambda r: {o.filler_order for o in r.orders}  # noqa: E731
    assert key(first) == key(second)
    assert "preliminary" in {x.status for o in first.orders for x in o.observations}
    assert {x.status for o in second.orders for x in o.observations} == {"final"}


def test_malformed_reference_messages_are_refused_with_a_reason(reference_data):
    for path in reference_files(reference_data, "malformed"):
        with pytest.raises(Hl7Error) as error:
            extract_results(parse(path.read_bytes()))
        assert len(error.value.reason) > 10, path.name


def test_other_reference_messages_parse_and_are_refused_as_not_results(reference_data):
    for folder in ("adt", "siu", "other"):
        for path in reference_files(reference_data, folder):
            message = parse(path.read_bytes())
            assert message.control_id, path.name
            with pytest.raises(Hl7Error, match="not a result message"):
                extract_results(message)


@pytest.mark.parametrize(
    ("obx6", "unit"),
    [
        ("10\\S\\9/L", "10^9/L"),  # escaped, as the standard wants
        ("10^9/L", "10^9/L"),  # unescaped, as some laboratories send it
        ("10*9/L", "10*9/L"),  # UCUM
        ("mmol/L^millimol per liter^UCUM", "mmol/L"),  # coded
        ("^mmol/L", "mmol/L"),  # text only
        ("", ""),
    ],
)
def test_the_unit_is_read_in_full(obx6, unit):
    from labresults.hl7.oru import extract_results
    from labresults.hl7.parser import parse

    raw = (
        "MSH|^~\\&|LAB|KBA|SUNDHED|RH|20261124101500||ORU^R01|U1|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        "OBR|1||F1|NPU02593^B-Leukocytter|||20261124093000\r"
        f"OBX|1|NM|NPU02593^B-Leukocytter^NPU||7.1|{obx6}|3.5-10.0|N|||F\r"
    )
    (order,) = extract_results(parse(raw.encode())).orders
    assert order.observations[0].unit == unit


def test_labsim_sends_units_escaped():
    from labresults.hl7.oru import extract_results
    from labresults.hl7.parser import parse
    from simulators.labsim.messages import _escaped

    assert _escaped("10^9/L") == "10\\S\\9/L"
    raw = (
        "MSH|^~\\&|LAB|KBA|SUNDHED|RH|20261124101500||ORU^R01|U2|P|2.5\r"
        "PID|1||0707614048^^^CPR^CPR||Jensen^Karen\r"
        "OBR|1||F2|NPU02593^B-Leukocytter|||20261124093000\r"
        f"OBX|1|NM|NPU02593^B-Leukocytter^NPU||7.1|{_escaped('10^9/L')}|3.5-10.0|N|||F\r"
    )
    assert extract_results(parse(raw.encode())).orders[0].observations[0].unit == "10^9/L"
