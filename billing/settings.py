"""Settings for the accounts-receivable back office.

Everything deployment-specific is read from the environment, with defaults that
are safe for a developer's machine. Production sets ``DEBUG=0`` and the rest.
"""

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def env_bool(name: str, default: bool) -> bool:
    """A yes/no setting. Anything but a recognised word stops start-up: a typo
    such as ``DEBUG=flase`` must not quietly mean off (or on)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name} is {value!r}; it must be one of {', '.join(sorted(TRUE_WORDS | FALSE_WORDS))}."
    )


def env_int(name: str, default: int) -> int:
    """A whole-number setting. A value that is not a number stops start-up; whether
    a number is in range is a system check (billing/checks.py), which names it."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} is {value!r}; it must be a whole number.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

# A local-only key; production must set SECRET_KEY. The "django-insecure-" prefix is what
# makes `check --deploy` refuse this default (security.W009) if production forgets to.
SECRET_KEY = env_str("SECRET_KEY", "django-insecure-local-key-do-not-use-in-production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "crispy_forms",
    "crispy_bootstrap5",
    "simple_history",
    "axes",
    "django_tasks_db",
    "billing",
    "writeoffs",
]

MIDDLEWARE = [
    # Before the HTTPS redirect and the host check: see the class.
    "billing.ops.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "billing.ops.middleware.NoStoreWhenSignedInMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Bounds a file upload before anything reads the body (RefuseNul does, next).
    "billing.ops.uploads.UploadLimitMiddleware",
    # Before any view or admin page reads a parameter: see the class.
    "billing.ops.middleware.RefuseNulMiddleware",
    "billing.ops.middleware.HtmxAuthMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that a locked-out sign-in is answered before any view runs.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing.urls"
WSGI_APPLICATION = "billing.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "writeoffs.web.context_processors.pending_approvals",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite by default, in WAL mode with IMMEDIATE transactions: every atomic block
# takes the write lock up front, so two writers serialise instead of failing
# half-way with "database is locked" when one upgrades a read lock.
SQLITE_OPTIONS = {
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=NORMAL;"
        "PRAGMA busy_timeout=20000;"
        "PRAGMA foreign_keys=ON;"
    ),
}

# Connections are kept for a minute on both databases. A new SQLite connection
# per request starts with an empty page cache and its schema unparsed.
_conn_max_age = 60
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=_conn_max_age)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "CONN_MAX_AGE": _conn_max_age,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = SQLITE_OPTIONS

# Test databases are file-backed and named per process: SQLite's in-memory
# shared-cache database ignores the busy timeout (concurrency tests need a real
# file), and parallel runs on one machine must not drop each other's database.
_test_db_name = os.environ.get("TEST_DATABASE_NAME")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {
        "NAME": _test_db_name or f"/tmp/billing-test-{os.getpid()}.sqlite3"  # noqa: S108
    }
else:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name or f"test_billing_{os.getpid()}"}

# --- Background tasks -----------------------------------------------------
# Bulk write-off runs and webhook deliveries execute on task workers, never in a web
# request: tasks are rows in this database and `manage.py db_worker` runs them, one
# worker per queue. Several workers may share PostgreSQL; on SQLite run one, with
# `--queue-name default,webhooks`.
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # Bulk runs on "default"; webhook deliveries on "webhooks" (billing/sync/webhooks).
        "QUEUES": ["default", "webhooks"],
    }
}

# Seconds a bulk-run worker pauses between invoices, to leave room for other writers
# on a busy database (0: none).
BULK_RUN_PAUSE_SECONDS = float(os.environ.get("BULK_RUN_PAUSE_SECONDS", "0") or 0)

# Tasks each bulk run is enqueued as: that many workers share it, each claiming the
# next invoice with SKIP LOCKED. More than 1 only helps on PostgreSQL.
BULK_RUN_PARALLEL_TASKS = env_int("BULK_RUN_PARALLEL_TASKS", 1)
# Aging and the trial balance as of a past date read the journal's lines; a report
# estimated (lines to read / REPORT_LINES_PER_SECOND) to take longer than the
# threshold runs as a report job on the task worker, never in a request. Tests set
# the threshold to 0 (always a job) or a large number (never).
REPORT_JOB_THRESHOLD_SECONDS = env_int("REPORT_JOB_THRESHOLD_SECONDS", 2)
REPORT_LINES_PER_SECOND = env_int("REPORT_LINES_PER_SECOND", 1_000_000)

