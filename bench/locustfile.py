"""A ward's morning, as locust users: each user is one clinician of the bench ward.

Started by `bench/load.py` (never on its own): it writes the clinicians, their TOTP secrets and
the ward's patients to the file named by SUNDHED_LOAD_PLAN, and points every user at one of the
web instances listed there. A user signs in with password and second factor once, then works
through the day with think times: the work list, a search by CPR, a chart and its tabs, a trend,
a note typed with autosaves and signed, a result acknowledged, vital signs, the medication tab
and a follow-up. The sign-in page is fetched in the same run as the yardstick.
"""

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time

from locust import HttpUser, between, task

with open(os.environ["SUNDHED_LOAD_PLAN"], encoding="utf-8") as planned:
    PLAN = json.load(planned)
CLINICIANS = itertools.count()
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
INBOX_ITEM = re.compile(r"/lab/inbox/([0-9a-f-]{36})/acknowledge/")
THINK = [float(s) for s in os.environ.get("SUNDHED_LOAD_THINK", "2,8").split(",")]
NOTE_ID = re.compile(r"/journal/notes/([0-9a-f-]{36})/")


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code of this moment (30 s steps, 6 digits, SHA-1), as an authenticator app
    shows it."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((at or time.time()) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


class Clinician(HttpUser):
    """One clinician of the ward; the host comes from the plan (instances round robin)."""

    host = PLAN["hosts"][0]
    wait_time = between(*THINK)

    def on_start(self):
        number = next(CLINICIANS)
        me = PLAN["clinicians"][number % len(PLAN["clinicians"])]
        self.client.base_url = PLAN["hosts"][number % len(PLAN["hosts"])]
        self.patients = PLAN["patients"]
        page = self.client.get("/accounts/login/", name="sign-in page")
        answer = self.client.post(
            "/accounts/login/",
            {
                "login": me["username"],
                "password": PLAN["password"],
                "csrfmiddlewaretoken": _token(page),
            },  # fmt: skip
            name="sign in: password",
            allow_redirects=False,
        )
        second = self.client.get(answer.headers.get("Location", "/accounts/2fa/authenticate/"),
                                 name="sign in: second factor page")  # fmt: skip
        # A code is good once: wait for a fresh step if this clinician signed in this step.
        self.client.post(
            "/accounts/2fa/authenticate/",
            {"code": totp(me["totp_secret"]), "csrfmiddlewaretoken": _token(second)},
            name="sign in: second factor",
        )
        self.csrf = self.client.cookies.get("csrftoken", "")

    def _patient(self):
        return random.choice(self.patients)

    def _post(self, url, data, name, **kwargs):
        headers = {"X-CSRFToken": self.csrf, "Referer": self.client.base_url + "/"}
        return self.client.post(url, data, headers=headers, name=name, **kwargs)

    @task(4)
    def sign_in_page(self):
        """The yardstick: the sign-in page, measured in the same run (a session that is signed
        in is sent on from it, so it is fetched without cookies)."""
        self.client.get("/accounts/login/", name="sign-in page", cookies={"sessionid": ""})

    @task(6)
    def worklist(self):
        self.client.get("/chart/worklist/", name="work list")

    @task(2)
    def search(self):
        patient = self._patient()
        self.client.get(f"/patients/search/?q={patient['cpr']}", name="search by CPR")

    @task(8)
    def chart(self):
        patient = self._patient()["id"]
        self.client.get(f"/chart/{patient}/", name="chart overview")
        self.wait()
        self.client.get(f"/chart/{patient}/timeline/", name="timeline")
        self.wait()
        self.client.get(f"/lab/{patient}/results/", name="results tab")
        self.client.get(f"/lab/{patient}/results/NPU03429/", name="trend")

    @task(2)
    def note(self):
        """A progress note typed with autosaves every few seconds, then signed."""
        patient = self._patient()["id"]
        made = self._post(
            f"/journal/{patient}/notes/new/", {"note_type": "continuation"}, "note: new",
            allow_redirects=False,
        )  # fmt: skip
        found = NOTE_ID.search(made.headers.get("Location", ""))
        if not found:
            return
        note = found.group(1)
        text = "Stuegang. Patienten har det bedre, afebril, spiser og drikker."
        for part in range(1, 4):
            time.sleep(random.uniform(2, 4))
            self._post(
                f"/journal/notes/{note}/autosave/", {"text": text[: part * 20]}, "note: autosave"
            )
        self._post(f"/journal/notes/{note}/autosave/", {"text": text}, "note: autosave")
        self._post(f"/journal/notes/{note}/sign/", {}, "note: sign")

    @task(2)
    def acknowledge(self):
        inbox = self.client.get("/lab/inbox/", name="results inbox")
        items = INBOX_ITEM.findall(inbox.text)
        if items:
            self.wait()
            self._post(f"/lab/inbox/{random.choice(items)}/acknowledge/", {}, "acknowledge")

    @task(2)
    def vital_signs(self):
        patient = self._patient()["id"]
        self.client.get(f"/journal/{patient}/vitals/", name="vital signs")
        self._post(
            f"/journal/{patient}/vitals/",
            {"respiration_rate": 16, "spo2": 97, "systolic": 128, "diastolic": 78,
             "pulse": 72, "consciousness": "A", "temperature": "37,1"},
            "vital signs: save",
        )  # fmt: skip

    @task(2)
    def medication(self):
        self.client.get(f"/medication/{self._patient()['id']}/", name="medication tab")

    @task(1)
    def follow_up(self):
        self.client.get(f"/booking/{self._patient()['id']}/follow-up/", name="follow-up")


def _token(response) -> str:
    found = TOKEN.search(response.text or "")
    return found.group(1) if found else ""
