"""Settings for the clinic application.

Every value comes from the environment (django-environ); `.env.example` documents each one.
The defaults make `make run` work on a fresh machine with SQLite under `data/`.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is read when present; real deployments set real environment variables.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data")))

DEBUG = env.bool("DEBUG", default=False)
# A local run (`make` writes LOCAL_RUN=1 to .env) without a SECRET_KEY of its own generates one
# under data/ and defaults to plain HTTP. Given a SECRET_KEY, the settings are production's:
# HTTPS on by default, whatever LOCAL_RUN says.
LOCAL_RUN = env.bool("LOCAL_RUN", default=False) and not env.str("SECRET_KEY", default="")


def _local_secret_key(path: Path) -> str:
    """A key generated once and kept under data/, so sessions survive restarts of a local run."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or LOCAL_RUN:
        SECRET_KEY = _local_secret_key(DATA_DIR / "secret_key")
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (or set LOCAL_RUN=1 for a local run).")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",  # django.contrib.admin with the clinic's admin site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "axes",
    # Two-factor sign-in: TOTP authenticator apps and one-time backup codes.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # The JSON API: Django REST framework, its OpenAPI schema and the schema's pages served from here.
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Background work (reminders, offers to the waitlist): Django 6's tasks framework (backport) with its
    # database backend: the queue is a table, so nothing beyond the database is needed (clinic/worker.py).
    "django_tasks",
    "django_tasks_db",
    "clinic",  # the project package: shared template tags, operations commands (backup, restore)
    "staff",
    "patients",
    "scheduling",
    "reminders",  # reminders by e-mail and SMS, with links to confirm or cancel
    "waitlist",  # patients waiting for an earlier time, offered the times that free up
    "clinical",
    "finance",
    "documents",
    "fhir_r4",  # FHIR R4 read and search: reads every clinical app, written to by none
    "demo",  # seed_demo: the one place that imports every app
]

