"""Settings: safe by default, driven by the environment."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _import_settings(**overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SUNDHED_ENV", "DEBUG")}
    env.update(overrides)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sundhed.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_missing_secret_is_an_error_outside_development():
    result = _import_settings()
    assert result.returncode != 0
    assert "SECRET_KEY must be set outside development" in result.stderr


def test_production_defaults_are_safe():
    result = _import_settings(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


def test_a_malformed_boolean_is_an_error_not_false():
    result = _import_settings(SECRET_KEY="x" * 50, DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr


def test_danish_is_the_default_and_english_the_second_language():
    assert settings.LANGUAGE_CODE == "da"
    assert [code for code, _ in settings.LANGUAGES] == ["da", "en"]
    assert settings.TIME_ZONE == "Europe/Copenhagen"
    assert settings.USE_TZ


def test_sessions_and_cache_live_in_postgresql_not_redis():
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    assert settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
