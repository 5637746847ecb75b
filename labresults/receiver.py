"""The MLLP receiver: one asyncio server, the database work in threads.

Each message is stored and committed before its ACK is written back (services), so an ACK
always means "safe with us".
"""

import asyncio
import logging

from django.db import close_old_connections

from labresults.hl7.mllp import Deframer, frame
from labresults.models import InboundMessage
from labresults.services import inbound_message_receive

log = logging.getLogger(__name__)


def _receive(raw: bytes) -> bytes:
    close_old_connections()
    try:
        return inbound_message_receive(raw=raw, transport=InboundMessage.Transport.MLLP).ack
    finally:
        close_old_connections()


async def handle_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read framed messages from one laboratory connection and answer each in order."""
    peer = writer.get_extra_info("peername")
    deframer = Deframer()
    try:
        while data := await reader.read(65536):
            for raw in deframer.feed(data):
                ack = await asyncio.to_thread(_receive, raw)
                writer.write(frame(ack))
                await writer.drain()
    except (ConnectionError, ValueError) as error:
        log.warning("MLLP connection from %s ended: %s", peer, error)
    finally:
        writer.close()


async def serve(host: str, port: int, started: asyncio.Event | None = None) -> None:
    """Listen until cancelled."""
    server = await asyncio.start_server(handle_connection, host, port)
    log.info("MLLP receiver listening on %s:%s", host, port)
    if started is not None:
        started.set()
    async with server:
        await server.serve_forever()