MIDDLEWARE = [
    # /healthz and /readyz answer before host checks and the HTTPS redirect (probes use plain HTTP).
    "clinic.health.HealthCheckMiddleware",
    # Every request's database work under DB_STATEMENT_TIMEOUT (clinic/dbtimeouts.py).
    "clinic.dbtimeouts.RequestDeadlineMiddleware",
    # A request id for every request (logs, audit trail, the X-Request-ID response header).
    "clinic.context.RequestContextMiddleware",
    # One log line per request (method, path without the query string, status, duration, user id).
    "clinic.logs.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "clinic.headers.PermissionsPolicyMiddleware",
    # Signed-in pages are not cached (placed before sessions/auth, so it sees the final response).
    "clinic.headers.PrivatePagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's, except that a page's own background reads leave the session alone (clinic/background.py).
    "clinic.background.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): has this session passed the two-factor code step?
    "django_otp.middleware.OTPMiddleware",
    # Absolute session lifetime, the sessions list's bookkeeping, then the two-factor step:
    # a user who owes a code (or, when required, a set-up) reaches nothing else.
    "staff.middleware.SessionLifetimeMiddleware",
    # A form saved (its POST redirected) needs its kept draft no more (clinic/drafts.py).
    "clinic.drafts.ForgetSavedDraftMiddleware",
    "staff.middleware.TwoFactorMiddleware",
    # Then a password someone else set must be replaced before anything else.
    "staff.middleware.PasswordChangeRequiredMiddleware",
    # Default deny: every view needs a signed-in user unless marked login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees failed sign-ins after authentication ran.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.background.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
# SQLite under data/ is the embedded default; PostgreSQL 15+ is the production database.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'clinic.sqlite3'}"),
}
_db = DATABASES["default"]
# Seconds to wait for PostgreSQL to accept a connection.
DB_CONNECT_TIMEOUT = env.int("DB_CONNECT_TIMEOUT", default=5)
# Seconds a web request's query may run: the server cancels it then, and the app stops waiting for an
# answer a second later even if the network hangs (the "try again" page, 503). 0: no limit. Management
# commands (migrate, backup, seed_demo) have no limit.
DB_STATEMENT_TIMEOUT = env.float("DB_STATEMENT_TIMEOUT", default=5)
# Seconds /readyz waits for its database probe before answering 503 (clinic/health.py).
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=2)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside one writer; IMMEDIATE takes the write lock at BEGIN so two
    # bookings queue up instead of failing with "database is locked" half-way; the timeout is
    # how long a writer waits for that lock.
    _db.setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_BUSY_TIMEOUT", default=20),
        }
    )
    # Tests use a file (not memory) so concurrent-writer tests use real, separate connections.
    _db["TEST"] = {"NAME": str(DATA_DIR / f"test-clinic-{os.getpid()}.sqlite3")}
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
else:
    if _db["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend with deadlines (clinic/dbtimeouts.py): a hung database fails a request in seconds.
        _db["ENGINE"] = "clinic.postgresql"
    # psycopg gives up connecting after this many seconds (every process, commands too).
    _db.setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT
    _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # A connection that died (database restart) is noticed and re-opened, not reused.
    _db["CONN_HEALTH_CHECKS"] = True
    # One test database per test process, so two test runs on one server do not collide.
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Sign-in ------------------------------------------------------------------------------
AUTH_USER_MODEL = "staff.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# django-axes: lock an account, or an address, after repeated failures, for a while (not forever).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# A good sign-in clears only that account's failures (staff.signals), not the whole address's: axes'
# own reset would also wipe the guesses at a colleague's account made from the same desk.
AXES_RESET_ON_SUCCESS = False
# Behind PROXY_COUNT reverse proxies the client's address comes from X-Forwarded-For (one rule for
# lockouts and the audit trail); without it, every sign-in would seem to come from the proxy.
PROXY_COUNT = env.int("PROXY_COUNT", default=0)
# The key of the audit trail's hash chain (clinic/audit.py); derived from SECRET_KEY when empty.
AUDIT_KEY = env("AUDIT_KEY", default="")
AXES_CLIENT_IP_CALLABLE = "clinic.context.client_address"
AXES_VERBOSE = False
# Each failed sign-in for an account waits a little longer (seconds per earlier failure, capped).
LOGIN_FAILURE_DELAY = env.float("LOGIN_FAILURE_DELAY", default=0.5)

# Idle sign-out: the session cookie lives SESSION_IDLE_TIMEOUT minutes and is renewed on every request.
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=15)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT * 60
SESSION_SAVE_EVERY_REQUEST = True
# The page warns this many seconds before an idle sign-out (static/js/keep-draft.js), and keeps the text
# of open forms (clinic/drafts.py) for this many days when it was never saved.
SESSION_IDLE_WARNING = env.int("SESSION_IDLE_WARNING", default=120)
FORM_DRAFT_DAYS = env.int("FORM_DRAFT_DAYS", default=7)
# Reception's Today board updates itself this often (static/js/auto-refresh.js); its refreshes do not
# count as activity for the idle sign-out.
TODAY_REFRESH_SECONDS = env.int("TODAY_REFRESH_SECONDS", default=45)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Absolute lifetime: hours after sign-in when a session ends, however active it is.
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT", default=12)
# Two-factor sign-in is optional for everyone; with this on, Administrators and superusers
# must set it up before they reach anything (the admin site included).
REQUIRE_2FA_FOR_ADMINS = env.bool("REQUIRE_2FA_FOR_ADMINS", default=False)

# --- Time, language -----------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True
# Stored in UTC; shown in the clinic's zone.
TIME_ZONE = env.str("CLINIC_TIME_ZONE", default="Europe/London")
CLINIC_NAME = env.str("CLINIC_NAME", default="Riverside Clinic")
# The one currency every amount is in (ISO 4217 code); amounts are Decimal with 2 places.
CLINIC_CURRENCY = env.str("CLINIC_CURRENCY", default="GBP").upper()

# --- Static and media ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
# Uploaded files are private: no URL pattern serves MEDIA_URL; files go out only through
# permission-checked views. (It must still be a string: Django's live test server parses it.)
MEDIA_URL = "/media/"

_media_backend = "django.core.files.storage.FileSystemStorage"
_media_options = {"location": str(MEDIA_ROOT)}
if env.str("MEDIA_S3_BUCKET", default=""):
    _media_backend = "storages.backends.s3.S3Storage"
    _media_options = {
        "bucket_name": env.str("MEDIA_S3_BUCKET"),
        "endpoint_url": env.str("MEDIA_S3_ENDPOINT_URL", default=None),
        "region_name": env.str("MEDIA_S3_REGION", default=None),
        "access_key": env.str("MEDIA_S3_ACCESS_KEY_ID", default=None),
        "secret_key": env.str("MEDIA_S3_SECRET_ACCESS_KEY", default=None),
        # Private bucket: objects are never public, links are signed and short-lived.
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": env.int("MEDIA_S3_URL_EXPIRE_SECONDS", default=60),
        "file_overwrite": False,
    }
