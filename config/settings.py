"""Settings, read from the environment; safe production defaults, DJANGO_DEBUG=1 for development."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config import log_format

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105 (development default)

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "ledger.apps.TallyAdminConfig",  # django.contrib.admin with the event browser's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ledger",
    "projections",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.HtmxMiddleware",  # django_htmx's, with unreadable HX-* headers taken as absent
    "config.replicas.ReplicaReadsMiddleware",  # a screen's reads from a replica (DATABASE_REPLICA_URLS)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "ledger.context_processors.roles",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tally")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# Only server-binding cursors prepare statements, and only ledger.store.sql.prepared_cursor opens
# those (for the hot statements, see its docstring): each is prepared on its third run in a connection.
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TALLY_TEST_DATABASE", "test_tally")}

# Streaming replicas of that database, comma-separated: screens and the event browser read from them
# (config/replicas.py, ledger/store/replicas.py); writes, sessions and the read side's status stay on
# the primary. Aliases replica1, replica2, ...; in the test suite each mirrors the test database.
DATABASE_REPLICA_URLS = [u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()]
for _number, _url in enumerate(DATABASE_REPLICA_URLS, 1):
    try:
        _replica = dj_database_url.parse(_url, conn_max_age=60, conn_health_checks=True)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS: replica {_number} is not a database URL") from exc
    # A replica that is down is found at once: a page waits at most this long before the primary serves it.
    _replica.setdefault("OPTIONS", {}).update(connect_timeout=2, prepare_threshold=2)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

AUTHENTICATION_BACKENDS = ["config.auth.UserWithRolesBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
CSRF_FAILURE_VIEW = "config.views.csrf_failure"
FORM_RENDERER = "config.forms.FormRenderer"  # a refused form's first invalid field takes the focus
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TALLY_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
# One way of showing a moment everywhere, with its zone (ledger/moments.py): Django always localizes,
# so its English formats would win over a DATETIME_FORMAT set here.
FORMAT_MODULE_PATH = ["config.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security: strict unless DEBUG is on. TLS is terminated by the proxy in front of gunicorn.
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages carry the token in the template (hx-headers), never read the cookie
SESSION_COOKIE_AGE = 8 * 60 * 60  # one working day
SESSION_ENGINE = "config.sessions"
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEBUG else 31_536_000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Celery: a nudge is a hint, Postgres is the truth (see projections/tasks.py).
# The broker the nudges' tasks travel through: Redis by default; RabbitMQ (amqp://...) works as well,
# and Redis still holds the nudges' "catch-up queued" flag (projections/nudge.py).
CELERY_BROKER_URL = os.environ.get("TALLY_BROKER_URL", "").strip() or REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 900,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY = False
# Celery's Django fix-up closes the database connection before and after every task unless this is
# set: each catch-up then opened a connection (a Postgres backend started) and, its statements never
# run twice in one, prepared none of them (commit -> visible spent 9 ms applying a span of two events,
# against about 3 ms on a kept connection). Set, the fix-up recycles connections only every so many tasks;
# config/celery.py keeps them between tasks the way Django does between requests (CONN_MAX_AGE,
# health checks) and closes them after a task that did not succeed.
CELERY_DB_REUSE_MAX = 10_000
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "sweep-projections": {"task": "projections.catch_up", "schedule": 2.0, "options": {"expires": 10}},
    # Approval requests past their deadline expire (and their holds are given back) within a minute.
    "expire-approvals": {"task": "projections.expire_approvals", "schedule": 30.0, "options": {"expires": 60}},
    # Standing orders' due periods are paid within a minute of their day starting (UTC), missed ones too.
    "pay-standing-orders": {"task": "projections.pay_standing_orders", "schedule": 60.0, "options": {"expires": 120}},
}


def _thresholds(text: str) -> dict[str, int]:
    """TALLY_APPROVAL_THRESHOLDS: minor units per currency, e.g. "EUR=1000000,JPY=100000000"."""
    try:
        pairs = (item.split("=") for item in text.split(",") if item.strip())
        return {currency.strip().upper(): int(minor) for currency, minor in pairs}
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TALLY_APPROVAL_THRESHOLDS {text!r}: write CUR=minor units, comma-separated"
        ) from exc


def _seconds(name: str, default: str) -> int:
    """Setting `name`: seconds, or a number with s, m, h or d (e.g. "24h")."""
    text = os.environ.get(name, default)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    except (ValueError, IndexError) as exc:
        raise ImproperlyConfigured(f"{name} {text!r}: write seconds or e.g. 24h") from exc
    if seconds <= 0:
        raise ImproperlyConfigured(f"{name} must be positive")
    return seconds


def _partitions(text: str) -> dict[str, int]:
    """TALLY_PROJECTION_PARTITIONS: partitions per projection, e.g. "statement=8,account_summary=4"
    (projections/partitions.py; which projections can be split is checked when Django starts)."""
    try:
        pairs = [item.split("=") for item in text.split(",") if item.strip()]
        parts = {name.strip(): int(count) for name, count in pairs}
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"TALLY_PROJECTION_PARTITIONS {text!r}: write projection=partitions, comma-separated"
        ) from exc
    if any(not 1 <= count <= 256 for count in parts.values()):
        raise ImproperlyConfigured("TALLY_PROJECTION_PARTITIONS: each projection has 1 to 256 partitions")
    return parts


# Four eyes (ledger/approvals.py): withdrawals and transfers of at least the threshold wait for a
# supervisor; unset currencies use 1,000,000 minor units (10,000.00, or 1,000,000 JPY).
TALLY_APPROVAL_THRESHOLDS = _thresholds(os.environ.get("TALLY_APPROVAL_THRESHOLDS", ""))
TALLY_APPROVAL_EXPIRES = _seconds("TALLY_APPROVAL_EXPIRES", "24h")
# A replica further behind the primary than this many seconds is out of rotation (ledger/store/replicas.py).
TALLY_REPLICA_MAX_LAG = _seconds("TALLY_REPLICA_MAX_LAG", "30s")
# Blue/green rebuilds (projections/bluegreen.py) work this share of the time, resting between batches,
# so that the screens serving meanwhile keep the machine; 1 goes flat out (rebuild_projections --pace).
TALLY_REBUILD_PACE = float(os.environ.get("TALLY_REBUILD_PACE", "0.5"))
# Projections applied as several partitions by a hash of the stream id, each with its own checkpoint
# and lock, so that workers on any hosts apply them side by side; 1 each by default.
TALLY_PROJECTION_PARTITIONS = _partitions(os.environ.get("TALLY_PROJECTION_PARTITIONS", ""))
if not 0 < TALLY_REBUILD_PACE <= 1:
    raise ImproperlyConfigured("TALLY_REBUILD_PACE is the share of the time a rebuild works: more than 0, at most 1")
# Forgetting a customer (ledger/forgetting.py) is allowed this many days after their account closed:
# the records a bank must keep stay readable that long. Ten years by default.
try:
    TALLY_RETENTION_DAYS = int(os.environ.get("TALLY_RETENTION_DAYS", "3650"))
except ValueError as exc:
    raise ImproperlyConfigured("TALLY_RETENTION_DAYS is a whole number of days") from exc
if TALLY_RETENTION_DAYS < 0:
    raise ImproperlyConfigured("TALLY_RETENTION_DAYS cannot be negative")
# Tests move the deadline clock through this file (ledger/clock.py); never in production.
TALLY_TEST_CLOCK_FILE = os.environ.get("TALLY_TEST_CLOCK_FILE", "")
if TALLY_TEST_CLOCK_FILE and not DEBUG:
    raise ImproperlyConfigured("TALLY_TEST_CLOCK_FILE is for tests only and refused when DJANGO_DEBUG is off.")

# /metrics (config/metrics.py) answers only a bearer of this token; unset, it answers 404.
TALLY_METRICS_TOKEN = os.environ.get("TALLY_METRICS_TOKEN", "").strip()
# prometheus-client reads this variable itself, when it is imported: set, every process of the host
# writes its counts into that folder and /metrics adds them up (README, Operating it). A folder that
# is not there would fail the first command counted, so say so at start-up instead.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR {PROMETHEUS_MULTIPROC_DIR!r} is not a directory; create it.")

# Log lines as text (plain) or as one JSON object each (json); either way a line written while a
# command runs carries its command id and correlation id (ledger/log_context.py), as JSON fields.
TALLY_LOG_FORMAT = log_format.chosen()
if TALLY_LOG_FORMAT not in log_format.FORMATS:
    raise ImproperlyConfigured(f"TALLY_LOG_FORMAT {TALLY_LOG_FORMAT!r}: write plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "command_ids": {"()": "ledger.log_context.CommandIds"},
        # The beat's tasks run every few seconds: Celery's lines about each are DEBUG (config/log_format.py).
        "routine_tasks": {
            "()": "config.log_format.RoutineTasks",
            "tasks": sorted({str(entry["task"]) for entry in CELERY_BEAT_SCHEDULE.values()}),
        },
    },
    "formatters": log_format.FORMATTERS,
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": TALLY_LOG_FORMAT, "filters": ["command_ids"]}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("TALLY_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print its lines a second time, unformatted.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        **{
            name: {"filters": ["routine_tasks"]}
            for name in ("celery.worker.strategy", "celery.app.trace", "celery.beat")
        },
    },
}
