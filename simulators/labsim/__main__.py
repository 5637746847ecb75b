"""python -m simulators.labsim: send laboratory results to an MLLP receiver.

Knows nothing of Sundhed: it reads CPR numbers from a file and speaks HL7 v2 over MLLP.
A mix like a real laboratory's: new final results, preliminary-then-final pairs, corrections,
re-sends of the same message, and now and then a malformed message.
"""

import argparse
import queue
import random
import socket
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

from simulators.labsim.fhir import ReportStore, serve
from simulators.labsim.messages import malformed, new_order, ordered, oru
from simulators.labsim.orders import serve_orders

START, END = b"\x0b", b"\x1c\x0d"


def connect(host: str, port: int, patience: float) -> socket.socket:
    deadline = time.monotonic() + patience
    while True:
        try:
            return socket.create_connection((host, port), timeout=30)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def send(conn: socket.socket, message: bytes) -> str:
    """Send one framed message and return the ACK code (MSA-1)."""
    conn.sendall(START + message + END)
    buffer = b""
    while END not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("receiver closed the connection")
        buffer += chunk
    ack = buffer[buffer.find(START) + 1 : buffer.find(END)].decode("latin-1")
    for segment in ack.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1]
    return "??"


def _produce_forever(store: ReportStore, every: float) -> None:
    while True:
        store.produce()
        time.sleep(max(0.05, every))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25750)
    parser.add_argument("--cprs-file", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=0.2, help="messages per second")
    parser.add_argument("--count", type=int, default=0, help="stop after this many (0: never)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--patience", type=float, default=60, help="seconds to wait for receiver")
    parser.add_argument("--fhir-port", type=int, default=0, help="serve FHIR here (0: do not)")
    parser.add_argument(
        "--order-port", type=int, default=0, help="take orders (ORM^O01) here (0: do not)"
    )
    parser.add_argument(
        "--fhir-every", type=float, default=30, help="seconds between new FHIR reports"
    )
    args = parser.parse_args(argv)

    cprs = [line.strip() for line in args.cprs_file.read_text().splitlines() if line.strip()]
    if not cprs:
        print("labsim: no CPR numbers in", args.cprs_file, file=sys.stderr)
        return 2
    if args.fhir_port:
        store = ReportStore(cprs, args.seed)
        server = serve(store, args.host, args.fhir_port)
        print(f"labsim: FHIR endpoint on http://{args.host}:{server.server_port}/fhir", flush=True)
        threading.Thread(
            target=_produce_forever, args=(store, args.fhir_every), daemon=True
        ).start()
    orders: queue.Queue = queue.Queue()
    if args.order_port:
        serve_orders(args.host, args.order_port, orders)
        print(f"labsim: taking orders on {args.host}:{args.order_port}", flush=True)
    if not args.port:  # FHIR only
        while True:
            time.sleep(3600)
    rng = random.Random(args.seed)
    conn = connect(args.host, args.port, args.patience)
    pending: list = []
    sent_orders: list = []
    acks: dict = {}
    number = 0
    started = time.monotonic()
    while args.count == 0 or number < args.count:
        number += 1
        now = datetime.now()
        control_id = f"LS{args.seed}-{number:07d}"
        roll = rng.random()
        if not orders.empty():
            order = ordered(rng, orders.get(), number, now)
            message = oru(order, control_id, status="F", now=now)
            sent_orders.append(order)
        elif pending and roll < 0.3:
            message = oru(pending.pop(0), control_id, status="F", now=now)
        elif sent_orders and roll < 0.35:
            order = rng.choice(sent_orders)
            code = next(iter(order.values))
            value, flag = order.values[code]
            order.values[code] = (value.replace("1", "2", 1), flag)
            message = oru(order, control_id, status="C", now=now)
        elif sent_orders and roll < 0.40:
            message = oru(rng.choice(sent_orders), control_id, status="F", now=now)  # re-send
        elif roll < 0.41:
            message = malformed(control_id, now)
        else:
            order = new_order(rng, rng.choice(cprs), number, now)
            preliminary = rng.random() < 0.3
            message = oru(order, control_id, status="P" if preliminary else "F", now=now)
            (pending if preliminary else sent_orders).append(order)
            if preliminary:
                sent_orders.append(order)
        code = send(conn, message)
        acks[code] = acks.get(code, 0) + 1
        if args.rate > 0:
            time.sleep(max(0.0, number / args.rate - (time.monotonic() - started)))
    conn.close()
    print("labsim: sent", number, "messages; acks", dict(sorted(acks.items())), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
