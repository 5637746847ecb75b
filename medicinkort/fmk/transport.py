"""The one module that moves bytes to and from FMK.

Here: SOAP 1.1 over plain HTTP to `SUNDHED_FMK_URL` (fmksim in development and tests). In
production this module is replaced by one that goes through the national service platform (NSP)
with an identity card issued by its STS and signed with the hospital's OCES3 certificate; the
requests, the reader and everything above stay as they are.

Timeouts on every call; retries with exponential backoff when FMK cannot be reached; a circuit
breaker (the outbox's, in the shared cache), so every web and worker process stops calling an
FMK that is down and tries again after a pause.
"""

import http.client
import logging
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from lxml import etree

from medicinkort.fmk.requests import BASE, MEDCOM, SOAP_ENV
from outbox.breaker import Breaker

log = logging.getLogger(__name__)
# No entities, no network, libxml2's own limits on size and depth kept.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
# The largest answer read (a card of hundreds of drug medications is well under 5 MB).
MAX_ANSWER_BYTES = 20 * 2**20
# Every process stops calling FMK for a while after repeated failures (outbox.breaker).
BREAKER = Breaker("fmk")


class FmkUnavailable(Exception):
    """FMK could not be reached or said it is down: try again later, nothing was changed."""


@dataclass
class FmkFault(Exception):
    """FMK refused the request (a SOAP fault): the same request will be refused again."""

    code: str
    text: str
    dgws: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"

    @property
    def version_conflict(self) -> bool:
        """The card changed since the version the write was based on."""
        return self.code == "MedicineCardVersionMismatch"


def breaker_open() -> bool:
    """FMK failed repeatedly just now: calls wait (one probe is let through when the pause is
    over)."""
    return BREAKER.is_open()


def _fault(root) -> FmkFault | None:
    body = root.find(f"{{{SOAP_ENV}}}Body")
    found = body.find(f"{{{SOAP_ENV}}}Fault") if body is not None else None
    if found is None:
        return None
    text = (found.findtext("faultstring") or "").strip()
    dgws = (found.findtext(f".//{{{MEDCOM}}}FaultCode") or "").strip()
    code = ""
    for pair in found.iter(f"{{{BASE}}}KeyValueSet"):
        if (pair.findtext(f"{{{BASE}}}Key") or "") == "ErrorCode":
            code = (pair.findtext(f"{{{BASE}}}Value") or "").strip()
    return FmkFault(code or dgws or "Fault", text, dgws)


def _connection():
    """FMK's address and a connection to it, with the timeout."""
    url = urllib.parse.urlsplit(settings.SUNDHED_FMK_URL)
    connection_class = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    return url, connection_class(url.hostname or "", url.port, timeout=settings.SUNDHED_FMK_TIMEOUT)


def _post_once(action: str, envelope: bytes) -> bytes:
    url, connection = _connection()
    try:
        connection.request(
            "POST",
            url.path or "/",
            body=envelope,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'},
        )
        response = connection.getresponse()
        payload = response.read(MAX_ANSWER_BYTES + 1)
        if len(payload) > MAX_ANSWER_BYTES:
            raise FmkUnavailable(f"FMK's answer is larger than {MAX_ANSWER_BYTES} bytes")
    except (OSError, http.client.HTTPException) as error:
        raise FmkUnavailable(f"FMK could not be reached: {error}") from error
    finally:
        connection.close()
    if response.status in (502, 503, 504):
        raise FmkUnavailable(f"FMK answered {response.status}")
    try:
        root = etree.fromstring(payload, _PARSER)
    except etree.XMLSyntaxError as error:
        raise FmkUnavailable(f"FMK answered {response.status} without SOAP: {error}") from error
    fault = _fault(root)
    if fault is not None:
        if fault.dgws == "processing_problem" and response.status >= 500 and not fault.code:
            raise FmkUnavailable(str(fault))
        raise fault
    if response.status != 200:
        raise FmkUnavailable(f"FMK answered {response.status}")
    return payload


def probe() -> None:
    """Whether FMK answers at all: its service description, which says nothing of anyone
    (the breaker's probe, outbox.breaker.probe_all). Raises FmkUnavailable when it does not."""
    url, connection = _connection()
    try:
        connection.request("GET", f"{url.path or '/'}?wsdl")
        response = connection.getresponse()
        response.read(MAX_ANSWER_BYTES)
    except (OSError, http.client.HTTPException) as error:
        raise FmkUnavailable(f"FMK could not be reached: {error}") from error
    finally:
        connection.close()
    if response.status != 200:
        raise FmkUnavailable(f"FMK answered {response.status}")


def call(action: str, envelope: bytes) -> etree._Element:
    """Send one request; return the answer's body element. Retries what may be retried (the
    message id in the envelope makes a retried write safe); raises FmkUnavailable or FmkFault.
    """
    if breaker_open():
        raise FmkUnavailable("FMK failed repeatedly just now; calls are paused for a moment")
    attempts = 1 + settings.SUNDHED_FMK_RETRIES
    for attempt in range(attempts):
        try:
            payload = _post_once(action, envelope)
        except FmkUnavailable as error:
            log.warning("FMK call %s failed (attempt %s of %s): %s", action, attempt + 1,
                        attempts, error)  # fmt: skip
            if attempt + 1 == attempts:
                BREAKER.failed()
                raise
            time.sleep(settings.SUNDHED_FMK_BACKOFF * 2**attempt)
            continue
        BREAKER.succeeded()
        root = etree.fromstring(payload, _PARSER)
        body = root.find(f"{{{SOAP_ENV}}}Body")
        answer = (
            next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
        )
        if answer is None:
            raise FmkUnavailable("FMK answered without a SOAP body")
        return answer
    raise AssertionError("unreachable")
