"""Settings: safe by default, driven by the environment."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# The addresses of other systems, which production must name (no default outside development).
EXTERNAL_URLS = {
    "SITE_URL": "https://sundhed.example",
    "SUNDHED_PUBLIC_URL": "https://sundhed.example",
    "SUNDHED_FMK_URL": "https://fmk.example/fmk",
    "SUNDHED_SMS_URL": "https://sms.example/v1/sms",
    "SUNDHED_MITID_URL": "https://mitid.example",
}


def _import_settings(
    script="import sundhed.settings as s; print(s.DEBUG, s.SESSION_COOKIE_SECURE)", **overrides
) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process with this environment, outside development."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SUNDHED_ENV", "DEBUG")}
    env.update(EXTERNAL_URLS)
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-c", script],
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


def test_a_missing_external_address_is_a_start_up_error_naming_it_outside_development():
    for name in EXTERNAL_URLS:
        result = _import_settings(SECRET_KEY="x" * 50, **{name: ""})
        assert result.returncode != 0, name
        assert f"{name} must be set outside development" in result.stderr


def test_in_development_the_external_addresses_default_to_the_simulators():
    script = "import sundhed.settings as s; print(s.SUNDHED_FMK_URL, s.SUNDHED_SMS_URL)"
    empty = dict.fromkeys(EXTERNAL_URLS, "")
    result = _import_settings(script, SUNDHED_ENV="development", **empty)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "http://127.0.0.1:25760/fmk", "http://127.0.0.1:25780/v1/sms",
    ]  # fmt: skip


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


def test_check_deploy_with_production_settings_has_no_https_warnings():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SUNDHED_ENV", "DEBUG")}
    env.update(EXTERNAL_URLS)
    env.update(SECRET_KEY="k" * 64, ALLOWED_HOSTS="sundhed.example", BEHIND_PROXY="true")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning not in output, output


def test_behind_a_proxy_the_forwarded_address_counts_and_not_otherwise():
    script = (
        "import sundhed.settings as s; print(s.AXES_IPWARE_PROXY_COUNT, "
        "s.ALLAUTH_TRUSTED_PROXY_COUNT, s.AXES_IPWARE_META_PRECEDENCE_ORDER[0])"
    )
    plain = _import_settings(script, SECRET_KEY="k" * 64, BEHIND_PROXY="false")
    proxied = _import_settings(script, SECRET_KEY="k" * 64, BEHIND_PROXY="true")
    assert plain.stdout.split() == ["0", "0", "REMOTE_ADDR"]
    assert proxied.stdout.split() == ["1", "1", "HTTP_X_FORWARDED_FOR"]
