"""The MitID simulator as its own process, and a citizen's sign-in through it as a browser
would do it: Sundhed redirects to the broker, the citizen chooses, the broker redirects back
with a code, Sundhed exchanges it (with the PKCE verifier) over HTTP."""

import json
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import _free_port, _started

MITIDSIM_PORT = _free_port()
MITID_URL = f"http://127.0.0.1:{MITIDSIM_PORT}"


@pytest.fixture(scope="session")
def mitidsim(tmp_path_factory):
    def ready():
        try:
            urllib.request.urlopen(f"{MITID_URL}/.well-known/openid-configuration", timeout=1)
            return True
        except OSError:
            return False

    process = _started(
        [sys.executable, "-m", "simulators.mitidsim", "--port", str(MITIDSIM_PORT),
         "--redirect-uri", "http://testserver/accounts/oidc/mitid/login/callback/",
         "--redirect-uri", "http://localhost:*"],
        tmp_path_factory.mktemp("mitidsim") / "mitidsim.log", ready, "mitidsim",
    )  # fmt: skip
    yield MITID_URL
    process.terminate()
    process.wait(10)


@pytest.fixture
def mitid(mitidsim, settings):
    """Sundhed's MitID app pointed at the simulator."""
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [{
                "provider_id": "mitid", "name": "MitID", "client_id": "sundhed-portal",
                "secret": "demo-mitid-secret",
                "settings": {"server_url": mitidsim, "fetch_userinfo": False},
            }],
        }
    }  # fmt: skip
    return mitidsim


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def mitid_sign_in(
    client, cpr: str, *, loa: str = "Substantial", next_url: str = "/portal/", process: str = ""
):
    """Sign the Django test client in as the citizen with this CPR; returns the response of
    Sundhed's callback (a redirect into the portal, or a refusal page). `process` asks allauth
    for another process than signing in ("connect")."""
    extra = f"&process={process}" if process else ""
    start = client.post(f"/accounts/oidc/mitid/login/?next={next_url}{extra}")
    assert start.status_code == 302, start.content[:500]
    authorize = urlsplit(start["Location"])
    params = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert params["code_challenge_method"] == "S256"  # PKCE
    form = {**params, "cpr": cpr, "loa": loa, "action": "approve"}
    request = urllib.request.Request(
        f"{authorize.scheme}://{authorize.netloc}/authorize",
        data="&".join(
            f"{k}={urllib.request.quote(str(v), safe='')}" for k, v in form.items()
        ).encode(),
        method="POST",
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(request, timeout=10)
        raise AssertionError("the broker did not redirect back")
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.read()[:500]
        back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


def add_citizens(mitid_url: str, citizens: list[dict]) -> None:
    request = urllib.request.Request(
        f"{mitid_url}/citizens", data=json.dumps(citizens).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    urllib.request.urlopen(request, timeout=5).read()
