"""Settings of the OCPP Certification Portal.

One file, driven by environment variables. The defaults run a development portal with
no services at all: SQLite under ``var/``, the in-memory channel layer, DEBUG on.
A deployment sets ``DATABASE_URL`` (PostgreSQL), ``REDIS_URL`` (channel layer shared by
several Daphne workers), ``SECRET_KEY``, ``DEBUG=false`` and ``ALLOWED_HOSTS``; see
docs/deploy.md.
"""

from __future__ import annotations

import datetime
import os
import urllib.parse
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config import eventloop
from config.proxy import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# Runtime state (SQLite file, uploaded files, rendered reports) lives outside the code tree.
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_tables2",
    "django_filters",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "chargers",
    "certification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A page that needed Redis while it is down: 503 saying so (chargers/channel_layer.py).
    "chargers.channel_layer.ChannelLayerOutageMiddleware",
    # Last: turns a login refused by axes into the 429 lockout page (chargers/throttle.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# DATABASE_URL=postgres://user:password@host:5432/name switches to PostgreSQL;
# DATABASE_URL=sqlite:////absolute/path.sqlite3 names another SQLite file. Unset: SQLite in
# var/portal.sqlite3. Every SQLite database, however it is named, gets the same settings.


def sqlite_database(database: dict[str, Any]) -> dict[str, Any]:
    """The portal's SQLite settings on ``database`` (a DATABASES entry of the sqlite3
    engine); options the entry already has win.

    Evidence is written by a background writer while pages read, and the FTP server writes
    from a process of its own: WAL lets readers and one writer proceed together;
    ``transaction_mode=IMMEDIATE`` takes the write lock when a transaction begins, so a
    writer waits its busy timeout for another's lock instead of failing at once with
    "database is locked" when a read transaction turns into a write; ``timeout`` is that
    wait in seconds (the evidence writer and the FTP upload retry after it)."""
    database["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 20),
        **database.get("OPTIONS", {}),
    }
    # Keep the connection: Channels closes old connections around every database call,
    # and reopening a WAL database each time (PRAGMAs, WAL checkpoint) cost a fifth of the
    # portal's time under load (bench/ocpp_ingest.py).
    database["CONN_MAX_AGE"] = None
    # A file (live-server tests share it with a Daphne subprocess), one per test process
    # so that two test sessions on one machine do not collide.
    database.setdefault("TEST", {})
    database["TEST"].setdefault("NAME", str(VAR_DIR / f"test-portal-{os.getpid()}.sqlite3"))
    return database


