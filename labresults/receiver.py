"""The MLLP receiver: one asyncio server, the database work in threads.

Each message is stored and committed before its ACK is written back (services), so an ACK
always means "safe with us". Only registered senders are taken (by MSH-3/MSH-4 and the address
they connect from, and their client certificate over TLS); an idle connection is closed, and
one address holds at most a few connections at a time, so nobody can tie the receiver up.
"""

import asyncio
import logging
import ssl
from collections import Counter

from django.conf import settings
from django.db import close_old_connections

from labresults.hl7.mllp import Deframer, frame
from labresults.models import InboundMessage
from labresults.services import inbound_message_receive

log = logging.getLogger(__name__)
_open_by_address: Counter = Counter()


def _receive(raw: bytes, address: str | None, certificate_subject: str | None) -> bytes:
    close_old_connections()
    try:
        return inbound_message_receive(
            raw=raw,
            transport=InboundMessage.Transport.MLLP,
            address=address,
            certificate_subject=certificate_subject,
            check_sender=True,
        ).ack
    finally:
        close_old_connections()


def _certificate_subject(writer) -> str | None:
    """The common name of the client's TLS certificate, when it showed one."""
    certificate = writer.get_extra_info("peercert")
    for rdn in (certificate or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


async def handle_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read framed messages from one laboratory connection and answer each in order."""
    peer = writer.get_extra_info("peername")
    address = peer[0] if isinstance(peer, tuple) else None
    if _open_by_address[address] >= settings.SUNDHED_MLLP_MAX_CONNECTIONS_PER_ADDRESS:
        log.warning("MLLP connection from %s refused: too many open", address)
        writer.close()
        return
    _open_by_address[address] += 1
    subject = _certificate_subject(writer)
    deframer = Deframer()
    try:
        while True:
            data = await asyncio.wait_for(
                reader.read(65536), timeout=settings.SUNDHED_MLLP_IDLE_TIMEOUT
            )
            if not data:
                break
            for raw in deframer.feed(data):
                ack = await asyncio.to_thread(_receive, raw, address, subject)
                writer.write(frame(ack))
                await writer.drain()
    except TimeoutError:
        log.info(
            "MLLP connection from %s closed after %s s idle",
            peer,
            settings.SUNDHED_MLLP_IDLE_TIMEOUT,
        )
    except (ConnectionError, ValueError, ssl.SSLError) as error:
        log.warning("MLLP connection from %s ended: %s", peer, error)
    finally:
        _open_by_address[address] -= 1
        if _open_by_address[address] <= 0:
            del _open_by_address[address]
        writer.close()


def tls_context() -> ssl.SSLContext | None:
    """MLLP over TLS when a certificate is configured; with a CA, clients must show a
    certificate it signed (the sender registration may then name it)."""
    if not settings.SUNDHED_MLLP_TLS_CERT:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.SUNDHED_MLLP_TLS_CERT, settings.SUNDHED_MLLP_TLS_KEY or None)
    if settings.SUNDHED_MLLP_TLS_CLIENT_CA:
        context.load_verify_locations(settings.SUNDHED_MLLP_TLS_CLIENT_CA)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def serve(host: str, port: int, started: asyncio.Event | None = None) -> None:
    """Listen until cancelled."""
    context = tls_context()
    server = await asyncio.start_server(handle_connection, host, port, ssl=context)
    log.info("MLLP receiver listening on %s:%s%s", host, port, " (TLS)" if context else "")
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()
