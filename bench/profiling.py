"""Where a page's time goes under load: cProfile on every request of a gunicorn worker, kept per
route, written when the worker ends; `summary` sorts the time into what the issue asks about.

Only on when SUNDHED_PROFILE_DIR is set (`bench load --profile`): the settings then put this
middleware first. Nothing of it runs in production.
"""

import atexit
import cProfile
import os
import pstats
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRAPPERS = {"__call__", "wrapped", "inner", "_view_wrapper", "get_response"}

# What a request's time is spent on, each by the functions whose cumulative time it is.
# (label, file part, function name); the first match of a call counts.
PARTS = [
    ("the access event (audit insert)", "patients/access/events.py", "disclosure_record"),
    ("the gate's decision", "patients/access/policy.py", "access_decide"),
    ("the session (load and save)", "django/contrib/sessions/backends/db.py", "load"),
    ("the session (load and save)", "django/contrib/sessions/backends/db.py", "save"),
    ("the user and staff look-up", "django/contrib/auth/__init__.py", "get_user"),
    ("the second factor check", "patients/access/http.py", "second_factor_redirect"),
    ("template rendering", "django/template/response.py", "render"),
    ("template rendering", "django/shortcuts.py", "render"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "execute"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "executemany"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "fetchall"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "fetchone"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "fetchmany"),
    ("SQL (all queries, wherever made)", "psycopg/cursor.py", "__iter__"),
    (
        "the view with its decorators (all above but the session and user)",
        "django/core/handlers/base.py",
        "_get_response",
    ),
]


class ProfileMiddleware:
    """Profile each request; one cProfile per route (by URL name), dumped at the worker's exit."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.folder = Path(os.environ["SUNDHED_PROFILE_DIR"])
        self.folder.mkdir(parents=True, exist_ok=True)
        self.profiles: dict[str, cProfile.Profile] = {}
        self.counts: dict[str, int] = {}
        atexit.register(self.dump)

    def __call__(self, request):
        from django.urls import Resolver404, resolve

        try:
            name = resolve(request.path_info).view_name or "other"
        except Resolver404:
            name = "not found"
        profile = self.profiles.setdefault(name, cProfile.Profile())
        self.counts[name] = self.counts.get(name, 0) + 1
        profile.enable()
        try:
            return self.get_response(request)
        finally:
            profile.disable()
            # Written every 100 requests too: a worker stopped by a signal may skip atexit.
            if sum(self.counts.values()) % 100 == 0:
                self.dump()

    def dump(self) -> None:
        for name, profile in self.profiles.items():
            safe = name.replace(":", "_").replace("/", "_")
            base = self.folder / f"{safe}.{os.getpid()}"
            profile.dump_stats(f"{base}.prof")
            Path(f"{base}.count").write_text(str(self.counts[name]))


def summary(folder: Path, routes: dict[str, str]) -> dict:
    """Per route: requests, seconds per request, and the share of each part of the time."""
    found = {}
    for route, label in routes.items():
        safe = route.replace(":", "_")
        files = sorted(folder.glob(f"{safe}.*.prof"))
        if not files:
            continue
        stats = pstats.Stats(str(files[0]))
        for more in files[1:]:
            stats.add(str(more))
        requests = sum(int(f.with_suffix(".count").read_text()) for f in files)
        table = stats.stats  # type: ignore[attr-defined]
        total = stats.total_tt  # type: ignore[attr-defined]  # all the profiled time
        parts: dict[str, float] = {}
        for part, file_part, function in PARTS:
            parts[part] = parts.get(part, 0.0) + _cumulative(table, file_part, function)
        # Our own functions by cumulative time, without the middleware and gate wrappers.
        top = sorted(
            ((value[3], f"{Path(key[0]).parent.name}/{Path(key[0]).name}:{key[2]}")
             for key, value in table.items()
             if "site-packages" not in key[0] and key[0].startswith(str(ROOT))
             and key[2] not in WRAPPERS and "bench/" not in key[0]),
            reverse=True,
        )[:8]  # fmt: skip
        found[label] = {
            "requests": requests,
            "ms_per_request": round(total * 1000 / max(requests, 1), 1),
            "share": {k: round(v / total, 3) if total else 0 for k, v in parts.items()},
            "our_functions_ms": [(name, round(t * 1000 / requests, 1)) for t, name in top],
        }
    return found


def _cumulative(table, file_part: str, function: str) -> float:
    return sum(
        value[3]
        for (filename, _line, name), value in table.items()
        if name == function and filename.endswith(file_part)
    )
