"""Acknowledgements: AA after the message is safely stored, AE/AR with a reason otherwise."""

from datetime import datetime
from zoneinfo import ZoneInfo

from labresults.hl7.parser import Message

_CLEAN = str.maketrans({"|": " ", "^": " ", "~": " ", "\\": " ", "&": " ", "\r": " ", "\n": " "})


def build_ack(
    message: Message | None, code: str, text: str = "", *, control_id: str = "", now=None
) -> bytes:
    """An ACK for `message` (or for bytes that did not parse, when `message` is None)."""
    now = now or datetime.now(ZoneInfo("Europe/Copenhagen"))
    stamp = now.strftime("%Y%m%d%H%M%S%z")
    if message is not None:
        msh = message.msh
        receiver_app, receiver_facility = msh.raw(3), msh.raw(4)
        our_app, our_facility = msh.raw(5) or "SUNDHED", msh.raw(6)
        their_id, version = message.control_id, message.version or "2.5"
        event = message.msh.get(9, 2)
    else:
        receiver_app = receiver_facility = our_facility = ""
        our_app, their_id, version, event = "SUNDHED", "", "2.5", ""
    note = text.translate(_CLEAN)[:200]
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                our_app,
                our_facility,
                receiver_app,
                receiver_facility,
                stamp,
                "",
                f"ACK^{event}^ACK" if event else "ACK",
                control_id or f"ACK{stamp}",
                "P",
                version,
            ]
        ),
        "|".join(["MSA", code, their_id, note]),
    ]
    if code != "AA":
        severity = "E"
        segments.append(
            "|".join(
                ["ERR", "", "", "207^Application internal error^HL70357", severity, "", "", note]
            )
        )
    return ("\r".join(segments) + "\r").encode("utf-8")
