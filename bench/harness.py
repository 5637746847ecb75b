"""The moving parts of an ingest run, as real processes: Redis, the MLLP receiver, Celery
workers and beat, and an MLLP load generator. Used by `bench/ingest.py` and by the reliability
test, which kill and restart them."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sundhed.devstack import ROOT, free_port, redis_binary, wait_for_port

START, END = b"\x0b", b"\x1c\x0d"
# The receiver keys messages by MSH-3@MSH-4.
APPLICATION, FACILITY = "BENCHLAB", "KBA"
SENDER = f"{APPLICATION}@{FACILITY}"


def sender_register() -> None:
    """Register the load generator as an MLLP sender from this machine (the receiver takes
    only registered senders). Needs a database connection."""
    from labresults.models import MllpSender

    MllpSender.objects.get_or_create(
        application=APPLICATION,
        facility=FACILITY,
        defaults={"name": "bench load generator", "allowed_addresses": "127.0.0.1"},
    )


# Ten common analyses with plausible values: about ten results per message, as the goal says.
PANEL = [
    ("NPU03429", "P-Natrium", "mmol/L", 140),
    ("NPU03230", "P-Kalium", "mmol/L", 4.0),
    ("NPU18016", "P-Kreatinin", "umol/L", 80),
    ("NPU02319", "B-Hæmoglobin", "mmol/L", 8.5),
    ("NPU19748", "P-C-reaktivt protein", "mg/L", 5),
    ("NPU02593", "B-Leukocytter", "10^9/L", 7.0),
    ("NPU03568", "B-Trombocytter", "10^9/L", 250),
    ("NPU22089", "P-Glukose", "mmol/L", 6.0),
    ("NPU19651", "P-Alanintransaminase", "U/L", 30),
    ("NPU19673", "P-Albumin", "g/L", 40),
]


def oru(cpr: str, *, control_id: str, filler: str, analyses: int = 10, shift: int = 0) -> bytes:
    """An ORU^R01 with `analyses` results; `shift` changes the values (a correction)."""
    when = time.strftime("%Y%m%d%H%M%S")
    segments = [
        f"MSH|^~\\&|{APPLICATION}|{FACILITY}|SUNDHED|RH|{when}||ORU^R01|{control_id}|P|2.5.1",
        f"PID|1||{cpr}^^^CPR^CPR||",
        f"OBR|1|P{filler}|{filler}|PAKKE^Benchmark|||{when}|||||||||||||||{when}|||F",
    ]
    for set_id, (code, name, unit, value) in enumerate(PANEL[:analyses], start=1):
        shown = round(value * (1 + ((set_id + shift) % 7 - 3) / 50), 2)
        segments.append(f"OBX|{set_id}|NM|{code}^{name}^NPU||{shown}|{unit}|||||F")
    return ("\r".join(segments) + "\r").encode("latin-1")


def _ack_code(frame: bytes) -> str:
    text = frame.decode("latin-1")
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1]
    return "??"


@dataclass
class SendResult:
    """What the load generator saw: acks by code and the seconds it took."""

    acks: dict = field(default_factory=dict)
    seconds: float = 0.0
    errors: list = field(default_factory=list)


def send_all(
    port: int,
    messages: list[bytes],
    *,
    connections: int = 4,
    rate: float = 0.0,
    on_sent=None,
) -> SendResult:
    """Send messages over `connections` MLLP connections; each waits for its ACK (MLLP is
    request-response). `rate` (messages/s in all) paces the sending; 0 is as fast as possible.
    A connection that breaks is reopened and the message sent again (as a laboratory would).

    One asyncio loop drives all connections: the load generator shares the machine with what
    it measures, and threads spent more CPU than the receiver did."""
    # In a thread of its own: the caller's thread may already run an event loop (Playwright's,
    # in a test session that also drives a browser).
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = asyncio.run(_send_all(port, messages, connections, rate, on_sent))
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="mllp-load")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


async def _send_all(port, messages, connections, rate, on_sent) -> SendResult:
    result = SendResult()
    loop = asyncio.get_running_loop()
    started = loop.time()
    counter = iter(range(len(messages)))

    async def exchange(conn, message: bytes) -> str:
        reader, writer = conn
        writer.write(START + message + END)
        await writer.drain()
        frame = await asyncio.wait_for(reader.readuntil(END), 30)
        return _ack_code(frame[frame.find(START) + 1 : -len(END)])

    async def connection() -> None:
        conn = None
        for index in counter:
            if rate > 0:
                delay = started + index / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            code = "lost"
            for _attempt in range(30):
                try:
                    if conn is None:
                        conn = await asyncio.wait_for(
                            asyncio.open_connection("127.0.0.1", port, limit=1 << 20), 30
                        )
                    code = await exchange(conn, messages[index])
                    break
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
                    if conn is not None:
                        conn[1].close()
                    conn = None
                    result.errors.append(str(error) or type(error).__name__)
                    await asyncio.sleep(0.2)
            result.acks[code] = result.acks.get(code, 0) + 1
            if on_sent is not None:
                on_sent(index)
        if conn is not None:
            conn[1].close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    result.seconds = loop.time() - started
    return result


def ingest_through_crashes(
    processes: "Processes",
    messages: list[bytes],
    *,
    rate: float,
    connections: int = 4,
    worker_name: str = "chaos",
) -> tuple[SendResult, list[str]]:
    """Send the messages to a receiver, worker, beat and Redis of `processes` (all started
    here) while the worker is killed with SIGKILL (after a quarter is sent) and started again,
    and Redis is killed and started again empty (after three fifths): what a crash does. Used by
    the reliability test and by bench/ingest with ten times the messages."""
    events: list[str] = []
    redis, redis_port = processes.redis()
    _receiver, port = processes.receiver()
    worker = processes.worker(f"{worker_name}-1")
    processes.beat()
    sent_count = {"n": 0}
    total = len(messages)

    def chaos():
        nonlocal worker, redis
        while sent_count["n"] < total // 4:
            time.sleep(0.05)
        Processes.kill(worker)  # SIGKILL to the worker and its pool
        events.append(f"worker killed after {sent_count['n']} sent")
        worker = processes.worker(f"{worker_name}-2")
        while sent_count["n"] < total * 3 // 5:
            time.sleep(0.05)
        Processes.kill(redis)
        events.append(f"redis killed after {sent_count['n']} sent")
        time.sleep(1.0)
        redis, _port = processes.redis(port=redis_port)
        events.append("redis restarted (empty: its queue is lost)")

    def counted(_index):
        sent_count["n"] += 1

    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    sent = send_all(port, messages, connections=connections, rate=rate, on_sent=counted)
    chaos_thread.join(timeout=300)
    return sent, events


class Processes:
    """Start and stop the ingest processes with one environment; each in its own group."""

    def __init__(self, env: dict, log_dir: Path):
        self.env = dict(env)
        self.log_dir = log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        self.running: list[subprocess.Popen] = []

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = (self.log_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running.append(process)
        return process

    def redis(self, port: int | None = None) -> tuple[subprocess.Popen, int]:
        """A Redis of our own that we may kill; nothing kept on disk (like a crash)."""
        port = port or free_port()
        process = self._start(
            "redis",
            [
                str(redis_binary()),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
                "--dir",
                str(self.log_dir),
            ],
        )
        wait_for_port(port, process=process, what="Redis")
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        return process, port

    def receiver(self) -> tuple[subprocess.Popen, int]:
        port = free_port()
        process = self._start(
            "mllp", [sys.executable, "manage.py", "mllp_receiver", "--port", str(port)]
        )
        wait_for_port(port, process=process, what="the MLLP receiver", timeout=60)
        return process, port

    def worker(self, name: str, concurrency: int = 2) -> subprocess.Popen:
        return self._start(
            name,
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sundhed",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@bench",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
        )

    def fmksim(self) -> tuple[subprocess.Popen, int, int]:
        """fmksim on free ports; SUNDHED_FMK_URL of the processes started after it points at it."""
        port, control = free_port(), free_port()
        process = self._start(
            "fmksim",
            [sys.executable, "-m", "simulators.fmksim", "--port", str(port),
             "--control-port", str(control)],
        )  # fmt: skip
        wait_for_port(control, process=process, what="fmksim", timeout=60)
        self.env["SUNDHED_FMK_URL"] = f"http://127.0.0.1:{port}/fmk"
        return process, port, control

    def gunicorn(self, port: int, *, workers: int, worker_class: str, threads: int):
        """Sundhed's web tier as `docker-compose.yml` runs it, on loopback."""
        process = self._start(
            f"gunicorn-{port}",
            [sys.executable, "-m", "gunicorn", "sundhed.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "30",
             "--worker-class", worker_class, "--threads", str(threads)],
        )  # fmt: skip
        wait_for_port(port, process=process, what="gunicorn", timeout=60)
        return process

    def beat(self) -> subprocess.Popen:
        return self._start(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sundhed",
                "beat",
                "--loglevel",
                "WARNING",
                "--schedule",
                str(self.log_dir / "celerybeat-schedule"),
            ],
        )

    @staticmethod
    def kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
        """Kill the process and its children (a worker's pool), as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)

    def stop_all(self) -> None:
        for process in reversed(self.running):
            if process.poll() is None:
                self.kill(process, signal.SIGTERM)


def peak_memory_kib(pid: int) -> int:
    """The largest peak resident size (VmHWM) of a process and its children, in KiB."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peak = 0
    for each in pids:
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak


