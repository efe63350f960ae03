"""petitiondesk settings: one module, configured only through the environment.

Read by every process (web, worker, CLI, tests). See docs/operations.md for each variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default).strip() or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


DATA_DIR = Path(env_str("PETITIONDESK_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The secret key from the environment, else one generated into the data dir on first run."""
    from_env = os.environ.get("PETITIONDESK_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("PETITIONDESK_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in env_str("PETITIONDESK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]

TIME_ZONE = env_str("PETITIONDESK_TIME_ZONE", "Asia/Shanghai")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError) as exc:
    raise ImproperlyConfigured(f"PETITIONDESK_TIME_ZONE {TIME_ZONE!r} is not a known zone") from exc
USE_TZ = True

PETITIONDESK_PROFILE = env_str("PETITIONDESK_PROFILE", "national_2022")
# How long a process trusts its in-memory copy of the working-day calendar.
PETITIONDESK_CALENDAR_TTL_SECONDS = env_int("PETITIONDESK_CALENDAR_TTL_SECONDS", 30)
# How long a process trusts a looked-up API token (revocation delay) and the org lookups of intake.
PETITIONDESK_TOKEN_CACHE_SECONDS = env_int("PETITIONDESK_TOKEN_CACHE_SECONDS", 10)
PETITIONDESK_ORG_CACHE_SECONDS = env_int("PETITIONDESK_ORG_CACHE_SECONDS", 30)
# Repeat-petitioner keys (routing/identity.py); empty: derived from SECRET_KEY.
PETITIONDESK_IDENTITY_KEY = env_str("PETITIONDESK_IDENTITY_KEY", "")
# The near-duplicate index (routing/similarity.py): where its copy is saved, and how often.
PETITIONDESK_INDEX_DIR = Path(env_str("PETITIONDESK_INDEX_DIR", str(DATA_DIR / "index")))
PETITIONDESK_INDEX_SAVE_SECONDS = env_int("PETITIONDESK_INDEX_SAVE_SECONDS", 300)
# The dashboard's map (analytics/boundaries.py): a GeoJSON file of division boundaries the
# deployment holds offline; empty: no map, the divisions are a ranked bar chart only.
PETITIONDESK_DIVISION_BOUNDARIES = env_str("PETITIONDESK_DIVISION_BOUNDARIES", "")
PETITIONDESK_SWEEP_INTERVAL_SECONDS = env_int("PETITIONDESK_SWEEP_INTERVAL_SECONDS", 60)
# Petitioner tracking: failed guesses allowed per window, per IP and per tracking number.
PETITIONDESK_TRACK_MAX_FAILURES = env_int("PETITIONDESK_TRACK_MAX_FAILURES", 10)
PETITIONDESK_TRACK_WINDOW_SECONDS = env_int("PETITIONDESK_TRACK_WINDOW_SECONDS", 900)
# Public submissions (no token or session) allowed per address per window; 0 turns the limit off.
PETITIONDESK_PUBLIC_SUBMIT_MAX = env_int("PETITIONDESK_PUBLIC_SUBMIT_MAX", 30)
PETITIONDESK_PUBLIC_SUBMIT_WINDOW_SECONDS = env_int(
    "PETITIONDESK_PUBLIC_SUBMIT_WINDOW_SECONDS", 600
)
# Public support of suggestions: code requests allowed per address and per network (/24 IPv4,
# /48 IPv6) per window; 0 turns a limit off.
PETITIONDESK_SUPPORT_IP_MAX = env_int("PETITIONDESK_SUPPORT_IP_MAX", 10)
PETITIONDESK_SUPPORT_NETWORK_MAX = env_int("PETITIONDESK_SUPPORT_NETWORK_MAX", 50)
PETITIONDESK_SUPPORT_WINDOW_SECONDS = env_int("PETITIONDESK_SUPPORT_WINDOW_SECONDS", 600)

INSTALLED_APPS = [
    # The admin site asks for the second factor (security.md); it replaces django.contrib.admin.
    "petitiondesk.accounts.apps.SecureAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",  # serves Swagger UI from its own static files, never a CDN
    "django_tasks",
    "django_tasks_db",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "petitiondesk.core",
    "petitiondesk.accounts",
    "petitiondesk.calendar",
    "petitiondesk.cases",
    "petitiondesk.supervision",
    "petitiondesk.reference",
    "petitiondesk.open311",
    "petitiondesk.mail",
    "petitiondesk.notices",
    "petitiondesk.suggestions",
    "petitiondesk.routing",
    "petitiondesk.analytics",
    "petitiondesk.web",
]

MIDDLEWARE = [
    # Outermost: times every request and counts every response (/metrics).
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # The request id is set before anything logs (docs/deploy.md "Logs").
    "petitiondesk.core.logging.RequestIdMiddleware",
    # A database that does not answer or a full upload volume: 503/507, never a 500.
    "petitiondesk.core.unavailable.ServiceUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Inside the session middleware, so its "modified" mark is seen when the response goes out.
    "petitiondesk.core.sessions.SessionTouchMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "petitiondesk.core.idempotency.ApiRequestMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes requires: it answers locked-out logins.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First, so that a locked-out account is refused before its password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
# Messages live in the server-side session: one of them carries a petitioner's access key once.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DEFAULT_SQLITE_PATH = DATA_DIR / "petitiondesk.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}",
        conn_max_age=env_int("PETITIONDESK_CONN_MAX_AGE", 60),
        # Off by default (as in Django): a check costs a round trip on every request; with it off,
        # a connection broken by a database restart fails one request, which the client retries.
        conn_health_checks=env_bool("PETITIONDESK_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at BEGIN so
    # concurrent writers queue on the busy timeout instead of failing on a lock upgrade;
    # synchronous=FULL makes every acknowledged petition survive a power loss.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if env_bool("PETITIONDESK_TESTING", False) else 60
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
    }

# Analytics reads from a read replica when one is configured (docs/deploy.md).
PETITIONDESK_REPLICA_URL = env_str("PETITIONDESK_REPLICA_URL", "")
if PETITIONDESK_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        PETITIONDESK_REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=DATABASES["default"]["CONN_HEALTH_CHECKS"],
    )
    # Tests read the replica's rows from the primary's test database.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["petitiondesk.core.dbrouter.AnalyticsReplicaRouter"]
# The same backends, counting connections, queries and their duration for /metrics: opt-in, as
# the wrapper costs about 0.1 ms a query on the intake path (docs/deploy.md).
PETITIONDESK_METRICS_DB = env_bool("PETITIONDESK_METRICS_DB", False)
for _db in DATABASES.values() if PETITIONDESK_METRICS_DB else ():
    if _db["ENGINE"].startswith("django.db.backends."):
        _db["ENGINE"] = _db["ENGINE"].replace(
            "django.db.backends.", "django_prometheus.db.backends."
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    # A database cache so that rate limits hold across processes without another server.
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "petitiondesk_cache",
    }
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
    }
}

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- accounts, sessions and the browser (docs/security.md) ---
# Sessions end after this long without a request (idle timeout), default 8 hours.
SESSION_COOKIE_AGE = env_int("PETITIONDESK_SESSION_IDLE_SECONDS", 8 * 3600)
# Idle expiry: SessionTouchMiddleware moves the expiry forward every 5 minutes of use (instead of
# SESSION_SAVE_EVERY_REQUEST, which rewrites the session row on every page view).
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Roles that must pass a TOTP second factor to use a browser session ("all" for every staff role).
PETITIONDESK_OTP_ROLES = [
    r.strip() for r in env_str("PETITIONDESK_OTP_ROLES", "supervisor,admin").split(",") if r.strip()
]
OTP_TOTP_ISSUER = env_str("PETITIONDESK_OTP_ISSUER", "petitiondesk")
# Login lockout (django-axes): this many failures for one username from one address lock it for
# PETITIONDESK_LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("PETITIONDESK_LOGIN_MAX_FAILURES", 5)
PETITIONDESK_LOGIN_LOCKOUT_MINUTES = env_int("PETITIONDESK_LOGIN_LOCKOUT_MINUTES", 30)
AXES_COOLOFF_TIME = PETITIONDESK_LOGIN_LOCKOUT_MINUTES / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "petitiondesk.accounts.views.locked_out"
AXES_VERBOSE = False