STORAGES = {
    "default": {"BACKEND": _media_backend, "OPTIONS": _media_options},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
UPLOAD_MAX_MB = env.int("UPLOAD_MAX_MB", default=20)

# --- Security -----------------------------------------------------------------------------
# HTTPS settings are switched together (HTTPS=on, behind a TLS-terminating proxy). Secure by
# default: only DEBUG or a local run default to plain HTTP.
HTTPS = env.bool("HTTPS", default=not (DEBUG or LOCAL_RUN))
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
if env.bool("TRUST_PROXY_SSL_HEADER", default=HTTPS):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (django-csp): the app's own scripts, styles and images only; no inline
# script or style anywhere (templates use stylesheets, the admin's scripts are files), no framing.
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

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- The JSON API and FHIR ----------------------------------------------------------------
# Tokens (staff/api_tokens.py) for machines; the session (with its CSRF check) for the site's own pages.
API_RATE = env.str("API_RATE", default="600/min")  # per user or token
API_ANONYMOUS_RATE = env.str("API_ANONYMOUS_RATE", default="60/min")  # per address, calls without a valid key
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "staff.api_tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["clinic.api_policy.ActionPermissions"],
    "DEFAULT_PAGINATION_CLASS": "clinic.api_policy.Cursor",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_THROTTLE_CLASSES": ["clinic.api_policy.PerUserRate", "clinic.api_policy.PerAddressRate"],
    "DEFAULT_THROTTLE_RATES": {"user": API_RATE, "anon": API_ANONYMOUS_RATE},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "clinic.api.problem_details",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic API",
    "DESCRIPTION": (
        "The clinic's JSON API. Authenticate with `Authorization: Bearer <token>` (make one on "
        "“Your API tokens”). Errors are problem+json (RFC 9457); lists page by cursor (`next`, `previous`)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # What the shared parts answer for every operation (401, 403, 429, replays, problem+json).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "clinic.api.shared_answers"],
}
# Rate-limit counts live in the database, shared by every worker (a per-process cache would allow
# each worker the whole rate). The table is made by a migration (clinic 0007).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "api": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "clinic_api_cache"},
}

# --- Logs and errors ----------------------------------------------------------------------
# One line per event on stderr, each with the request id and no patient data (clinic/logs.py):
# JSON for a log collector (the default in production), plain for a person reading a local run.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG or LOCAL_RUN else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
# Paths followed by a secret (patients' links, calendar feeds): Django's own warnings write them as <token>.
LOG_SECRET_PATHS = ["/reminders/confirm/", "/reminders/cancel/", "/reminders/stop/", "/waitlist/offer/", "/calendar/"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "clinic.logs.RequestIdFilter"},
        "secrets": {"()": "clinic.logs.HideSecretsInPaths", "prefixes": LOG_SECRET_PATHS},
    },
    "formatters": {
        "json": {"()": "clinic.logs.JsonFormatter"},
        "plain": {"()": "clinic.logs.PlainFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id", "secrets"]},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's records go through the one handler above (not its own console or admin e-mails).
        "django": {"handlers": [], "propagate": True},
        # SQL is logged with its parameters (patients' names among them) at DEBUG: never.
        "django.db.backends": {"level": "INFO"},
        # runserver's request line has the query string; clinic.access writes one without it.
        "django.server": {"handlers": ["null"], "propagate": False},
        "axes": {"level": "WARNING"},
    },
}

