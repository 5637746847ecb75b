"""A tolerant HL7 v2 parser: what real laboratory systems send, not only what the standard says.

Accepts CR, LF and CRLF segment endings, a byte-order mark before MSH, the character set named in
MSH-18 (ISO-8859-1 for æ, ø, å; UTF-8), repetitions, components and HL7 escape sequences.
Refuses, with a reason a person can act on, what cannot be read safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_noop as _

from common.reasons import Reason

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
BOM = b"\xef\xbb\xbf"
# MSH-18 names for the character sets labs use; the key is upper-cased with spaces removed.
CHARSETS = {
    "8859/1": "latin-1",
    "ISO-8859-1": "latin-1",
    "ISO8859-1": "latin-1",
    "ISO_IR100": "latin-1",
    "UNICODEUTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "ASCII": "ascii",
    "8859/15": "iso-8859-15",
}
_SEGMENT_NAME = re.compile(r"^[A-Z][A-Z0-9]{2}$")
_JOINED_SEGMENTS = re.compile(r"\s(EVN|PID|PV1|ORC|OBR|OBX|NTE|SCH|AIS|RGS)\|")


class Hl7Error(ValueError):
    """A message that cannot be taken: `code` is the ACK code (AR reject, AE error); the reason
    is a template (marked for translation) with its values."""

    def __init__(self, template: str, *, code: str = "AE", **params):
        self.why = Reason(template, **params)
        self.reason = str(self.why)
        super().__init__(self.reason)
        self.code = code


@dataclass(frozen=True)
class Delimiters:
    """The separators MSH-1 and MSH-2 declare."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


@dataclass
class Segment:
    """One segment: its name and its fields as raw (still escaped) strings."""

    name: str
    fields: list[str]
    delimiters: Delimiters
    # Components of (field, repetition) once split: a result message asks each field several
    # times, and the receiver and the worker read thousands of them a second.
    _split: dict = field(default_factory=dict, repr=False, compare=False)

    def raw(self, number: int) -> str:
        """Field `number` as sent (MSH-1 is the field separator itself, as in the standard)."""
        index = number - 1 if self.name == "MSH" else number
        if self.name == "MSH" and number == 1:
            return self.delimiters.field
        return self.fields[index] if 0 <= index < len(self.fields) else ""

    def repetitions(self, number: int) -> list[str]:
        """The repetitions of a field, each still with its components."""
        value = self.raw(number)
        if self.name == "MSH" and number == 2:
            return [value]
        return value.split(self.delimiters.repetition) if value else []

    def _raw_components(self, number: int, repetition: int) -> list[str]:
        """The raw components of one repetition (the cached list: never change it)."""
        parts = self._split.get((number, repetition))
        if parts is None:
            repetitions = self.repetitions(number)
            parts = (
                repetitions[repetition].split(self.delimiters.component)
                if repetition < len(repetitions)
                else []
            )
            self._split[(number, repetition)] = parts
        return parts

    def components(self, number: int, repetition: int = 0) -> list[str]:
        """The unescaped components of one repetition of a field."""
        return [unescape(c, self.delimiters) for c in self._raw_components(number, repetition)]

    def get(self, number: int, component: int = 1, repetition: int = 0) -> str:
        """One component (1-based) of one repetition, unescaped; '' when absent."""
        parts = self._raw_components(number, repetition)
        if component - 1 >= len(parts):
            return ""
        # Split subcomponents before unescaping, so an escaped \T\ stays an ampersand.
        first = parts[component - 1].split(self.delimiters.subcomponent)[0]
        return unescape(first, self.delimiters).strip()


