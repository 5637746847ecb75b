"""Settings for Sundhed, driven by environment variables.

Production is the default: DEBUG is off and a missing SECRET_KEY is an error. `make run` and
`make test` set the development values (see sundhed/devstack.py).
"""

import os
from pathlib import Path
from typing import overload

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...


def env(name: str, default: str | None = None) -> str | None:
    """Read a setting, or the contents of the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: str = "False") -> bool:
    """Read a boolean; anything but the usual spellings is an error, not a silent False."""
    value = (env(name, default) or "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str) -> int:
    """Read an integer or fail loudly."""
    value = env(name, default)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def envurl(name: str, development_default: str) -> str:
    """An address of another system: the simulator's in development; elsewhere it must be set,
    so a deployment that forgets one fails at start-up instead of quietly calling localhost."""
    value = env(name)
    if value:
        return value
    if DEVELOPMENT or DEBUG:
        return development_default
    raise ImproperlyConfigured(f"{name} must be set outside development")


def envlist(name: str, default: str = "") -> list[str]:
    """Read a comma-separated list."""
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


DEBUG = envbool("DEBUG")
# SUNDHED_ENV=development is set only by make run / make test; it unlocks development defaults.
DEVELOPMENT = env("SUNDHED_ENV", "production") == "development"
# Behind the hospital's reverse proxy (TLS ends there): trust its forwarded headers, and only then.
BEHIND_PROXY = envbool("BEHIND_PROXY")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not (DEVELOPMENT or DEBUG):
        raise ImproperlyConfigured("SECRET_KEY must be set outside development")
    SECRET_KEY = "development-only-insecure-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEVELOPMENT else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "sundhed.admin_site.SundhedAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
    "pgtrigger",
    "pghistory",
    "template_partials",
    "django_htmx",
    "csp",
    # Ours, from the bottom layer up (docs/architecture.md).
    "common",
    "accounts",
    "audit",
    "organisation",
    "patients",
    "outbox",
    "journal",
    "booking",
    "labresults",
    "medicinkort",
    "chart",
    "portal",
    "fhirfacade",
    "sundhed.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "sundhed.middleware.BodySizeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "sundhed.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside the session: a write's WAL position is kept in it (common/db_router.py).
    "common.db_router.ReplicaMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "sundhed.middleware.HistoryContextMiddleware",
    "sundhed.middleware.BadParameterMiddleware",
    # A citizen's session (MitID) stays inside the portal.
    "sundhed.middleware.CitizenBoundaryMiddleware",
    # Last, so that it sees the authenticated user and sits closest to the view.
    "axes.middleware.AxesMiddleware",
]

# `bench load --profile` only: cProfile per request, kept per route (bench/profiling.py).
if env("SUNDHED_PROFILE_DIR", ""):
    MIDDLEWARE.insert(0, "bench.profiling.ProfileMiddleware")

ROOT_URLCONF = "sundhed.urls"
WSGI_APPLICATION = "sundhed.wsgi.application"
ASGI_APPLICATION = "sundhed.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "sundhed.context_processors.staff",
            ],
        },
    },
]

# --- Database: PostgreSQL is the one database -------------------------------------------------
DATABASE_URL = env("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL must point at PostgreSQL (make run and make test start an embedded one)"
    )
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", "60"))
}
if not DATABASES["default"]["ENGINE"].endswith("postgresql"):
    raise ImproperlyConfigured("Sundhed runs on PostgreSQL only")
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env("TEST_DATABASE_NAME", None)
# A streaming replica for the read-only pages below (common/db_router.py, docs/scaling.md).
if env("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = dj_database_url.parse(
        env("DATABASE_REPLICA_URL", ""), conn_max_age=envint("DB_CONN_MAX_AGE", "60")
    )
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # A replica that does not answer must not hold a page up: the primary answers instead.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["common.db_router.ReplicaRouter"]
# Pages whose reads may come from the replica when it has the user's own latest writes.
SUNDHED_REPLICA_PAGES = [
    "chart:timeline",
    "labresults:trend",
    "patients:access_log",
    "portal:access_log",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sessions and the default cache live in PostgreSQL, so a Redis outage never stops sign-in.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "sundhed_cache",
    }
}

# --- Authentication -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
# Staff accounts are created by hospital IT, never by self sign-up.
ACCOUNT_ADAPTER = "accounts.adapters.StaffAccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = False
# Citizens sign in to the portal with MitID through an OpenID Connect broker (in development
# and the tests: simulators/mitidsim). Keyed on the broker's subject; the CPR number finds the
# record and is never kept (portal/signin.py).
SOCIALACCOUNT_ADAPTER = "portal.signin.CitizenAccountAdapter"
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_QUERY_EMAIL = False
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "OAUTH_PKCE_ENABLED": True,
        "APPS": [
            {
                "provider_id": "mitid",
                "name": "MitID",
                "client_id": env("SUNDHED_MITID_CLIENT_ID", "sundhed-portal"),
                "secret": env("SUNDHED_MITID_CLIENT_SECRET", "demo-mitid-secret"),
                "settings": {
                    "server_url": envurl("SUNDHED_MITID_URL", "http://127.0.0.1:25790"),
                    "fetch_userinfo": False,
                    "scope": ["openid", "mitid"],
                },
            }
        ],
    }
}
# Min Sundhedsplatform: how long the citizen's "who has looked" reaches back, and whether it
# names the staff (CJEU C-579/21 allows withholding their names; role, department and hospital
# are always shown).
SUNDHED_PORTAL_ACCESS_LOG_DAYS = envint("SUNDHED_PORTAL_ACCESS_LOG_DAYS", "730")
SUNDHED_PORTAL_SHOW_STAFF_NAMES = envbool("SUNDHED_PORTAL_SHOW_STAFF_NAMES")
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = False
MFA_TOTP_ISSUER = "Sundhed"
# Demo users in development may skip the second factor; off unless make run turns it on.
SUNDHED_MFA_OPTIONAL = envbool("SUNDHED_MFA_OPTIONAL")

# django-axes: lock out by user name AND address together, so one person's typos never lock
# out a whole ward behind one hospital NAT address.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "10")
# allauth's own limits count per address by default: a whole ward behind one hospital address
# would be stopped by one person's typos or by a shift change. Axes locks per user and address;
# allauth keeps only generous limits per address and a per-user one.
# Failures are also counted per address across all user names (password spraying): 300 in 15
# minutes is far above what a ward's typos reach and far below what a spray needs.
ACCOUNT_RATE_LIMITS = {
    "login": "600/m/ip",
    "login_failed": "30/5m/key,300/15m/ip",
    "reset_password": "60/m/ip,5/m/key",
}
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # its INFO lines on every sign-in drown the useful ones
# Behind the hospital's proxy the client's address is the one the proxy adds; without this, the
# proxy's own address would be everybody's, and anyone could lock out a chosen user.
AXES_IPWARE_PROXY_COUNT = envint("AXES_PROXY_COUNT", "1" if BEHIND_PROXY else "0")
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if BEHIND_PROXY else ["REMOTE_ADDR"]
)
ALLAUTH_TRUSTED_PROXY_COUNT = AXES_IPWARE_PROXY_COUNT

# --- Internationalisation: Danish first, English second ---------------------------------------
LANGUAGE_CODE = "da"
LANGUAGES = [("da", _("Danish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Europe/Copenhagen"
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / ".data" / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or DEVELOPMENT
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -----------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEVELOPMENT
CSRF_COOKIE_SECURE = not DEVELOPMENT
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", str(8 * 3600))  # one shift
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Production speaks HTTPS only: browsers are told to remember it (HSTS) and plain HTTP is
# redirected; the health checks that a load balancer or compose sends over HTTP are exempt.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False" if DEVELOPMENT else "True")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEVELOPMENT else "31536000")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "True")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- E-mail -------------------------------------------------------------------------------------
# Over SMTP always; `make run` starts an SMTP sink (simulators/smtpsink) on 25770 that keeps
# every message in .data/run/mail.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "127.0.0.1" if DEVELOPMENT else "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25770" if DEVELOPMENT else "25")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "10")
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Sundhed <noreply@sundhed.invalid>")

# --- Celery on Redis ------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL must point at Redis (make run starts an embedded one)")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", "300")
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 30
# Longer than any task, so a slow task is not handed to a second worker while it still runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Slow imaging work has a queue and a worker of its own, so a large or hostile DICOM file can
# never hold up the results, escalations and orders on the default queue.
# (The kind `labresults.dicomobject` sends its work to that queue: outbox/kinds.py.)

# --- REST framework -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}

# --- Logging: never a CPR number in clear ---------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_cpr": {"()": "common.logging.MaskCprFilter"},
        "request_id": {"()": "common.logging.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id", "mask_cpr"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # axes logs every sign-in at INFO; lockouts and failures stay visible at WARNING.
        "axes": {"level": "WARNING"},
    },
}

# --- Change history (django-pghistory) ---------------------------------------------------------
# History rows are never changed or removed: pghistory protects its event tables by trigger.
PGHISTORY_APPEND_ONLY = True

# --- Sundhed's own ------------------------------------------------------------------------------
# How long a care relation lasts after the last contact ends (docs/architecture.md: the gate).
SUNDHED_CARE_RELATION_GRACE_DAYS = envint("SUNDHED_CARE_RELATION_GRACE_DAYS", "30")
# Reminders: how long before an appointment (minutes; 2 days and 2 hours), the SMS gateway.
SUNDHED_REMINDER_OFFSETS = [
    int(v) for v in env("SUNDHED_REMINDER_OFFSETS", "2880,120").split(",") if v.strip()
]
SUNDHED_SMS_URL = envurl("SUNDHED_SMS_URL", "http://127.0.0.1:25780/v1/sms")
SUNDHED_SMS_API_KEY = env("SUNDHED_SMS_API_KEY", "demo-sms-key")
SUNDHED_SMS_TIMEOUT = float(env("SUNDHED_SMS_TIMEOUT", "5"))
# A message to a patient left "sending" this long (seconds) by a worker that died is looked at
# again by the sweeper.
SUNDHED_NOTIFICATION_STALE_AFTER = envint("SUNDHED_NOTIFICATION_STALE_AFTER", "300")
# How long a freed time offered from the waiting list waits for an answer (minutes), and the
# address the offer's link starts with.
SUNDHED_OFFER_VALID_MINUTES = envint("SUNDHED_OFFER_VALID_MINUTES", "120")
SUNDHED_PUBLIC_URL = envurl("SUNDHED_PUBLIC_URL", "http://127.0.0.1:8000")
# A booking relates its department to the patient from booking until this long after the visit.
SUNDHED_BOOKING_RELATION_DAYS = envint("SUNDHED_BOOKING_RELATION_DAYS", "30")
SUNDHED_BREAK_THE_GLASS_HOURS = envint("SUNDHED_BREAK_THE_GLASS_HOURS", "4")
# A stored laboratory message (or an order message) claimed this many seconds ago by a worker
# that stopped is taken back by the outbox's sweeper.
SUNDHED_LAB_SWEEP_AFTER = envint("SUNDHED_LAB_SWEEP_AFTER", "60")
# At most this many stored messages are filed together in one transaction by one task.
SUNDHED_LAB_BATCH_SIZE = envint("SUNDHED_LAB_BATCH_SIZE", "200")
# Where orders (ORM^O01) go over MLLP, host:port; empty: orders are not sent electronically.
# make run points it at labsim's order port.
SUNDHED_LAB_ORDER_ENDPOINT = env(
    "SUNDHED_LAB_ORDER_ENDPOINT", "127.0.0.1:25752" if DEVELOPMENT else ""
)
# A critical value nobody acknowledged escalates one level each this many minutes.
SUNDHED_CRITICAL_ESCALATION_MINUTES = envint("SUNDHED_CRITICAL_ESCALATION_MINUTES", "15")

# --- Durable work (outbox) ----------------------------------------------------------------------
# The one kill switch: off, nothing is handed to a worker after commit (tests work the rows
# themselves; in production the sweeper would still hand them over).
SUNDHED_OUTBOX_DISPATCH = envbool("SUNDHED_OUTBOX_DISPATCH", "true")
# How long a claim of a kind without a "stale after" of its own may last (seconds).
SUNDHED_OUTBOX_STALE_AFTER = envint("SUNDHED_OUTBOX_STALE_AFTER", "300")
# How often beat sweeps every kind (seconds).
SUNDHED_OUTBOX_SWEEP_INTERVAL = envint("SUNDHED_OUTBOX_SWEEP_INTERVAL", "30")

# --- Laboratory results ------------------------------------------------------------------------
# A DICOM file being read for this many seconds by a worker that stopped is read again (longer
# than the imaging worker's time limit), three times at most.
SUNDHED_IMAGING_STALE_AFTER = envint("SUNDHED_IMAGING_STALE_AFTER", "900")

# DICOM limits, checked before anything is decoded; a file over one fails with the reason and
# is never tried again.
SUNDHED_DICOM_MAX_UPLOAD_BYTES = envint("SUNDHED_DICOM_MAX_UPLOAD_BYTES", str(200 * 2**20))
# The largest request body a page takes (413 above it, before it is read): the portal a
# message with its five attachments of 10 MB, the staff's pages a set of DICOM files.
SUNDHED_PORTAL_MAX_BODY_BYTES = envint("SUNDHED_PORTAL_MAX_BODY_BYTES", str(52 * 2**20))
SUNDHED_MAX_BODY_BYTES = envint("SUNDHED_MAX_BODY_BYTES", str(1024 * 2**20))
SUNDHED_DICOM_MAX_INFLATED_BYTES = envint("SUNDHED_DICOM_MAX_INFLATED_BYTES", str(512 * 2**20))
SUNDHED_DICOM_MAX_PIXEL_BYTES = envint("SUNDHED_DICOM_MAX_PIXEL_BYTES", str(512 * 2**20))
SUNDHED_DICOM_MAX_FRAMES = envint("SUNDHED_DICOM_MAX_FRAMES", "3000")

# The MLLP receiver: only registered senders (labresults.MllpSender) are taken; optional TLS.
SUNDHED_MLLP_REQUIRE_REGISTERED = envbool("SUNDHED_MLLP_REQUIRE_REGISTERED", "True")
SUNDHED_MLLP_IDLE_TIMEOUT = envint("SUNDHED_MLLP_IDLE_TIMEOUT", "300")
SUNDHED_MLLP_MAX_CONNECTIONS_PER_ADDRESS = envint("SUNDHED_MLLP_MAX_CONNECTIONS_PER_ADDRESS", "16")
# Group commit: the receiver waits at most this many milliseconds for messages from other
# open connections, so that they are stored in one transaction (0: never wait).
SUNDHED_MLLP_GROUP_WAIT_MS = envint("SUNDHED_MLLP_GROUP_WAIT_MS", "2")
# The receiver hands what it stored to a worker at most this often (one task for many groups).
SUNDHED_MLLP_DISPATCH_EVERY_MS = envint("SUNDHED_MLLP_DISPATCH_EVERY_MS", "50")
# Groups stored at once, each in its own thread and database connection.
SUNDHED_MLLP_STORE_THREADS = envint("SUNDHED_MLLP_STORE_THREADS", "2")
SUNDHED_MLLP_TLS_CERT = env("SUNDHED_MLLP_TLS_CERT", "")
SUNDHED_MLLP_TLS_KEY = env("SUNDHED_MLLP_TLS_KEY", "")
SUNDHED_MLLP_TLS_CLIENT_CA = env("SUNDHED_MLLP_TLS_CLIENT_CA", "")

# --- Fælles Medicinkort (FMK) --------------------------------------------------------------------
# FMK's SOAP endpoint. make run and the tests point it at fmksim; production replaces the
# transport module (medicinkort/fmk/transport.py) with one through NSP.
SUNDHED_FMK_URL = envurl("SUNDHED_FMK_URL", "http://127.0.0.1:25760/fmk")
SUNDHED_FMK_TIMEOUT = float(env("SUNDHED_FMK_TIMEOUT", "10"))
# Retries of one call when FMK cannot be reached, with this backoff (seconds, doubling).
SUNDHED_FMK_RETRIES = envint("SUNDHED_FMK_RETRIES", "2")
SUNDHED_FMK_BACKOFF = float(env("SUNDHED_FMK_BACKOFF", "0.5"))
# After this many failed calls in a row every process stops calling FMK for this many seconds.
SUNDHED_FMK_BREAKER_FAILURES = envint("SUNDHED_FMK_BREAKER_FAILURES", "5")
SUNDHED_FMK_BREAKER_SECONDS = envint("SUNDHED_FMK_BREAKER_SECONDS", "10")
# An admission (a care course of kind admission opening) reads the patient's card from FMK.
SUNDHED_FMK_READ_ON_ADMISSION = envbool("SUNDHED_FMK_READ_ON_ADMISSION", "true")
# Opening the medication tab reads the card again when the last read is older than this.
SUNDHED_FMK_REFRESH_AFTER = envint("SUNDHED_FMK_REFRESH_AFTER", "60")
# An admitted patient's card is read again (beat, every 5 minutes) when older than this (s).
SUNDHED_FMK_ADMITTED_REFRESH = envint("SUNDHED_FMK_ADMITTED_REFRESH", "21600")
# A write FMK could not take is tried again after this many seconds, doubling up to 5 minutes.
SUNDHED_FMK_WRITE_RETRY_SECONDS = envint("SUNDHED_FMK_WRITE_RETRY_SECONDS", "10")
# Reads still pending, and writes left `sending` by a killed worker, after this many seconds are
# sent again by the sweepers.
SUNDHED_FMK_SWEEP_AFTER = envint("SUNDHED_FMK_SWEEP_AFTER", "60")