# Webhooks (billing/sync/webhooks): the longest wait for a receiver's network answer
# (connect, and each read), and whether an endpoint may be an address inside the
# network (loopback, private, link-local). Off in production, so an admin-registered
# URL cannot make the worker call internal services (SSRF); tests and a receiver on
# the same host turn it on.
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
# --- Imports from the billing system (SPEC Part 3) ----------------------------
# A larger import file is refused before it is read (413 on the screen and the API).
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 100 * 1024 * 1024)
# The revenue code an imported invoice posts to when its row names none.
IMPORT_DEFAULT_REVENUE_CODE = env_str("IMPORT_DEFAULT_REVENUE_CODE", "4000")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------
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
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sign-in throttling: five failures for one username (from any address) lock that
# username, and five failures from one address (for any usernames) lock that address,
# each for an hour. The address is billing.ops.client_address's (CLIENT_ADDRESS_HEADER).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "billing.ops.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# A readable page in the app's layout, instead of axes' bare text.
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
# The daily run (run_daily) deletes sign-in logs and lockout records older than this.
SIGNIN_LOG_RETENTION_DAYS = env_int("SIGNIN_LOG_RETENTION_DAYS", 90)

# --- I18N / time ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
# One date format across the app, its messages and admin: "Dec 1, 2026" (billing/formats/),
# which also names the formats a typed date may take: ISO and the locale's own.
FORMAT_MODULE_PATH = ["billing.formats"]
# For a locale without its own format module: ISO only, never a guess at month/day order.
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic writes here; nginx serves it (/srv/ar/staticfiles in billing/deploy/nginx.conf).
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Uploaded files (a dispute case's attachments). They are never served from a URL of
# their own: only the permission-checked download view reads them, so MEDIA_ROOT sits
# outside every directory the proxy serves and MEDIA_URL is not routed.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# STORAGE_BACKEND=s3 keeps them in an S3-compatible bucket through django-storages (the
# optional `s3` extra: pip install ".[s3]"); boto3 reads AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY itself. docs/operations.md, "Attachments".
STORAGE_BACKEND = env_str("STORAGE_BACKEND", "filesystem").strip().lower()
if STORAGE_BACKEND == "filesystem":
    _default_storage: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif STORAGE_BACKEND == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME", ""),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL", "") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            # Private objects; keys are generated, so nothing is ever overwritten.
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
    if not _default_storage["OPTIONS"]["bucket_name"]:
        raise ImproperlyConfigured("STORAGE_BACKEND is s3; set AWS_STORAGE_BUCKET_NAME.")