# Error reports to Sentry only when SENTRY_DSN is set, with personal data scrubbed (clinic/sentry.py).
if env.str("SENTRY_DSN", default=""):
    from clinic.sentry import init_sentry

    init_sentry(
        dsn=env.str("SENTRY_DSN"),
        environment=env.str("SENTRY_ENVIRONMENT", default="") or None,
        release=env.str("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# The letterhead of printed documents (prescriptions, visit summaries, sick notes, referral letters:
# documents/printouts.py). The clinic's name is CLINIC_NAME above; the logo is an optional PNG or JPEG
# file path (left out of the letterhead when empty or unreadable).
CLINIC_LETTERHEAD_ADDRESS = env.str("CLINIC_LETTERHEAD_ADDRESS", default="12 River Street, Riverside RV1 2AB")
CLINIC_LETTERHEAD_PHONE = env.str("CLINIC_LETTERHEAD_PHONE", default="020 7946 0000")
CLINIC_LETTERHEAD_EMAIL = env.str("CLINIC_LETTERHEAD_EMAIL", default="")
CLINIC_LETTERHEAD_LOGO = env.str("CLINIC_LETTERHEAD_LOGO", default="")

# --- Background work (clinic/worker.py) ----------------------------------------------------
# Tasks are rows in the database (django-tasks-db) and run by `manage.py run_worker` (`make run` starts
# one beside gunicorn; Docker runs it as its own process). Tests use the same backend and run the queued
# tasks themselves (clinic.tests.tasks.run_queued_tasks).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Seconds an idle worker waits before looking for a task again. Each look is a short write transaction
# (on SQLite it takes the one write lock for about a millisecond; see README "Background work").
WORKER_POLL_SECONDS = env.float("WORKER_POLL_SECONDS", default=1.0)
# Seconds between the worker's beats: its heartbeat, the periodic tasks enqueued when due, and tasks left
# running by a worker that died handed back as failed.
WORKER_BEAT_SECONDS = env.float("WORKER_BEAT_SECONDS", default=30.0)
# A worker not seen for this many seconds is dead: what it was running is marked failed.
WORKER_ALIVE_SECONDS = env.float("WORKER_ALIVE_SECONDS", default=120.0)
# Task (dotted path) -> seconds between runs. A task not importable is logged and skipped, the others run.
PERIODIC_TASKS = {
    "reminders.tasks.send_due_reminders": 60,
    "waitlist.tasks.expire_offers": 300,
    "clinic.worker.prune_finished_tasks": 3600,
    "clinic.worker.forget_spent_tokens": 3600,
}
# Days finished tasks are kept (the "Background work" page shows the last day's failures).
WORKER_KEEP_SUCCEEDED_DAYS = env.int("WORKER_KEEP_SUCCEEDED_DAYS", default=7)
WORKER_KEEP_FAILED_DAYS = env.int("WORKER_KEEP_FAILED_DAYS", default=30)
# Days a submitted form's one-time token is kept against a second submit (clinic/idempotency.py).
FORM_TOKENS_KEPT_DAYS = env.int("FORM_TOKENS_KEPT_DAYS", default=30)

# --- E-mail ----------------------------------------------------------------------------------
# EMAIL_URL (django-environ): smtp://user:password@host:25; STARTTLS smtp+tls://...:587 (or smtps://); implicit
# TLS smtp+ssl://...:465. A local run prints e-mails on the console; tests keep them in memory (pytest-django).
_email = env.email_url("EMAIL_URL", default="consolemail://" if (DEBUG or LOCAL_RUN) else "smtp://localhost:25")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
# Every wait on the mail server is bounded (seconds): a hung server fails a send, which is retried later.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="clinic@localhost")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- SMS (clinic/sms.py) ---------------------------------------------------------------------
# Empty: no SMS at all (reminders go by e-mail only). clinic.sms.ConsoleBackend prints them (a local run),
# clinic.sms.TwilioBackend sends through Twilio's REST API with the settings below.
SMS_BACKEND = env.str("SMS_BACKEND", default="clinic.sms.ConsoleBackend" if (DEBUG or LOCAL_RUN) else "")
SMS_FROM = env.str("SMS_FROM", default="")
SMS_API_URL = env.str("SMS_API_URL", default="https://api.twilio.com")
SMS_TIMEOUT = env.float("SMS_TIMEOUT", default=10)
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
# Local numbers ("07700 900123") are sent in international form with this country code (+44 7700 900123).
SMS_COUNTRY_CODE = env.str("SMS_COUNTRY_CODE", default="44")

# Where patients reach the clinic's pages from outside: the links in reminders and waitlist offers.
# Default: the first allowed host over HTTPS in production, the local run's address otherwise.
CLINIC_SITE_URL = env.str(
    "CLINIC_SITE_URL",
    default=f"https://{ALLOWED_HOSTS[0]}" if HTTPS and ALLOWED_HOSTS[0] not in ("*", "") else "http://127.0.0.1:8000",
).rstrip("/")
