"""ORM^O01: an order (rekvisition) to the laboratory, one OBR per analysis, and its sending."""

import socket
from datetime import datetime
from zoneinfo import ZoneInfo

from labresults.hl7.mllp import Deframer, frame

_CLEAN = str.maketrans({"|": " ", "^": " ", "~": " ", "\\": " ", "&": " ", "\r": " ", "\n": " "})


def _clean(text: str) -> str:
    return (text or "").translate(_CLEAN)


def build_orm(*, order, patient, analyses, ordered_by: str, department_code: str) -> bytes:
    """The order as HL7 v2.5.1 ORM^O01; ORC-2/OBR-2 carry our order number (placer)."""
    now = datetime.now(ZoneInfo("Europe/Copenhagen"))
    stamp = now.strftime("%Y%m%d%H%M%S%z")
    priority = "S" if order.priority == "urgent" else "R"
    segments = [
        f"MSH|^~\\&|SUNDHED|{_clean(department_code)}|LAB|KBA|{stamp}||ORM^O01^ORM_O01|"
        f"{order.placer_number}|P|2.5.1|||AL|NE|DNK|UNICODE UTF-8",
        f"PID|1||{patient.cpr}^^^CPR^CPR||{_clean(patient.family_name)}^"
        f"{_clean(patient.given_names)}||{patient.birth_date:%Y%m%d}|{patient.sex}"
        if patient.birth_date
        else f"PID|1||{patient.cpr}^^^CPR^CPR||{_clean(patient.family_name)}",
        f"ORC|NW|{order.placer_number}|||||^^^^^{priority}||{order.ordered_at:%Y%m%d%H%M%S}|||"
        f"{_clean(ordered_by)}",
    ]
    for number, analysis in enumerate(analyses, start=1):
        segments.append(
            f"OBR|{number}|{order.placer_number}||{analysis.code}^{_clean(analysis.name)}^NPU|"
            f"{priority}|{order.ordered_at:%Y%m%d%H%M%S}"
        )
    if order.comment:
        segments.append(f"NTE|1||{_clean(order.comment)}")
    return ("\r".join(segments) + "\r").encode("utf-8")


def send_mllp(host: str, port: int, message: bytes, *, timeout: float = 10.0) -> str:
    """Send one message over MLLP and return the ACK code (MSA-1); OSError when unreachable."""
    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall(frame(message))
        deframer = Deframer()
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("the laboratory closed the connection without an ACK")
            for ack in deframer.feed(chunk):
                for segment in ack.decode("latin-1").replace("\n", "\r").split("\r"):
                    if segment.startswith("MSA|"):
                        return segment.split("|")[1]
                return "??"
