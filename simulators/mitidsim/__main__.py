"""mitidsim: MitID through an OpenID Connect broker, as a citizen's sign-in reaches a Danish
public self-service, for `make run` and the tests.

OpenID Connect Core 1.0, authorization code flow with PKCE (RFC 7636, S256 only):

    GET  /.well-known/openid-configuration   discovery
    GET  /jwks                                the signing key (RS256, made at start)
    GET  /authorize                           the sign-in page: choose a test citizen (or type a
                                              CPR number) and the level of assurance
    POST /authorize                           signs in, redirects with ?code&state
    POST /token                               code + code_verifier -> id_token, access_token
    GET  /userinfo                            the claims, for the bearer of the access token
    POST /citizens                            [{"cpr", "name"}]: test citizens to list (tests)

The client is registered on the command line (id, secret, redirect URIs). The claims follow the
broker's names: `sub` is a UUID per citizen, stable for one subject key (`--subject-key-file`,
else a new key each run) and not to be worked back to the CPR number without it; the CPR
number is in
`https://data.gov.dk/model/core/eid/cprNumber`, the level of assurance in
`https://data.gov.dk/concept/core/nsis/loa` (Low, Substantial or High). Codes are single use
and live 60 seconds. Nothing of Sundhed is imported.
"""

import argparse
import base64
import hashlib
import hmac
import html
import json
import os
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CPR_CLAIM = "https://data.gov.dk/model/core/eid/cprNumber"
NAME_CLAIM = "https://data.gov.dk/model/core/eid/fullName"
LOA_CLAIM = "https://data.gov.dk/concept/core/nsis/loa"
LEVELS = {"Low": "Lav", "Substantial": "Betydelig", "High": "Høj"}
# Public test persons (FMK's test environment), so `make run` has citizens to sign in as.
TEST_CITIZENS = [
    {"cpr": "1111111118", "name": "Helle Bonde"},
    {"cpr": "0410009234", "name": "Sofie Bach"},
    {"cpr": "1011649927", "name": "Karl Pedersen"},
    {"cpr": "1004219992", "name": "Bente Ireland Svendsen"},
]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Broker:
    def __init__(self, *, issuer, client_id, client_secret, redirect_uris, subject_key=None):
        self.issuer = issuer.rstrip("/")
        # A keyed hash makes each citizen's subject: nobody can compute a CPR number's subject
        # (or test a guessed number against one) without the key.
        self.subject_key = subject_key or secrets.token_bytes(32)
        self.client_id, self.client_secret = client_id, client_secret
        self.redirect_uris = redirect_uris
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)
        self.lock = threading.Lock()
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}
        self.citizens = list(TEST_CITIZENS)

    def redirect_allowed(self, uri: str) -> bool:
        return any(
            uri == allowed or (allowed.endswith("*") and uri.startswith(allowed[:-1]))
            for allowed in self.redirect_uris
        )

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()

        def as_b64(n: int) -> str:
            return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

        return {
            "keys": [{
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": as_b64(numbers.n), "e": as_b64(numbers.e),
            }]
        }  # fmt: skip

    def sign(self, claims: dict) -> str:
        header = {"alg": "RS256", "typ": "JWT", "kid": self.kid}
        parts = [b64url(json.dumps(part).encode()) for part in (header, claims)]
        signing_input = ".".join(parts)
        signature = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(signature)}"

    def subject(self, cpr: str) -> str:
        digest = hmac.new(self.subject_key, cpr.encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def claims(self, cpr: str, name: str, loa: str) -> dict:
        return {
            "sub": self.subject(cpr),
            CPR_CLAIM: cpr,
            NAME_CLAIM: name,
            "name": name,
            LOA_CLAIM: loa,
        }


def handler(broker: Broker):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers=()) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, body) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _error(self, status: int, error: str, description: str) -> None:
            self._json(status, {"error": error, "error_description": description})

        def _page(self, status: int, title: str, body: str) -> None:
            page = (
                '<!doctype html><html lang="da"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<title>{html.escape(title)}</title></head><body style="font-family:sans-serif;'
                f'max-width:30rem;margin:2rem auto;padding:0 1rem"><h1>{html.escape(title)}</h1>'
                f"{body}</body></html>"
            )
            self._send(status, page.encode(), "text/html; charset=utf-8")

        def _form(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(min(length, 65536)).decode(errors="replace")
            if self.headers.get("Content-Type", "").startswith("application/json"):
                return json.loads(raw or "{}")
            return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

        def do_GET(self):
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            if url.path == "/.well-known/openid-configuration":
                return self._json(200, {
                    "issuer": broker.issuer,
                    "authorization_endpoint": f"{broker.issuer}/authorize",
                    "token_endpoint": f"{broker.issuer}/token",
                    "userinfo_endpoint": f"{broker.issuer}/userinfo",
                    "jwks_uri": f"{broker.issuer}/jwks",
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code"],
                    "subject_types_supported": ["pairwise"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": ["openid", "profile", "mitid"],
                    "token_endpoint_auth_methods_supported": [
                        "client_secret_basic", "client_secret_post",
                    ],
                    "claims_supported": ["sub", "name", CPR_CLAIM, NAME_CLAIM, LOA_CLAIM],
                })  # fmt: skip
            if url.path == "/jwks":
                return self._json(200, broker.jwks())
            if url.path == "/authorize":
                return self._authorize_page(query)
            if url.path == "/userinfo":
                token = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                with broker.lock:
                    found = broker.tokens.get(token)
                if not found or found["expires"] < time.time():
                    return self._error(401, "invalid_token", "unknown or expired access token")
                return self._json(200, found["claims"])
            return self._json(404, {"error": "not found"})

        def _check(self, params: dict) -> str | None:
            """What is wrong with an authorization request, or None."""
            if params.get("client_id") != broker.client_id:
                return "unknown client_id"
            if not broker.redirect_allowed(params.get("redirect_uri", "")):
                return "redirect_uri is not registered for this client"
            if params.get("response_type") != "code":
                return "response_type must be code"
            if "openid" not in params.get("scope", "").split():
                return "scope must include openid"
            if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
                return "PKCE is required: code_challenge with code_challenge_method S256"
            return None

        def _authorize_page(self, params: dict) -> None:
            problem = self._check(params)
            if problem:
                return self._page(400, "Fejl i anmodningen", f"<p>{html.escape(problem)}</p>")
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            with broker.lock:
                citizens = list(broker.citizens)
            choices = "".join(
                f'<p><label><input type="radio" name="cpr" value="{html.escape(c["cpr"])}"'
                f"{' checked' if i == 0 else ''}> {html.escape(c['name'])} "
                f"({html.escape(c['cpr'][:6])}-{html.escape(c['cpr'][6:])})</label></p>"
                for i, c in enumerate(citizens)
            )
            levels = "".join(
                f'<option value="{k}"{" selected" if k == "Substantial" else ""}>{v}</option>'
                for k, v in LEVELS.items()
            )
            self._page(
                200,
                "MitID (simulator)",
                '<form method="post" action="/authorize">'
                f"{hidden}<fieldset><legend>Testborger</legend>{choices}"
                '<p><label><input type="radio" name="cpr" value=""> Andet CPR-nummer: '
                '<input name="other_cpr" inputmode="numeric" maxlength="11"></label></p>'
                "</fieldset>"
                f'<p><label>Sikringsniveau <select name="loa">{levels}</select></label></p>'
                '<p><button type="submit" name="action" value="approve">Log på</button> '
                '<button type="submit" name="action" value="cancel">Afbryd</button></p></form>',
            )

        def do_POST(self):
            url = urlsplit(self.path)
            if url.path == "/citizens":
                data = self._form()
                given: list[dict] = data if isinstance(data, list) else []
                added = [
                    {"cpr": str(c["cpr"]), "name": str(c.get("name", ""))}
                    for c in given
                    if re.fullmatch(r"\d{10}", str(c.get("cpr", "")))
                ]
                with broker.lock:
                    known = {c["cpr"] for c in broker.citizens}
                    broker.citizens += [c for c in added if c["cpr"] not in known]
                return self._json(200, {"citizens": len(broker.citizens)})
            if url.path == "/authorize":
                return self._approve(self._form())
            if url.path == "/token":
                return self._token(self._form())
            return self._json(404, {"error": "not found"})

        def _approve(self, form: dict) -> None:
            problem = self._check(form)
            if problem:
                return self._page(400, "Fejl i anmodningen", f"<p>{html.escape(problem)}</p>")
            back = form["redirect_uri"] + ("&" if "?" in form["redirect_uri"] else "?")
            state = {"state": form["state"]} if form.get("state") else {}
            if form.get("action") == "cancel":
                query = urlencode({"error": "access_denied", **state})
                return self._send(302, b"", "text/plain", [("Location", back + query)])
            cpr = re.sub(r"\D", "", form.get("cpr") or form.get("other_cpr", ""))
            if not re.fullmatch(r"\d{10}", cpr):
                return self._page(400, "Ukendt CPR-nummer", "<p>Skriv ti cifre.</p>")
            loa = form.get("loa", "Substantial")
            if loa not in LEVELS:
                return self._page(400, "Ukendt sikringsniveau", "<p>Low, Substantial, High.</p>")
            with broker.lock:
                name = next((c["name"] for c in broker.citizens if c["cpr"] == cpr), "Testborger")
                code = secrets.token_urlsafe(24)
                broker.codes[code] = {
                    "client_id": form["client_id"], "redirect_uri": form["redirect_uri"],
                    "challenge": form["code_challenge"], "nonce": form.get("nonce", ""),
                    "claims": broker.claims(cpr, name, loa), "expires": time.time() + 60,
                }  # fmt: skip
            query = urlencode({"code": code, **state})
            self._send(302, b"", "text/plain", [("Location", back + query)])

        def _client(self, form: dict) -> bool:
            authorization = self.headers.get("Authorization", "")
            if authorization.startswith("Basic "):
                try:
                    raw = base64.b64decode(authorization[6:]).decode()
                except ValueError:
                    return False
                client_id, _, secret = raw.partition(":")
                from urllib.parse import unquote

                client_id, secret = unquote(client_id), unquote(secret)
            else:
                client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            return client_id == broker.client_id and secrets.compare_digest(
                secret, broker.client_secret
            )

        def _token(self, form: dict) -> None:
            if not self._client(form):
                return self._error(401, "invalid_client", "wrong client id or secret")
            if form.get("grant_type") != "authorization_code":
                return self._error(400, "unsupported_grant_type", "authorization_code only")
            with broker.lock:
                grant = broker.codes.pop(form.get("code", ""), None)  # single use
            if grant is None or grant["expires"] < time.time():
                return self._error(400, "invalid_grant", "unknown, used or expired code")
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return self._error(400, "invalid_grant", "redirect_uri differs from the request")
            verifier = form.get("code_verifier", "")
            if b64url(hashlib.sha256(verifier.encode()).digest()) != grant["challenge"]:
                return self._error(400, "invalid_grant", "code_verifier does not match (PKCE)")
            now = int(time.time())
            id_token = broker.sign({
                "iss": broker.issuer, "aud": grant["client_id"], "iat": now, "exp": now + 300,
                "auth_time": now, **({"nonce": grant["nonce"]} if grant["nonce"] else {}),
                **grant["claims"],
            })  # fmt: skip
            access_token = secrets.token_urlsafe(24)
            with broker.lock:
                broker.tokens[access_token] = {"claims": grant["claims"], "expires": now + 300}
            self._json(200, {
                "access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token, "scope": "openid",
            })  # fmt: skip

    return Handler


def subject_key(path: str | None) -> bytes | None:
    """The subject key kept in this file, made (readable by its owner only) when there is none."""
    if not path:
        return None
    if not os.path.exists(path):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_hex(32))
    with open(path, encoding="ascii") as kept:
        key = bytes.fromhex(kept.read().strip())
    if len(key) < 16:
        raise SystemExit(f"mitidsim: the subject key in {path} is empty or too short")
    return key


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.mitidsim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25790)
    parser.add_argument("--client-id", default="sundhed-portal")
    parser.add_argument("--client-secret", default="demo-mitid-secret")
    parser.add_argument(
        "--redirect-uri", action="append",
        help="a registered redirect URI (repeatable; a trailing * allows any continuation)",
    )  # fmt: skip
    parser.add_argument(
        "--citizens-file", help="more test citizens, a 'CPR;name' line each (read if it exists)"
    )
    parser.add_argument(
        "--subject-key-file",
        help="the key the subjects are made with, kept here (made at the first start)",
    )
    args = parser.parse_args()
    issuer = f"http://{args.host}:{args.port}"
    broker = Broker(
        issuer=issuer, client_id=args.client_id, client_secret=args.client_secret,
        redirect_uris=args.redirect_uri or ["http://127.0.0.1:8000/accounts/oidc/mitid/login/callback/"],
        subject_key=subject_key(args.subject_key_file),
    )  # fmt: skip
    if args.citizens_file and os.path.exists(args.citizens_file):
        with open(args.citizens_file, encoding="utf-8") as lines:
            for line in lines:
                cpr, _, name = line.strip().partition(";")
                if re.fullmatch(r"\d{10}", cpr) and cpr not in {c["cpr"] for c in broker.citizens}:
                    broker.citizens.insert(0, {"cpr": cpr, "name": name or "Testborger"})
    server = ThreadingHTTPServer((args.host, args.port), handler(broker))
    print(f"mitidsim: OpenID Connect broker (MitID) on {issuer}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