DATABASE_URL = env_str("DATABASE_URL", "")
DATABASES: dict[str, dict[str, Any]]
if DATABASE_URL:
    DATABASES = {
        "default": dict(
            dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "portal.sqlite3"),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    sqlite_database(DATABASES["default"])

# Point a process at another database of the same server (end-to-end tests start Daphne
# on the test database this way).
if env_str("DATABASE_NAME", ""):
    DATABASES["default"]["NAME"] = env_str("DATABASE_NAME", "")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channel layer --------------------------------------------------------------------
# REDIS_URL=redis://host:6379/0 shares commands and live updates between Daphne workers.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis, its keys qualified by the database: a restored copy of the
            # database never reaches the chargers of the original (chargers/channel_layer.py).
            "BACKEND": "chargers.channel_layer.PortalChannelLayer",
            "CONFIG": {
                # redis-py 8 defaults socket_timeout to 5 s, the same as channels_redis's
                # blocking pop: every consumer idle for 5 s would die with close code 1011.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "ocpp-portal"),
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Users ----------------------------------------------------------------------------
AUTH_USER_MODEL = "chargers.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Axes first: every authenticate() call, whatever the login path, passes its guard.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# Dates are never dd/mm nor mm/dd: ISO 8601 wherever a page does not format them itself
# (pages write moments with chargers.templatetags.timestamps: ISO 8601 with the zone).
DATE_FORMAT = SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = SHORT_DATETIME_FORMAT = "c"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
# Every asset is served by the portal itself (WhiteNoise): labs are often offline.
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------
# Production defaults are the strict ones; a lab without TLS can relax them explicitly.
# The addresses (or networks) of the reverse proxies whose X-Forwarded-For and
# X-Forwarded-Proto are believed (config/proxy.py); from any other peer the socket's
# address and scheme stand. Behind nginx on the same host: 127.0.0.1,::1.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from None
# The scheme comes from the ASGI scope, which config/proxy.py sets from a trusted proxy's
# X-Forwarded-Proto only: no header is believed here.
SECURE_PROXY_SSL_HEADER = None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 12 * 3600)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# Preloading is a promise to browsers that is slow to take back: only on request.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# check --deploy asks for preload (W021): off by choice, so not a warning.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
# The DEBUG error page masks the passwords inside DATABASE_URL, REDIS_URL and the like.
DEFAULT_EXCEPTION_REPORTER_FILTER = "chargers.error_reports.PortalExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "chargers.error_reports.PortalExceptionReporter"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles from the portal's own static
# files only, no inline script anywhere (the pages' JavaScript is in static/js), no
# plugins, no framing. data: images are for Swagger UI's icons. The console's websocket is
# same-origin ('self' covers ws: and wss: of the page's host).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Permissions-Policy (django-permissions-policy): the portal uses no powerful feature.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# --- Server ---------------------------------------------------------------------------
# The address operators reach the portal at: printed (and QR-coded) in every published
# report as the link that verifies it.
PORTAL_PUBLIC_URL = env_str("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000")
PORTAL_BIND = env_str("PORTAL_BIND", "127.0.0.1")
PORTAL_PORT = env_int("PORTAL_PORT", 8000)
# The TLS port `manage.py serve` listens on for chargers of security profiles 2 and 3
# (wss://), beside the plain one; 0 (the default) serves no TLS. chargers/ocpp/tls.py.
PORTAL_TLS_PORT = env_int("PORTAL_TLS_PORT", 0)
# Host names (or IP addresses) the lab's server certificates are issued for: the names
# chargers connect to. Default: the host of PORTAL_PUBLIC_URL, localhost and 127.0.0.1.
OCPP_TLS_HOST_NAMES = [
    name.strip() for name in env_str("OCPP_TLS_HOST_NAMES", "").split(",") if name.strip()
] or list(
    dict.fromkeys(
        [urllib.parse.urlsplit(PORTAL_PUBLIC_URL).hostname or "localhost", "localhost", "127.0.0.1"]
    )
)
# The CpoName (O of security profile 3 client certificates and of CSRs, whitepaper
# 4.1.3); empty: the organisation is not checked, only CN = chargePointId.
OCPP_CPO_NAME = env_str("OCPP_CPO_NAME", "")
# Seconds between websocket pings Daphne sends to idle chargers (some ignore pings).
OCPP_WS_PING_INTERVAL = env_int("OCPP_WS_PING_INTERVAL", 60)
OCPP_WS_PING_TIMEOUT = env_int("OCPP_WS_PING_TIMEOUT", 30)
# The event loop under Daphne's Twisted reactor, for `manage.py serve`: see config/eventloop.py.
PORTAL_EVENT_LOOP = eventloop.configured()

# --- Logging --------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "ocpp": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "data-table"}

# --- OCPP -----------------------------------------------------------------------------
# Seconds the portal waits for a charger's answer to a command.
OCPP_RESPONSE_TIMEOUT = env_int("OCPP_RESPONSE_TIMEOUT", 30)
# Seconds an injected fault waits for the worker holding the charger's socket to confirm it
# applied the fault; without that answer the fault is ended and the API answers 503.
OCPP_FAULT_ACK_TIMEOUT = float(os.environ.get("OCPP_FAULT_ACK_TIMEOUT", "5"))
# The lab's tolerance for timing checks (seconds), copied onto each new run; the OCA's
# compliance tool uses 4 s.
TIMING_TOLERANCE_S = float(os.environ.get("TIMING_TOLERANCE_S", "4"))
# Seconds a bench hook (docs/bench-hook.md) may take to perform one action.
BENCH_TIMEOUT = env_int("BENCH_TIMEOUT", 30)
# The largest frame (one websocket message, bytes of UTF-8) the portal takes from a charger.
# A larger one is stored cut short as refused evidence and the connection is closed with
# 1009 (Message Too Big). OCPP 1.6 messages are a few kilobytes; a GetConfiguration answer
# with every key or a long MeterValues stays well under the default.
OCPP_MAX_FRAME_BYTES = env_int("OCPP_MAX_FRAME_BYTES", 64 * 1024)
if OCPP_MAX_FRAME_BYTES < 1024:
    raise ImproperlyConfigured("OCPP_MAX_FRAME_BYTES must be at least 1024")
# What Daphne itself lets through (`manage.py serve`): enough above the portal's limit
# that an oversized frame reaches the portal and is recorded; a message beyond this is cut
# off by Daphne with 1009 before the portal sees it (the close is still recorded).
OCPP_TRANSPORT_MAX_BYTES = max(4 * OCPP_MAX_FRAME_BYTES, 1024 * 1024)

# The most rows one page or API answer holds (?per_page= on pages, ?limit= in the API).
MAX_PAGE_SIZE = env_int("MAX_PAGE_SIZE", 500)

# --- Automation API -------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Tokens hashed at rest, expiring, revocable (django-rest-knox; chargers/api_tokens.py).
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "chargers.pagination.PortalPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["chargers.filters.VisibleFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # DRF's, plus a JSON 503 when Redis is unreachable (chargers/channel_layer.py).
    "EXCEPTION_HANDLER": "chargers.channel_layer.api_exception_handler",
}
# Hours an API token lives (chargers/api_tokens.py).
API_TOKEN_HOURS = env_int("API_TOKEN_HOURS", 30 * 24)
if API_TOKEN_HOURS < 1:
    raise ImproperlyConfigured("API_TOKEN_HOURS must be at least 1")
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=API_TOKEN_HOURS),
    "AUTO_REFRESH": False,
    # A script that logs in on every run must not pile up live tokens.
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OCPP Certification Portal API",
    "DESCRIPTION": (
        "Automate certification runs: start and finish steps, send OCPP commands to the "
        "charger under test, read the evidence and the report. Token or session auth."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for the API's users: behind login, like the API.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "VerdictEnum": "certification.models.Verdict",
        "TlsFaultKindEnum": "chargers.models.TlsFault.Kind",
        "InjectedFaultKindEnum": "chargers.models.InjectedFault.Kind",
    },
    # Swagger UI from the portal's own static files, not a CDN: labs are often offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- File transfers (firmware downloads, diagnostics uploads) -------------------------
