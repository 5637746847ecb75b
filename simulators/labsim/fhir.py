"""The laboratory's FHIR R4 endpoint: DiagnosticReports with their Observations and Patient.

A small search API, as a pull source sees it:
  GET /fhir/metadata
  GET /fhir/DiagnosticReport?_lastUpdated=gt2026-11-25T10:00:00+00:00
returns a searchset Bundle with every report updated after that moment, each with its results
and subject included. Reports are made up as time passes (like a point-of-care laboratory that
only offers FHIR). Standard library only.
"""

import hashlib
import json
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from simulators.labsim.messages import BY_CODE, PANELS, _value

NPU = "urn:oid:1.2.208.176.2.1"
CPR = "urn:oid:1.2.208.176.1.2"


class ReportStore:
    """Reports as they are produced, newest last; thread-safe for the server."""

    def __init__(self, cprs: list[str], seed: int):
        self.cprs = cprs
        self.rng = random.Random(seed)
        self.reports: list[tuple[datetime, list[dict]]] = []
        self.lock = threading.Lock()
        self.number = 0

    def produce(self, now: datetime | None = None) -> None:
        """Make one report (DiagnosticReport, its Observations and the Patient)."""
        now = now or datetime.now(UTC)
        with self.lock:
            self.number += 1
            number = self.number
            cpr = self.rng.choice(self.cprs)
            panel = self.rng.choice(list(PANELS))
            values = {code: _value(self.rng, BY_CODE[code], cpr) for code in PANELS[panel]}
        sampled = now - timedelta(minutes=30)
        patient_id = hashlib.sha256(cpr.encode()).hexdigest()[:16]
        patient = {
            "resourceType": "Patient",
            "id": patient_id,
            "identifier": [{"system": CPR, "value": cpr}],
        }
        observations = []
        for code, (value, flag) in values.items():
            analysis = BY_CODE[code]
            low, high = analysis.interval(cpr)
            observation = {
                "resourceType": "Observation",
                "id": f"obs-{number}-{code}",
                "status": "final",
                "code": {"coding": [{"system": NPU, "code": code, "display": analysis.name}]},
                "subject": {"reference": f"Patient/{patient_id}"},
                "effectiveDateTime": sampled.isoformat(),
                "valueQuantity": {"value": float(value), "unit": analysis.unit},
                "referenceRange": [{"low": {"value": low}, "high": {"value": high}}],
            }
            if flag != "N":
                observation["interpretation"] = [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/"
                                "v3-ObservationInterpretation",
                                "code": flag,
                            }
                        ]
                    }
                ]
            observations.append(observation)
        report = {
            "resourceType": "DiagnosticReport",
            "id": f"fhirlab-{number}",
            "meta": {"lastUpdated": now.isoformat()},
            "identifier": [{"system": "urn:labsim:fhir", "value": f"POC{number:07d}"}],
            "status": "final",
            "code": {"text": panel},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": sampled.isoformat(),
            "issued": now.isoformat(),
            "result": [{"reference": f"Observation/{o['id']}"} for o in observations],
        }
        with self.lock:
            self.reports.append((now, [report, *observations, patient]))

    def since(self, moment: datetime | None) -> list[dict]:
        with self.lock:
            chosen = [r for at, r in self.reports if moment is None or at > moment]
        return [resource for resources in chosen for resource in resources]


def searchset(resources: list[dict], base: str) -> dict:
    """A searchset Bundle whose id is a digest of its content (the same answer, the same id)."""
    digest = hashlib.sha256(json.dumps(resources, sort_keys=True).encode()).hexdigest()[:32]
    return {
        "resourceType": "Bundle",
        "id": digest,
        "type": "searchset",
        "total": sum(1 for r in resources if r["resourceType"] == "DiagnosticReport"),
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {
                    "mode": "match" if r["resourceType"] == "DiagnosticReport" else "include"
                },
            }
            for r in resources
        ],
    }


def make_handler(store: ReportStore):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - quiet by default
            return

        def _send(self, status: int, body: dict):
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - the http.server API
            url = urlparse(self.path)
            base = f"http://{self.headers.get('Host', 'localhost')}/fhir"
            if url.path == "/fhir/metadata":
                return self._send(
                    200,
                    {
                        "resourceType": "CapabilityStatement",
                        "status": "active",
                        "kind": "instance",
                        "fhirVersion": "4.0.1",
                        "format": ["json"],
                    },
                )
            if url.path != "/fhir/DiagnosticReport":
                return self._send(404, _outcome("not-found", f"No such path: {url.path}"))
            query = parse_qs(url.query)
            moment = None
            for value in query.get("_lastUpdated", []):
                if not value.startswith("gt"):
                    return self._send(400, _outcome("not-supported", "Only _lastUpdated=gt..."))
                try:
                    moment = datetime.fromisoformat(value[2:].replace(" ", "+"))
                except ValueError:
                    return self._send(400, _outcome("value", f"Not a time: {value[2:]}"))
            return self._send(200, searchset(store.since(moment), base))

    return Handler


def _outcome(code: str, text: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "id": str(uuid.uuid4()),
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }


def serve(store: ReportStore, host: str, port: int) -> ThreadingHTTPServer:
    """Start the endpoint in a daemon thread and return the server."""
    server = ThreadingHTTPServer((host, port), make_handler(store))
    threading.Thread(target=server.serve_forever, daemon=True, name="labsim-fhir").start()
    return server
