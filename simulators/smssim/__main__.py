"""smssim: an SMS gateway over HTTP, as Danish gateways offer one (a JSON POST per message, an
API key, a reference the sender chooses that makes a repeated request harmless, and a delivery
status to ask for).

    POST /v1/sms        {"to": "+4512345678", "text": "...", "reference": "..."}
                        202 {"id": ..., "status": "accepted"}; the same reference again: 200
                        with the first answer, nothing sent twice; 400 with a reason for a bad
                        number or an empty text; 401 without the key
    GET  /v1/sms/<id>   {"id", "to", "status": "accepted" | "delivered" | "undeliverable", ...}
    GET  /messages      every message sent (the test and the developer's view)
    POST /mode          {"mode": "up" | "fail" | "slow", "seconds": 5}: fail answers 503 (the
                        gateway is down); slow takes the message and answers after `seconds`
                        (a sender may die meanwhile, as one does when a gateway hangs)

Messages are "delivered" one second after acceptance, except to the unused number range
+45 99 (never delivered: "undeliverable"). Nothing of Sundhed is imported.
"""

import argparse
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PHONE = re.compile(r"^\+\d{8,15}$")


class Gateway:
    def __init__(self, api_key: str):
        self.api_key = api_key
        self.lock = threading.Lock()
        self.messages: dict[str, dict] = {}
        self.by_reference: dict[str, str] = {}
        self.mode = "up"
        self.slow_seconds = 0.0

    def status(self, message: dict) -> dict:
        shown = dict(message)
        if time.time() - message["accepted_at"] >= 1.0:
            shown["status"] = "undeliverable" if message["to"].startswith("+4599") else "delivered"
        return shown


def handler(gateway: Gateway):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _json(self, status: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if self.headers.get("X-Api-Key") != gateway.api_key:
                self._json(401, {"error": "missing or wrong X-Api-Key"})
                return False
            return True

        def do_GET(self):
            if self.path == "/messages":
                with gateway.lock:
                    return self._json(200, [gateway.status(m) for m in gateway.messages.values()])
            if self.path.startswith("/v1/sms/"):
                if not self._authorised():
                    return None
                with gateway.lock:
                    found = gateway.messages.get(self.path.rsplit("/", 1)[1])
                if found is None:
                    return self._json(404, {"error": "no such message"})
                return self._json(200, gateway.status(found))
            return self._json(404, {"error": "not found"})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            try:
                data = json.loads(self.rfile.read(min(length, 65536)) or b"{}")
            except ValueError:
                return self._json(400, {"error": "the body is not JSON"})
            if self.path == "/mode":
                gateway.mode = data.get("mode", "up")
                gateway.slow_seconds = float(data.get("seconds", 5))
                return self._json(200, {"mode": gateway.mode})
            if self.path != "/v1/sms":
                return self._json(404, {"error": "not found"})
            if not self._authorised():
                return None
            if gateway.mode == "fail":
                return self._json(503, {"error": "the gateway is unavailable"})
            to, text = str(data.get("to", "")), str(data.get("text", ""))
            reference = str(data.get("reference", ""))[:100]
            if not PHONE.match(to):
                return self._json(400, {"error": f"'to' is not a phone number in E.164: {to!r}"})
            if not text.strip() or len(text) > 1600:
                return self._json(400, {"error": "'text' must be 1 to 1600 characters"})
            with gateway.lock:
                if reference and reference in gateway.by_reference:
                    known = gateway.messages[gateway.by_reference[reference]]
                    return self._json(
                        200, {"id": known["id"], "status": "accepted", "repeat": True}
                    )
                message: dict = {
                    "id": str(uuid.uuid4()), "to": to, "text": text, "reference": reference,
                    "status": "accepted", "accepted_at": time.time(),
                }  # fmt: skip
                gateway.messages[message["id"]] = message
                if reference:
                    gateway.by_reference[reference] = message["id"]
            if gateway.mode == "slow":
                time.sleep(gateway.slow_seconds)
            return self._json(202, {"id": message["id"], "status": "accepted"})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.smssim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25780)
    parser.add_argument("--api-key", default="demo-sms-key")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler(Gateway(args.api_key)))
    print(f"smssim: SMS gateway on http://{args.host}:{args.port}/v1/sms", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