@dataclass
class Message:
    """A parsed message: its segments in order, and what MSH says about it."""

    segments: list[Segment]
    delimiters: Delimiters
    charset: str
    text: str = field(repr=False)

    @property
    def msh(self) -> Segment:
        return self.segments[0]

    @property
    def control_id(self) -> str:
        return self.msh.get(10)

    @property
    def message_type(self) -> str:
        """E.g. 'ORU^R01' (message code and trigger event)."""
        code, event = self.msh.get(9, 1), self.msh.get(9, 2)
        return f"{code}^{event}" if event else code

    @property
    def sender(self) -> str:
        """Sending application and facility, the key for duplicate control ids."""
        application, facility = self.msh.get(3), self.msh.get(4)
        return f"{application}@{facility}" if facility else application

    @property
    def version(self) -> str:
        return self.msh.get(12)

    def first(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [s for s in self.segments if s.name == name]


def unescape(value: str, delimiters: Delimiters) -> str:
    """Resolve HL7 escape sequences (field, component, subcomponent, repetition, escape,
    hex, line break); highlighting is dropped."""
    esc = delimiters.escape
    if not esc or esc not in value:
        return value
    out, i = [], 0
    while i < len(value):
        if value[i] == esc:
            end = value.find(esc, i + 1)
            if end == -1:
                out.append(value[i:])
                break
            code = value[i + 1 : end]
            out.append(_escape_meaning(code, delimiters))
            i = end + 1
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def _escape_meaning(code: str, d: Delimiters) -> str:
    simple = {
        "F": d.field,
        "S": d.component,
        "T": d.subcomponent,
        "R": d.repetition,
        "E": d.escape,
        ".br": "\n",
        "H": "",
        "N": "",
    }
    if code in simple:
        return simple[code]
    if code.startswith("X") and len(code) > 1:
        try:
            return bytes.fromhex(code[1:]).decode("latin-1")
        except ValueError:
            return ""
    if code.startswith((".sp", ".in", ".ti", ".ce", ".fi", ".nf")):
        return "\n" if code.startswith(".sp") else ""
    return ""  # an unknown escape is dropped rather than shown as noise


def _decode(raw: bytes) -> tuple[str, str]:
    """Bytes to text by MSH-18 (read on an ASCII-compatible view first)."""
    if raw.startswith(BOM):
        raw = raw[len(BOM) :]
    start = raw.find(b"MSH")
    if start == -1:
        raise Hl7Error(_("Not an HL7 v2 message: no MSH segment."), code="AR")
    raw = raw[start:]
    head = raw.split(b"\r", 1)[0].split(b"\n", 1)[0].decode("latin-1")
    separator = head[3:4] or "|"
    msh_fields = head.split(separator)
    declared = msh_fields[17].split("^")[0].strip() if len(msh_fields) > 17 else ""
    if declared:
        encoding = CHARSETS.get(declared.upper().replace(" ", ""))
        if encoding is None:
            raise Hl7Error(
                _("Unknown character set in MSH-18: %(charset)s."), code="AR", charset=declared
            )
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise Hl7Error(
                _("The message is not valid %(charset)s: %(detail)s."),
                charset=declared,
                detail=error.reason,
            ) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def parse(raw: bytes | str) -> Message:
    """Parse one message; raise Hl7Error with a reason when it cannot be read."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    text, charset = _decode(raw)
    lines = [
        line.strip("\x0b\x1c ")
        for line in text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    ]
    lines = [line for line in lines if line]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise Hl7Error(_("Not an HL7 v2 message: it does not start with MSH."), code="AR")
    msh = lines[0]
    encoding = msh[4:8]
    delimiters = Delimiters(
        field=msh[3],
        component=encoding[0],
        repetition=encoding[1] if len(encoding) > 1 else "~",
        escape=encoding[2] if len(encoding) > 2 else "\\",
        subcomponent=encoding[3] if len(encoding) > 3 and encoding[3] != msh[3] else "&",
    )
    if len(lines) == 1 and _JOINED_SEGMENTS.search(msh):
        raise Hl7Error(
            _(
                "The segments are not separated (all on one line); the sender must end each "
                "segment with a carriage return."
            ),
            code="AR",
        )
    segments = []
    for number, line in enumerate(lines, start=1):
        name = line[:3]
        if not _SEGMENT_NAME.match(name) or (len(line) > 3 and line[3] != delimiters.field):
            raise Hl7Error(
                _("Segment %(number)s is not an HL7 segment: %(text)s."),
                number=number,
                text=repr(line[:20]),
            )
        segments.append(Segment(name, line.split(delimiters.field), delimiters))
    message = Message(segments=segments, delimiters=delimiters, charset=charset, text=text)
    if not message.msh.get(9):
        raise Hl7Error(_("MSH-9 (message type) is empty."), code="AR")
    return message


_TS = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?(?P<H>\d{2})?(?P<M>\d{2})?(?P<S>\d{2})?"
    r"(?:\.(?P<f>\d{1,6}))?(?P<z>[+-]\d{4})?$"
)


def parse_timestamp(value: str) -> datetime | None:
    """An HL7 DTM/TS as an aware datetime; without a zone it is Copenhagen time."""
    value = (value or "").strip().split("^")[0]
    if not value:
        return None
    match = _TS.match(value)
    if not match:
        raise Hl7Error(_("Not a timestamp: %(value)s."), value=repr(value))
    parts = match.groupdict()
    try:
        moment = datetime(
            int(parts["y"]),
            int(parts["m"] or 1),
            int(parts["d"] or 1),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
            int((parts["f"] or "0").ljust(6, "0")),
        )
    except ValueError:
        raise Hl7Error(_("Not a date that exists: %(value)s."), value=repr(value)) from None
    if parts["z"]:
        sign = 1 if parts["z"][0] == "+" else -1
        offset = timedelta(hours=int(parts["z"][1:3]), minutes=int(parts["z"][3:5]))
        return moment.replace(tzinfo=timezone(sign * offset))
    return moment.replace(tzinfo=COPENHAGEN)
