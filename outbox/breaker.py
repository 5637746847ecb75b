"""A circuit breaker in the shared cache (PostgreSQL), so every web and worker process stops
calling an outside system that keeps failing, and one probe finds out when it is back.

Closed: calls go through. After `failures` failures in a row it opens for `seconds`: no call.
Then it is half open: the first caller takes the probe (an atomic `cache.add`), everyone else
still waits; the probe's success closes it, its failure opens it again.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


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

    def succeeded(self) -> None:
        if cache.get(self._failures) or cache.get(self._open_until):
            self.reset()

    def reset(self) -> None:
        """Closed, with no failures counted."""
        cache.delete_many([self._failures, self._open_until, self._probe])
