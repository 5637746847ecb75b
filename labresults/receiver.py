"""The MLLP receiver: one asyncio server, the database work in a few threads.

Each message is stored and committed before its ACK is written back (services), so an ACK
always means "safe with us"; what arrives on all connections at once is committed together.
Only registered senders are taken (by MSH-3/MSH-4 and the address they connect from, and their
client certificate over TLS); an idle connection is closed, and one address holds at most a few
connections at a time, so nobody can tie the receiver up.
"""

import asyncio
import functools
import logging
import ssl
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections

from labresults.hl7.mllp import Deframer, frame
from labresults.kinds import INBOUND
from labresults.models import InboundMessage
from labresults.services import Incoming, inbound_messages_receive
from outbox import engine, kinds

log = logging.getLogger(__name__)
_open_by_address: Counter = Counter()


def _receive_group(group: list[Incoming], on_stored=None) -> list[bytes | Exception]:
    """Store the group; should it fail as a whole, each message on its own, so that one
    message that cannot be stored never holds back the others' ACKs.

    The thread keeps its database connection between groups (a health check before every
    group cost a round trip each); after a failure a broken connection is dropped."""
    try:
        receipts = inbound_messages_receive(messages=group, on_stored=on_stored)
        return [receipt.ack for receipt in receipts]
    except Exception:  # noqa: BLE001 - tried again one by one, each failure its own
        close_old_connections()
        if len(group) == 1:
            raise
        log.exception("storing a group of %s MLLP messages failed; one by one", len(group))
        return [_receive_alone(incoming, on_stored) for incoming in group]


def _receive_alone(incoming: Incoming, on_stored=None) -> bytes | Exception:
    try:
        return inbound_messages_receive(messages=[incoming], on_stored=on_stored)[0].ack
    except Exception as error:  # noqa: BLE001 - this sender gets no ACK and sends again
        log.exception("storing an MLLP message failed")
        close_old_connections()
        return error


class GroupCommit:
    """Messages from every connection are stored in groups, one transaction per group.

    What arrives while earlier groups are being committed waits and forms the next group (group
    commit); SUNDHED_MLLP_STORE_THREADS groups may be stored at once, each on its own database
    connection, so one group is read while another waits for its commit. When fewer messages
    wait than open connections could send, it waits a moment (SUNDHED_MLLP_GROUP_WAIT_MS) for
    the others. Each connection still gets its ACK only after its message's row is committed.
    """

    MAX_GROUP = 500

    def __init__(self):
        threads = max(1, settings.SUNDHED_MLLP_STORE_THREADS)
        self.queue: asyncio.Queue = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mllp-store")
        self.slots = asyncio.Semaphore(threads)
        self.connections = 0
        self.storing = 0  # messages in groups being stored now
        self.tasks: set[asyncio.Task] = set()
        # Ids committed but not yet handed to a worker: gathered for up to
        # SUNDHED_MLLP_DISPATCH_EVERY_MS, then one task (which tops itself up with whatever
        # else waits) instead of one per group. The sweeper still finds what a crash left.
        self.stored: list[int] = []
        self.lock = threading.Lock()
        self.flush_armed = False
        self.loop: asyncio.AbstractEventLoop | None = None
        # Its own thread: a broker that hangs must not hold up storing and answering.
        self.dispatcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mllp-dispatch")

    def on_stored(self, ids: list[int]) -> None:
        """Called in a store thread after a group's commit."""
        with self.lock:
            self.stored.extend(ids)
            if self.flush_armed or self.loop is None:
                return
            self.flush_armed = True
        delay = settings.SUNDHED_MLLP_DISPATCH_EVERY_MS / 1000
        self.loop.call_soon_threadsafe(self.loop.call_later, delay, self._flush)

    def _flush(self) -> None:
        with self.lock:
            ids, self.stored, self.flush_armed = self.stored, [], False
        if ids:
            self.dispatcher.submit(engine.dispatch, kinds.get(INBOUND), ids)

    async def receive(self, incoming: Incoming) -> bytes:
        """Store one message with its group; its ACK once the group is committed."""
        answer = asyncio.get_running_loop().create_future()
        await self.queue.put((incoming, answer))
        return await answer

    async def run(self) -> None:
        loop = self.loop = asyncio.get_running_loop()
        while True:
            group = [await self.queue.get()]
            await self.slots.acquire()
            deadline = loop.time() + settings.SUNDHED_MLLP_GROUP_WAIT_MS / 1000
            while len(group) < self.MAX_GROUP:
                if not self.queue.empty():
                    group.append(self.queue.get_nowait())
                    continue
                left = deadline - loop.time()
                if len(group) >= self.connections - self.storing or left <= 0:
                    break
                try:
                    group.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            self.storing += len(group)
            task = asyncio.create_task(self._store(group))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _store(self, group: list) -> None:
        try:
            acks = await asyncio.get_running_loop().run_in_executor(
                self.executor,
                _receive_group,
                [incoming for incoming, _a in group],
                self.on_stored,
            )
        except Exception as error:  # noqa: BLE001 - nothing stored: no ACK, the sender resends
            log.exception("storing a group of %s MLLP messages failed", len(group))
            acks = [error] * len(group)
        finally:
            self.storing -= len(group)
            self.slots.release()
        for (_incoming, answer), ack in zip(group, acks, strict=True):
            if answer.done():
                continue
            if isinstance(ack, Exception):
                answer.set_exception(ConnectionError(f"not stored: {ack}"))
            else:
                answer.set_result(ack)


def _certificate_subject(writer) -> str | None:
    """The common name of the client's TLS certificate, when it showed one."""
    certificate = writer.get_extra_info("peercert")
    for rdn in (certificate or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return None


async def handle_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, store: GroupCommit
) -> None:
    """Read framed messages from one laboratory connection and answer each in order."""
    peer = writer.get_extra_info("peername")
    address = peer[0] if isinstance(peer, tuple) else None
    if _open_by_address[address] >= settings.SUNDHED_MLLP_MAX_CONNECTIONS_PER_ADDRESS:
        log.warning("MLLP connection from %s refused: too many open", address)
        writer.close()
        return
    _open_by_address[address] += 1
    store.connections += 1
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
                incoming = Incoming(
                    raw,
                    InboundMessage.Transport.MLLP,
                    address=address,
                    certificate_subject=subject,
                    check_sender=True,
                )
                ack = await store.receive(incoming)
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
        store.connections -= 1
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
    store = GroupCommit()
    committer = asyncio.create_task(store.run())
    server = await asyncio.start_server(
        functools.partial(handle_connection, store=store), host, port, ssl=context
    )
    log.info("MLLP receiver listening on %s:%s%s", host, port, " (TLS)" if context else "")
    if started is not None:
        started.set()
    try:
        async with server:
            await server.serve_forever()
    finally:
        committer.cancel()
        for task in list(store.tasks):
            task.cancel()
        store.executor.shutdown(wait=False)
        store.dispatcher.shutdown(wait=False)
