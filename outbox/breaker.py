"""A circuit breaker in the shared cache (PostgreSQL), so every web and worker process stops
calling an outside system that keeps failing, and one probe finds out when it is back.

Closed: calls go through. After `failures` failures in a row it opens for `seconds`: no call.
Then it is half open: the first caller takes the probe (an atomic `cache.add`), everyone else
still waits; the probe's success closes it, its failure opens it again.

Nobody need wait for work to find out that the system is back: an app registers a probe for its
breaker (a cheap call that discloses nothing), and beat runs `probe_all` every few seconds; it
calls only breakers that opened, when they are half open. When a breaker closes after failures,
every recovery callback runs once (`recovery_register`): the engine makes the waiting work of
the breaker's kinds due at once, and an app may do more (medicinkort reads again the cards it
could not read).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)
# The probe of each breaker by name: raises when the outside system does not answer.
_probes: dict[str, Callable[[], None]] = {}
# Called with a breaker's name when it closes after failures.
_recovery: list[Callable[[str], object]] = []


def probe_register(name: str, probe: Callable[[], None]) -> None:
    """How to ask the system behind breaker `name` whether it answers (from an app's ready)."""
    _probes[name] = probe


def recovery_register(callback: Callable[[str], object]) -> None:
    """`callback(name)` runs when a breaker closes after failures (from an app's ready)."""
    if callback not in _recovery:
        _recovery.append(callback)


class Breaker:
    """The breaker of one outside system; its thresholds are settings named after it
    (`SUNDHED_<NAME>_BREAKER_FAILURES`, `SUNDHED_<NAME>_BREAKER_SECONDS`)."""

    def __init__(self, name: str):
        self.name = name
        self._failures = f"breaker:{name}:failures"
        self._open_until = f"breaker:{name}:open-until"
        self._probe = f"breaker:{name}:probe"

    @property
    def threshold(self) -> int:
        return int(getattr(settings, f"SUNDHED_{self.name.upper()}_BREAKER_FAILURES", 5))

    @property
    def seconds(self) -> float:
        return float(getattr(settings, f"SUNDHED_{self.name.upper()}_BREAKER_SECONDS", 30))

    def wait(self) -> float:
        """Seconds until a call may be made; 0 when it may be made now (the caller then holds
        the probe if the breaker was half open)."""
        open_until = cache.get(self._open_until) or 0
        now = time.time()
        if open_until > now:
            return open_until - now
        if not open_until:
            return 0.0
        # Half open: one probe at a time, for as long as one call may take.
        if cache.add(self._probe, 1, timeout=max(int(self.seconds), 5)):
            return 0.0
        return 1.0

    def is_open(self) -> bool:
        return self.wait() > 0

    def failed(self) -> None:
        failures = (cache.get(self._failures) or 0) + 1
        cache.set(self._failures, failures, timeout=3600)
        if failures >= self.threshold:
            cache.set(self._open_until, time.time() + self.seconds, timeout=3600)
            cache.delete(self._probe)

    def failing(self) -> bool:
        """Calls failed lately (open, half open, or closed with failures counted)."""
        return bool(cache.get(self._failures) or cache.get(self._open_until))

    def is_tripped(self) -> bool:
        """Opened after failures (open now, or half open): what the probe is for."""
        return bool(cache.get(self._open_until))

    def succeeded(self) -> None:
        """A call went through: closed, and after failures the recovery callbacks run, once
        (of two processes succeeding at the same moment, the one that claims the recovery)."""
        if self.failing():
            self.reset()
            if not cache.add(f"breaker:{self.name}:recovered", 1, timeout=10):
                return
            for callback in _recovery:
                try:
                    callback(self.name)
                except Exception:  # one callback's bug must not stop the others, nor the call
                    log.exception("recovery of %s: %r failed", self.name, callback)

    def reset(self) -> None:
        """Closed, with no failures counted."""
        cache.delete_many([self._failures, self._open_until, self._probe])


def probe_all() -> dict[str, str]:
    """Ask each tripped breaker's system whether it answers again, when the breaker lets a call
    through (half open); beat runs it every few seconds. Returns what each tripped breaker is
    now: "back", "down" or "open" (not probed yet)."""
    found = {}
    for name, probe in _probes.items():
        breaker = Breaker(name)
        if not breaker.is_tripped():
            continue  # closed (a few failures are the calls' own to retry)
        if breaker.wait() > 0:
            found[name] = "open"
            continue
        try:
            probe()
        except Exception as error:
            log.info("probe of %s: still down (%s)", name, error)
            breaker.failed()
            found[name] = "down"
        else:
            breaker.succeeded()
            found[name] = "back"
    return found
