"""python -m simulators.fmksim: Fælles Medicinkort as Sundhed meets it, on this machine.

Knows nothing of Sundhed. Two HTTP servers:
- the SOAP port (`--port`, path `/fmk`): FMK's operations per its WSDL (see service.py);
- the control port (`--control-port`), JSON for tests and the demo:
  `POST /mode {"mode": "up" | "refuse" | "unavailable", "delay": seconds}` (refuse closes the
  SOAP port, so connections are refused; unavailable answers 503 with a SOAP fault; delay
  answers slowly), `POST /gp-change {"cpr": ...}` (a GP changes the card), `POST /seed
  {"cprs": [...]}`, `GET /card/<cpr>` (the card as JSON), `GET /log` (requests seen).

Cards live in memory: the four recorded test persons' cards as recorded, and demo cards for
the CPR numbers in `--cprs-file`. `--gp-every N` lets a GP change a random demo card every N s.
"""

import argparse
import contextlib
import json
import random
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

from simulators.fmksim.cards import CardStore, child, children, text_of
from simulators.fmksim.seed import gp_change, seed_card
from simulators.fmksim.service import Service, fault

MAX_BODY = 5 * 1024 * 1024


class State:
    """What the control port sets and the SOAP port obeys."""

    def __init__(self):
        self.mode = "up"
        self.delay = 0.0


def _structured(dosage) -> str:
    if dosage is None:
        return ""
    for part in ("StructuresFixed", "StructuresAccordingToNeed"):
        found = child(dosage, part)
        combined = child(found, "DosageTranslationCombined") if found is not None else None
        if combined is not None:
            return text_of(combined, "ShortText") or text_of(combined, "LongText")
    return ""


def card_summary(store: CardStore, cpr: str) -> dict:
    card = store.card(cpr)
    lines = []
    for dm in card.drug_medications():
        drug = child(dm, "Drug")
        atc = child(drug, "ATC")
        dosage = child(dm, "Dosage")
        free = child(dosage, "FreeText") if dosage is not None else None
        indication = child(dm, "Indication")
        lines.append(
            {
                "identifier": text_of(dm, "Identifier"),
                "version": text_of(dm, "Version"),
                "name": text_of(drug, "Name"),
                "atc": text_of(atc, "Code") if atc is not None else "",
                # The free text, else FMK's translation of the structures.
                "dosage": text_of(free, "Text") if free is not None else _structured(dosage),
                # The indication as FMK holds it: its free text, else its coded text.
                "indication": (
                    text_of(indication, "FreeText") or text_of(indication, "Text")
                    if indication is not None
                    else ""
                ),
                "indication_code": text_of(indication, "Code") if indication is not None else "",
                "paused": child(dm, "Paused") is not None,
                "withdrawn": child(dm, "Withdrawn") is not None,
                "private": child(dm, "IsPrivateDrugMedication") is not None,
                # The reasons given with its changes (ModificationMetadata), oldest first.
                "reasons": store.metadata.get((cpr, text_of(dm, "Identifier")), []),
            }
        )
    reviewed = child(card.element, "Reviewed")
    return {
        "cpr": cpr,
        "version": str(card.version),
        "drug_medications": lines,
        "private": [
            text_of(m, "Identifier") for m in children(card.element, "PrivateDrugMedication")
        ],
        "reviewed": reviewed is not None,
        "reviewed_at": text_of(reviewed, "DateTime") if reviewed is not None else "",
        "dose_dispensed": text_of(card.element, "HasOpenDosageDispensingPrescriptions") == "true",
    }