def _ticks(pid: int, *, exited_children: bool = False) -> int:
    """utime + stime; with `exited_children` also cutime + cstime, the CPU of children that
    ended and were reaped (PostgreSQL's backends, counted in the postmaster's)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(f) for f in fields[11 : 15 if exited_children else 13])


def cpu_seconds(pid: int, *, children: bool = True) -> float:
    """CPU seconds used so far by a process and, with `children`, its living children (a
    worker's pool)."""
    pids = [pid]
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    if children and listed.exists():
        pids += [int(p) for p in listed.read_text().split()]
    return sum(_ticks(p) for p in pids) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores, /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def processes_cpu(*, exited_children: bool = False) -> dict[int, tuple[str, float]]:
    """Every process's name (its command line, shortened) and CPU seconds so far (with
    `exited_children`, its ended children's too)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # PostgreSQL rewrites its processes' titles, and may cut them short ("po"): name
            # them by their program.
            if (
                not line.startswith("postgres")
                and os.path.basename(os.readlink(entry / "exe")) == "postgres"
            ):
                line = "postgres: " + line
            ticks = _ticks(int(entry.name), exited_children=exited_children)
            found[int(entry.name)] = (line.strip()[:80], ticks / tick)
        except OSError:
            continue
    return found


def cpu_by_kind(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds spent between two `processes_cpu` snapshots, by kind of process."""
    kinds: dict[str, float] = {}
    for pid, (line, seconds) in after.items():
        spent = seconds - before.get(pid, (line, 0.0))[1]
        if spent <= 0:
            continue
        if line.startswith("postgres:"):
            kind = "postgres " + (line.split()[1] if "sundhed" not in line else "backends")
        elif "postgres" in line.split(" ")[0]:
            kind = "postgres postmaster"
        elif "redis-server" in line:
            kind = "redis"
        else:
            kind = line.split(" ")[0].rsplit("/", 1)[-1] or "kernel threads"
        kinds[kind] = kinds.get(kind, 0.0) + spent
    return {k: round(v, 2) for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])}