# Production: behind HTTPS (docs/security.md). Off for the local `make run`.
PETITIONDESK_HTTPS = env_bool("PETITIONDESK_HTTPS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PETITIONDESK_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("PETITIONDESK_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("PETITIONDESK_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("PETITIONDESK_BEHIND_PROXY", False):
        # The reverse proxy terminates TLS and says so in this header (never trust it otherwise).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Load balancers and Prometheus probe the app directly over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
# Origins (https://host) allowed to POST forms when the proxy does not pass the Host header on.
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in env_str("PETITIONDESK_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]
# A strict Content-Security-Policy: no inline script or style, nothing from other origins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "petitiondesk" / "locale"]

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# Request bodies beyond this are refused with 413 (see docs/api.md "Limits").
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PETITIONDESK_MAX_BODY_BYTES", 1_048_576)
# Attachments (security.md "Uploads"): per file, per case, and where they are kept (never under
# STATIC_ROOT or MEDIA_ROOT: they are served only through an access-checked view).
PETITIONDESK_UPLOAD_MAX_BYTES = env_int("PETITIONDESK_UPLOAD_MAX_BYTES", 10 * 1_048_576)
PETITIONDESK_UPLOAD_MAX_FILES = env_int("PETITIONDESK_UPLOAD_MAX_FILES", 10)
PETITIONDESK_UPLOAD_DIR = Path(
    env_str("PETITIONDESK_UPLOAD_DIR", str(DATA_DIR / "uploads"))
).resolve()
FILE_UPLOAD_PERMISSIONS = 0o600

# --- written notices (docs/notices.md) ---
# The SMS gateway (a class with `send`, petitiondesk/notices/sms.py); by default messages are
# appended as JSON lines to PETITIONDESK_SMS_FILE.
PETITIONDESK_SMS_BACKEND = env_str(
    "PETITIONDESK_SMS_BACKEND", "petitiondesk.notices.sms.FileBackend"
)
PETITIONDESK_SMS_FILE = Path(env_str("PETITIONDESK_SMS_FILE", str(DATA_DIR / "sms.jsonl")))
# A failed sending is retried after 1, 2, 4, … minutes, at most this many attempts in all.
PETITIONDESK_NOTICE_MAX_ATTEMPTS = env_int("PETITIONDESK_NOTICE_MAX_ATTEMPTS", 5)
PETITIONDESK_NOTICE_RETRY_SECONDS = env_int("PETITIONDESK_NOTICE_RETRY_SECONDS", 60)
# The sender of notice e-mails (Django's EMAIL_* settings choose the server).
DEFAULT_FROM_EMAIL = env_str("PETITIONDESK_FROM_EMAIL", "petitiondesk@localhost")
# Outgoing mail (acknowledgements, notices). Without a server every message is written as a file
# to PETITIONDESK_OUTBOX_DIR, so a fresh install loses nothing and can be inspected.
EMAIL_HOST = env_str("PETITIONDESK_SMTP_HOST", "")
EMAIL_PORT = env_int("PETITIONDESK_SMTP_PORT", 587)
EMAIL_HOST_USER = env_str("PETITIONDESK_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("PETITIONDESK_SMTP_PASSWORD", "")
EMAIL_USE_TLS = env_bool("PETITIONDESK_SMTP_STARTTLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("PETITIONDESK_SMTP_SSL", EMAIL_PORT == 465)
EMAIL_TIMEOUT = env_int("PETITIONDESK_SMTP_TIMEOUT_SECONDS", 30)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "PETITIONDESK_SMTP_STARTTLS and PETITIONDESK_SMTP_SSL exclude each other"
    )
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(Path(env_str("PETITIONDESK_OUTBOX_DIR", str(DATA_DIR / "outbox"))))

# --- Open311 GeoReport v2 at /open311/v2 (docs/api.md "Open311") ---
# When set, every call must name this jurisdiction_id (a server for one jurisdiction leaves it "").
PETITIONDESK_OPEN311_JURISDICTION = env_str("PETITIONDESK_OPEN311_JURISDICTION", "")
# The discovery document: contact, where to get an api_key, the public base URL ("": as called).
PETITIONDESK_OPEN311_CONTACT = env_str("PETITIONDESK_OPEN311_CONTACT", "")
PETITIONDESK_OPEN311_KEY_SERVICE = env_str("PETITIONDESK_OPEN311_KEY_SERVICE", "")
PETITIONDESK_OPEN311_URL = env_str("PETITIONDESK_OPEN311_URL", "")
PETITIONDESK_OPEN311_TYPE = env_str("PETITIONDESK_OPEN311_TYPE", "production")
if PETITIONDESK_OPEN311_TYPE not in {"production", "test"}:
    raise ImproperlyConfigured(
        f"PETITIONDESK_OPEN311_TYPE must be production or test, not {PETITIONDESK_OPEN311_TYPE!r}"
    )

# --- e-mail intake (docs/email.md) ---
# Our own address (From of acknowledgements; mail from it is a loop) and the Message-ID domain.
PETITIONDESK_MAIL_ADDRESS = env_str("PETITIONDESK_MAIL_ADDRESS", "")
PETITIONDESK_MAIL_DOMAIN = env_str(
    "PETITIONDESK_MAIL_DOMAIN",
    PETITIONDESK_MAIL_ADDRESS.rpartition("@")[2] if "@" in PETITIONDESK_MAIL_ADDRESS else "",
)
# The public address of the portal, for the tracking link in acknowledgements.
PETITIONDESK_MAIL_SITE_URL = env_str("PETITIONDESK_MAIL_SITE_URL", "")
# The clerk (username) the intake registers mail as; the CLI's --as overrides it.
PETITIONDESK_MAIL_CLERK = env_str("PETITIONDESK_MAIL_CLERK", "")
# A message that passed more relays than this is treated as a mail loop.
PETITIONDESK_MAIL_MAX_RECEIVED = env_int("PETITIONDESK_MAIL_MAX_RECEIVED", 25)
# The mailbox polled by the background worker; polling is off while the host is empty.
PETITIONDESK_IMAP_HOST = env_str("PETITIONDESK_IMAP_HOST", "")
PETITIONDESK_IMAP_SECURITY = env_str("PETITIONDESK_IMAP_SECURITY", "ssl").lower()
if PETITIONDESK_IMAP_SECURITY not in {"ssl", "starttls", "none"}:
    raise ImproperlyConfigured(
        f"PETITIONDESK_IMAP_SECURITY must be ssl, starttls or none, not {PETITIONDESK_IMAP_SECURITY!r}"
    )
PETITIONDESK_IMAP_PORT = env_int(
    "PETITIONDESK_IMAP_PORT", 993 if PETITIONDESK_IMAP_SECURITY == "ssl" else 143
)
PETITIONDESK_IMAP_USER = env_str("PETITIONDESK_IMAP_USER", "")
PETITIONDESK_IMAP_PASSWORD = os.environ.get("PETITIONDESK_IMAP_PASSWORD", "")
PETITIONDESK_IMAP_FOLDER = env_str("PETITIONDESK_IMAP_FOLDER", "INBOX")
PETITIONDESK_IMAP_POLL_SECONDS = env_int("PETITIONDESK_IMAP_POLL_SECONDS", 300)

# --- operations (docs/deploy.md) ---
# Who may read /metrics (addresses or networks, comma-separated); others get a 404.
try:
    PETITIONDESK_METRICS_ALLOW = [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in env_str("PETITIONDESK_METRICS_ALLOW", "127.0.0.1,::1").split(",")
        if n.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"PETITIONDESK_METRICS_ALLOW: {exc}") from exc
# /healthz says "degraded" and `petitiondesk check` fails when no worker loop finished this long.
PETITIONDESK_HEARTBEAT_STALE_SECONDS = env_int("PETITIONDESK_HEARTBEAT_STALE_SECONDS", 600)
# plain: human-readable lines; json: one JSON object a line, with the request id.
PETITIONDESK_LOG_FORMAT = env_str("PETITIONDESK_LOG_FORMAT", "plain")
if PETITIONDESK_LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(
        f"PETITIONDESK_LOG_FORMAT must be plain or json, not {PETITIONDESK_LOG_FORMAT!r}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "petitiondesk.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "petitiondesk.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": PETITIONDESK_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "loggers": {
        "petitiondesk": {
            "handlers": ["console"],
            "level": env_str("PETITIONDESK_LOG_LEVEL", "INFO"),
        },
        # Server errors (500s) with their traceback; Django prints them only with DEBUG on.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