def soap_handler(service: Service, state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("fmksim soap: " + fmt % args + "\n")

        def _send(self, status: int, body: bytes, content_type="text/xml; charset=utf-8"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if state.mode == "unavailable":  # a service that is down is down for everything
                self._send(503, b"FMK er midlertidigt utilgaengelig.", "text/plain")
            elif self.path.split("?")[0] == "/fmk" and "wsdl" in self.path.lower():
                self._send(200, Path(service_wsdl()).read_bytes())
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, fault("TooLarge", "Forespørgslen er for stor."))
                return
            payload = self.rfile.read(length)
            if state.delay:
                time.sleep(state.delay)
            if state.mode == "unavailable":
                self._send(
                    503,
                    fault("ServiceUnavailable", "FMK er midlertidigt utilgængelig.",
                          client=False, dgws="processing_problem"),
                )  # fmt: skip
                return
            if self.path.split("?")[0] != "/fmk":
                self._send(404, fault("NotFound", f"Ingen service på {self.path}."))
                return
            status, body = service.handle(self.headers.get("SOAPAction", ""), payload)
            self._send(status, body)

    return Handler


def service_wsdl() -> str:
    from simulators.fmksim.wsdl import DEFAULT_WSDL

    return str(DEFAULT_WSDL)


class SoapServer:
    """The SOAP port, which `refuse` closes and `up` opens again on the same port."""

    def __init__(self, host: str, port: int, handler):
        self.host, self.port, self.handler = host, port, handler
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    def open(self) -> None:
        with self.lock:
            if self.server is None:
                server = ThreadingHTTPServer((self.host, self.port), self.handler)
                server.daemon_threads = True
                self.server = server
                threading.Thread(target=server.serve_forever, daemon=True).start()

    def close(self) -> None:
        with self.lock:
            if self.server is not None:
                self.server.shutdown()
                self.server.server_close()
                self.server = None


def control_handler(store: CardStore, state: State, soap: SoapServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            sys.stderr.write("fmksim control: " + fmt % args + "\n")

        def _json(self, status: int, data) -> None:
            body = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?")[0]
            with store.lock:
                if path.startswith("/card/"):
                    cpr = path.rsplit("/", 1)[1]
                    if path.endswith(".xml") or "xml" in self.path.split("?")[-1]:
                        xml = etree.tostring(store.card(cpr.removesuffix(".xml")).element)
                        self.send_response(200)
                        self.send_header("Content-Type", "text/xml")
                        self.send_header("Content-Length", str(len(xml)))
                        self.end_headers()
                        self.wfile.write(xml)
                        return
                    self._json(200, card_summary(store, cpr))
                elif path == "/log":
                    self._json(200, store.log)
                elif path == "/mode":
                    self._json(200, {"mode": state.mode, "delay": state.delay})
                else:
                    self._json(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                data = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._json(400, {"error": "the body must be JSON"})
                return
            path = self.path.split("?")[0]
            if path == "/mode":
                mode = data.get("mode", state.mode)
                if mode not in ("up", "refuse", "unavailable"):
                    self._json(400, {"error": "mode must be up, refuse or unavailable"})
                    return
                state.delay = float(data.get("delay", state.delay))
                state.mode = mode
                soap.close() if mode == "refuse" else soap.open()
                self._json(200, {"mode": state.mode, "delay": state.delay})
            elif path == "/gp-change":
                version = gp_change(store, str(data.get("cpr", "")))
                self._json(200, {"version": version})
            elif path == "/dose-dispensing":
                with store.lock:
                    card = store.card(str(data.get("cpr", "")))
                    store.dose_dispensing(card, bool(data.get("on", True)))
                self._json(200, {"dose_dispensed": bool(data.get("on", True))})
            elif path == "/seed":
                with store.lock:
                    for cpr in data.get("cprs", []):
                        seed_card(store, str(cpr))
                self._json(200, {"seeded": len(data.get("cprs", []))})
            else:
                self._json(404, {"error": "not found"})

    return Handler


def read_cprs(path: str | None) -> list[str]:
    if not path or not Path(path).exists():
        return []
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.fmksim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25760, help="the SOAP port")
    parser.add_argument("--control-port", type=int, default=25761)
    parser.add_argument("--cprs-file", help="CPR numbers to give demo cards, one a line")
    parser.add_argument("--gp-every", type=float, default=0, help="seconds between GP changes")
    args = parser.parse_args(argv)

    store = CardStore()
    recorded = store.load_recorded()
    cprs = read_cprs(args.cprs_file)
    for cpr in cprs:
        if cpr not in recorded:  # the recorded test persons keep their cards as recorded
            seed_card(store, cpr)
    service = Service(store)
    state = State()
    soap = SoapServer(args.host, args.port, soap_handler(service, state))
    soap.open()
    control = ThreadingHTTPServer(
        (args.host, args.control_port), control_handler(store, state, soap)
    )
    control.daemon_threads = True
    print(
        f"fmksim: SOAP on http://{args.host}:{args.port}/fmk, control on "
        f"http://{args.host}:{args.control_port}; {len(recorded)} recorded cards, "
        f"{len(cprs)} demo cards",
        flush=True,
    )
    if args.gp_every and cprs:

        def gp_loop():
            chooser = random.Random()
            while True:
                time.sleep(args.gp_every)
                cpr = chooser.choice(cprs)
                version = gp_change(store, cpr, chooser=chooser)
                print(f"fmksim: the GP changed the card of {cpr[:6]}-xxxx (version {version})",
                      flush=True)  # fmt: skip

        threading.Thread(target=gp_loop, daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        control.serve_forever()


if __name__ == "__main__":
    main()