else:
    raise ImproperlyConfigured(
        f"STORAGE_BACKEND is {STORAGE_BACKEND!r}; it must be filesystem or s3."
    )
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Uploaded files (import files, through Django's storage API). Production points it
# at a volume the web and task workers share.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL = "media/"

# Files served at the site's root by WhiteNoise, before any view: /favicon.ico, which
# browsers ask for on every page that names no icon (admin's among them).
WHITENOISE_ROOT = BASE_DIR / "webroot"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# The cache holds the API's failed-authentication counts. Local memory is per
# process; production points CACHE_URL (or REDIS_URL) at a Redis that every
# worker shares, e.g. redis://127.0.0.1:6379/0.
_cache_url = env_str("CACHE_URL", "") or env_str("REDIS_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Request bodies above this are refused (the API answers 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024)

# --- Security -------------------------------------------------------------
# A session ends after this many seconds without a request (8 hours: a working day);
# every request starts the count again. billing.ops.sessions writes an unchanged
# session at most once a minute, so that a page view is not a database write.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ENGINE = "billing.ops.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Pages send the token from the template (hx-headers on <body>); no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True
# A refused token gets the app's page: Django's own has an inline style the CSP blocks.
CSRF_FAILURE_VIEW = "billing.web.errors.csrf_failure"
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# No inline script or style anywhere: everything of ours is a static file.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# --- Billing --------------------------------------------------------------
# The client number API callers must send (seed 001's <client_no>).
BILLING_CLIENT_NO = env_int("BILLING_CLIENT_NO", 1000)
# Default days a dispute hold lasts (2-180), and the longest per-dispute override (2-540).
DISPUTE_HOLD_EXPIRATION_DAYS = env_int("DISPUTE_HOLD_EXPIRATION_DAYS", 30)
DISPUTE_HOLD_OVERRIDE_MAX_DAYS = env_int("DISPUTE_HOLD_OVERRIDE_MAX_DAYS", 90)
# What expiry does to a hold: none, convert, release or release_reage.
DISPUTE_HOLD_EXPIRATION_ACTION = env_str("DISPUTE_HOLD_EXPIRATION_ACTION", "none")
# Failed API authentications one client address may make per window (seconds)
# before it is refused with 1014 (HTTP 429) until the window ends.
API_AUTH_FAILURE_LIMIT = env_int("API_AUTH_FAILURE_LIMIT", 20)
API_AUTH_FAILURE_WINDOW = env_int("API_AUTH_FAILURE_WINDOW", 60)
# Behind a proxy every request comes from the proxy: name the header it sets to the
# client's address (billing/deploy/nginx.conf: X-Real-IP). Unset, the connection's own
# address (REMOTE_ADDR) is used and no header is trusted. Only name a header the proxy
# overwrites. API_CLIENT_ADDRESS_HEADER is its former name, still read.
CLIENT_ADDRESS_HEADER = env_str(
    "CLIENT_ADDRESS_HEADER", env_str("API_CLIENT_ADDRESS_HEADER", "")
).strip()
if CLIENT_ADDRESS_HEADER and not re.fullmatch(r"[A-Za-z0-9-]+", CLIENT_ADDRESS_HEADER):
    raise ImproperlyConfigured(
        f"CLIENT_ADDRESS_HEADER is {CLIENT_ADDRESS_HEADER!r}; it must be a header name "
        "such as X-Real-IP."
    )
# Entries within this many days of expiry are flagged in the Disputes table.
DISPUTE_HOLD_WARNING_DAYS = 7
# The largest file a dispute case accepts as an attachment, in bytes (10 MB). A larger
# upload is refused before it is stored (writeoffs/cases/attachments.py).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)

# --- Journal ----------------------------------------------------------------
# The chart-of-accounts codes the journal posts to besides revenue and expense codes.
# The data migration creates them; a system check (billing.E010) verifies them.
AR_CONTROL_CODE = env_str("AR_CONTROL_CODE", "1200")
CASH_CODE = env_str("CASH_CODE", "1000")
# Expense code a dispute converted by expiry posts to.
DISPUTE_CONVERSION_CODE = env_str("DISPUTE_CONVERSION_CODE", "6100")
# The allowance for doubtful accounts (a contra-asset: an asset code whose balance is a
# credit) and the expense a provision for it is charged to (SPEC Part 3).
ALLOWANCE_CODE = env_str("ALLOWANCE_CODE", "1290")
BAD_DEBT_EXPENSE_CODE = env_str("BAD_DEBT_EXPENSE_CODE", "6100")
# Tax (SPEC Part 3): the output tax the starting rate (STD20) is payable to, and where
# a bad debt's tax waits until its relief is due (the daily run moves it to the rate's
# payable code on that day).
TAX_PAYABLE_CODE = env_str("TAX_PAYABLE_CODE", "2200")
TAX_RELIEF_PENDING_CODE = env_str("TAX_RELIEF_PENDING_CODE", "2210")
# The allowance method: a write-off that is not revenue-impacting debits the allowance
# instead of an expense code (and a recovery credits it back). Off: the direct method.
ALLOWANCE_METHOD = env_bool("ALLOWANCE_METHOD", False)


# A write-off pending approval lapses (frees its reservation) after this many days,
# in the daily run.
WRITEOFF_APPROVAL_DAYS = env_int("WRITEOFF_APPROVAL_DAYS", 14)
# The window in which a requester's write-offs on one invoice add up against their
# limit, so that splitting one write-off does not get under it.
WRITEOFF_APPROVAL_WINDOW_DAYS = 30

# Email: dispute cases mail their assignee and a daily digest of overdue cases, through
# Django's mailers. The console backend by default (nothing leaves the machine); set
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_* below in
# production.
_email_backend = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_smtp_options = {
    "host": env_str("EMAIL_HOST", "localhost"),
    "port": env_int("EMAIL_PORT", 25),
    "username": env_str("EMAIL_HOST_USER", ""),
    "password": env_str("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
MAILERS = {
    "default": {
        "BACKEND": _email_backend,
        # Only the SMTP backend takes these; another backend refuses options it does not know.
        "OPTIONS": _smtp_options if _email_backend.endswith(".smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "write-offs@localhost")
# Links in those emails: the site's address as people reach it.
SITE_URL = env_str("SITE_URL", "http://localhost:8000")