TRANSFER_LINK_HOURS = env_int("TRANSFER_LINK_HOURS", 24)
TRANSFER_MAX_UPLOAD_BYTES = env_int("TRANSFER_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
TRANSFER_MAX_IMAGE_BYTES = env_int("TRANSFER_MAX_IMAGE_BYTES", 512 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# The FTP server `manage.py serve` starts beside Daphne (0 disables it).
FTP_PORT = env_int("FTP_PORT", 2121)
FTP_BIND = env_str("FTP_BIND", PORTAL_BIND)
FTP_PASSIVE_PORTS = env_str("FTP_PASSIVE_PORTS", "60000-60099")
# The host name chargers use to reach the FTP server (defaults to PORTAL_PUBLIC_URL's).
FTP_PUBLIC_HOST = env_str("FTP_PUBLIC_HOST", "")

# --- Throttling -----------------------------------------------------------------------
# Refused websocket handshakes (wrong key, unknown identity, ...) of one chargePointId from
# one client address within the window, after which further handshakes of that identity
# from that address are refused before the key is even checked, until the window passes
# the last of those refusals. Never per identity alone: anyone could lock a charger out.
OCPP_THROTTLE_FAILURES = env_int("OCPP_THROTTLE_FAILURES", 10)
# The same for one remote address (any identity), set higher: a lab's chargers often
# share one NAT address, and one misconfigured charger must not lock out the others.
# 0 disables either limit.
OCPP_THROTTLE_ADDRESS_FAILURES = env_int("OCPP_THROTTLE_ADDRESS_FAILURES", 100)
OCPP_THROTTLE_WINDOW = env_int("OCPP_THROTTLE_WINDOW", 300)
# Failed logins of one username from one client address, and of one client address
# whatever the username, within the window after which every login path (the portal's
# form, /admin/login/, the API login) refuses without checking the password. Counted by
# django-axes in the database, so all Daphne workers share the counts (chargers/throttle.py).
LOGIN_THROTTLE_FAILURES = env_int("LOGIN_THROTTLE_FAILURES", 10)
LOGIN_THROTTLE_ADDRESS_FAILURES = env_int("LOGIN_THROTTLE_ADDRESS_FAILURES", 50)
LOGIN_THROTTLE_WINDOW = env_int("LOGIN_THROTTLE_WINDOW", 300)
if LOGIN_THROTTLE_FAILURES < 1 or LOGIN_THROTTLE_WINDOW < 1:
    raise ImproperlyConfigured("LOGIN_THROTTLE_FAILURES and LOGIN_THROTTLE_WINDOW must be >= 1")
AXES_HANDLER = "chargers.throttle.LoginFailureHandler"
AXES_FAILURE_LIMIT = "chargers.throttle.failure_limit"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = "chargers.throttle.window"
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A success must not wipe the address's failures: a guesser with an account of their own
# would log in between guesses.
AXES_RESET_ON_SUCCESS = False
AXES_USERNAME_CALLABLE = "chargers.throttle.username_of"
AXES_CLIENT_IP_CALLABLE = "chargers.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "chargers.throttle.locked_out"
AXES_VERBOSE = False
