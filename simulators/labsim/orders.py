"""The laboratory's order port: ORM^O01 over MLLP in, an ACK out, the order queued for analysis.

Results for a received order come back over the laboratory's normal MLLP connection with the
order number (ORC-2/OBR-2) as the placer number, so the ordering system can match them.
"""

import queue
import socketserver
import threading
from dataclasses import dataclass
from datetime import datetime

START, END = b"\x0b", b"\x1c\x0d"


@dataclass
class ReceivedOrder:
    """What the laboratory needs from an order: whose, which number, which analyses."""

    cpr: str
    placer: str
    codes: list[str]


def parse_orm(message: bytes) -> tuple[ReceivedOrder | None, str]:
    """The order in an ORM^O01, or None with the reason."""
    segments = message.decode("utf-8", errors="replace").replace("\n", "\r").split("\r")
    fields = {s[:3]: s.split("|") for s in segments if len(s) > 3}
    msh = fields.get("MSH")
    if msh is None or len(msh) < 10 or not msh[8].startswith("ORM"):
        return None, "not an ORM^O01"
    pid, orc = fields.get("PID"), fields.get("ORC")
    if pid is None or len(pid) < 4 or orc is None or len(orc) < 3:
        return None, "PID or ORC missing"
    codes = [s.split("|")[4].split("^")[0] for s in segments if s.startswith("OBR|")]
    return ReceivedOrder(cpr=pid[3].split("^")[0], placer=orc[2], codes=codes), ""


def ack_for(message: bytes, code: str, text: str = "") -> bytes:
    msh = message.decode("utf-8", errors="replace").split("\r")[0].split("|")
    control = msh[9] if len(msh) > 9 else ""
    now = datetime.now().strftime("%Y%m%d%H%M%S")
    return (
        f"MSH|^~\\&|LABSIM|KBA|{msh[2] if len(msh) > 2 else ''}|"
        f"{msh[3] if len(msh) > 3 else ''}|{now}||ACK^O01|A{control}|P|2.5.1\r"
        f"MSA|{code}|{control}|{text}\r"
    ).encode()


def serve_orders(host: str, port: int, orders: "queue.Queue[ReceivedOrder]"):
    """Listen for orders in a daemon thread; return the server."""

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            buffer = b""
            while True:
                chunk = self.request.recv(65536)
                if not chunk:
                    return
                buffer += chunk
                while START in buffer and b"\x1c" in buffer:
                    start = buffer.index(START)
                    end = buffer.index(b"\x1c", start)
                    message = buffer[start + 1 : end]
                    buffer = buffer[end + 2 :]
                    order, reason = parse_orm(message)
                    if order is None:
                        self.request.sendall(START + ack_for(message, "AR", reason) + END)
                        continue
                    orders.put(order)
                    self.request.sendall(START + ack_for(message, "AA") + END)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    server = Server((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="labsim-orders").start()
    return server
