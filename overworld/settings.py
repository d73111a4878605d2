"""Overworld settings: one module, every deployment knob read from the environment.

The variables and their defaults are listed in docs/configuration.md and .env.example.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from overworld.env import env
from overworld.local_key import settings_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

# Every variable is read through `env` (overworld/env.py): django-environ, a blank value counts
# as unset, `env.bool`/`env.int`/`env.float`/`env.list`/`env.str`. Read each one unconditionally,
# even when another setting decides whether it is used: .env.example's test sees what was read.

# --- Core ---------------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)

# Without a key, a source checkout uses its own local key (overworld/local_key.py: `.secret_key`,
# made by the entry points -- manage.py, wsgi.py, gunicorn.conf.py -- never by importing these
# settings, never committed) so that `manage.py` works bare; a deployment refuses to start
# (manage.py and gunicorn.conf.py print the reason as one line).
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or settings_secret_key(BASE_DIR)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

ROOT_URLCONF = "overworld.urls"
WSGI_APPLICATION = "overworld.wsgi.application"

# --- Applications -------------------------------------------------------------------------------

DJANGO_APPS = [
    # django.contrib.admin, with the throttled login as its default site (users/admin_login.py).
    "users.admin_apps.ThrottledAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "corsheaders",
    "rest_framework",
    "knox",
    "drf_spectacular",
    # Swagger UI's JS and CSS as static files of this project: /api/docs/ needs no CDN.
    "drf_spectacular_sidecar",
]
LOCAL_APPS = [
    "core",
    "games",
    "users",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    # Outermost: the request id, the access line and the HTTP metrics (core.access) cover
    # everything below, the dependency 503 line and core.unavailable's retry included.
    "core.access.AccessMiddleware",
    # Then: sees every response, so it can retry a safe request whose database connection
    # died and log each dependency 503 once (core.unavailable).
    "core.unavailable.DependencyFailureMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves admin assets with debug off, from the same process: no separate file server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # After CORS, so that a browser can read the 413.
    "core.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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

# --- Database -----------------------------------------------------------------------------------

# Lower case: not a setting of its own, so a debug page never shows the URL's password.
_database_url = env.str("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
# Persistent connections: reconnecting per request costs PostgreSQL endpoints 3-5x
# (docs/performance.md); health checks drop a connection the server has closed.
_conn_max_age = env.int("DJANGO_CONN_MAX_AGE", default=600)
DATABASES = {
    "default": dj_database_url.parse(
        _database_url, conn_max_age=_conn_max_age, conn_health_checks=True
    )
}
# Behind PgBouncer in transaction pooling mode a server-side cursor (QuerySet.iterator()) can
# land on another backend between fetches, and a prepared statement on a backend that never
# saw it: set this to 1 there, for both (docs/deployment.md).
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
    "DJANGO_DISABLE_SERVER_SIDE_CURSORS", default=False
)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock when a transaction
    # begins, so two writers queue on the busy timeout instead of failing with "database is
    # locked" when one upgrades a read lock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

# --- Dependency timeouts and failures (core.unavailable, docs/deployment.md) --------------
# A database or Redis that is down or does not answer is a 503 with this Retry-After (seconds).
OVERWORLD_RETRY_AFTER = env.int("OVERWORLD_RETRY_AFTER", default=5)
# Seconds a request whose database connection was refused or dropped waits for the database
# before it runs again, once (GET/HEAD always; writes only when nothing reached the database).
OVERWORLD_DB_RETRY_WAIT = env.float("OVERWORLD_DB_RETRY_WAIT", default=2.0)
# Seconds to wait for a PostgreSQL connection (libpq connect_timeout; 0 or empty: no limit).
OVERWORLD_DB_CONNECT_TIMEOUT = env.int("OVERWORLD_DB_CONNECT_TIMEOUT", default=5)
# Seconds any one SQL statement may run before PostgreSQL cancels it (a 503), freeing the
# thread from a stuck query or lock. Far above the slowest legitimate query (a 1M-follower
# profile, ~1 s). 0 or empty: not set, e.g. behind PgBouncer, which refuses the `options`
# startup parameter: set it per role there (docs/deployment.md).
OVERWORLD_DB_STATEMENT_TIMEOUT = env.int("OVERWORLD_DB_STATEMENT_TIMEOUT", default=15)
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
    if OVERWORLD_DB_CONNECT_TIMEOUT > 0:
        _pg_options.setdefault("connect_timeout", OVERWORLD_DB_CONNECT_TIMEOUT)
    if OVERWORLD_DB_STATEMENT_TIMEOUT > 0:
        _timeout = f"-c statement_timeout={OVERWORLD_DB_STATEMENT_TIMEOUT}s"
        _pg_options["options"] = f"{_pg_options.get('options', '')} {_timeout}".strip()
    # A persistent connection whose server host died or whose network dropped without a reset
    # would otherwise block its thread for the kernel's ~15 min of retransmissions (neither
    # connect_timeout nor the server-side statement_timeout can act): TCP keepalives notice an
    # idle peer gone within ~11 s, tcp_user_timeout a request left unacknowledged for 10 s.
    for _key, _value in {
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
    }.items():
        _pg_options.setdefault(_key, _value)
# Seconds to wait for Redis to accept a connection and to answer a command: a Redis that hangs
# answers register/login with 503 within about a second instead of holding the thread.
OVERWORLD_REDIS_CONNECT_TIMEOUT = env.float("OVERWORLD_REDIS_CONNECT_TIMEOUT", default=0.5)
OVERWORLD_REDIS_TIMEOUT = env.float("OVERWORLD_REDIS_TIMEOUT", default=0.5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Read replicas (docs/deployment.md, "Read replicas") -----------------------------------------
# PostgreSQL streaming replicas for the public profile reads, dj-database-url syntax, comma
# separated. Unset or empty: no router at all, every query on DATABASE_URL exactly as before.
# core.replicas sends only the profile GET's queries to a replica, and only one that is
# up, lags at most OVERWORLD_REPLICA_MAX_LAG seconds and has replayed the reader's own writes.

DATABASE_REPLICA_URLS = env.list("DATABASE_REPLICA_URLS", default=[])
OVERWORLD_REPLICA_MAX_LAG = env.float("OVERWORLD_REPLICA_MAX_LAG", default=5.0)
DATABASE_REPLICAS = [f"replica_{index}" for index in range(len(DATABASE_REPLICA_URLS))]
if DATABASE_REPLICAS and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL")
for _alias, _url in zip(DATABASE_REPLICAS, DATABASE_REPLICA_URLS, strict=True):
    _replica = dj_database_url.parse(_url, conn_max_age=_conn_max_age, conn_health_checks=True)
    if _replica["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS: {_url!r} is not a PostgreSQL URL")
    DATABASES[_alias] = {
        **_replica,
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"],
        # The primary's connection options (timeouts set for it apply to replicas too), then
        # the replica URL's own. A replica that does not answer is skipped, so it must fail
        # fast rather than hold a request for libpq's default of no timeout at all.
        "OPTIONS": {
            **DATABASES["default"].get("OPTIONS", {}),
            "connect_timeout": 2,
            **_replica.get("OPTIONS", {}),
        },
        # A replica is the primary's data: tests use the primary's test database through it
        # rather than creating one on a read-only server (conftest.py says how).
        "TEST": {"MIRROR": "default"},
    }
if DATABASE_REPLICAS:
    DATABASE_ROUTERS = ["core.replicas.ReplicaRouter"]
# Every PostgreSQL alias runs Django's backend subclassed (core/postgresql/base.py): a health
# check that sends no query while the socket is quiet, and statements prepared once per
# connection (none when DJANGO_DISABLE_SERVER_SIDE_CURSORS=1 says a transaction pooler is
# between, as it cannot keep a prepared statement between two transactions).
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database["ENGINE"] = "core.postgresql"

# --- Synchronous replicas (docs/deployment.md, "Read replicas") ---------------------------------
# 1 when the primary answers a commit only once every replica has applied it (PostgreSQL
# `synchronous_commit = remote_apply`, every replica in `synchronous_standby_names`): a replica
# is then never behind, so core.replicas neither probes its lag nor pins a writer's reads.
OVERWORLD_REPLICA_REMOTE_APPLY = env.bool("OVERWORLD_REPLICA_REMOTE_APPLY", default=False)

# --- Cache --------------------------------------------------------------------------------------
# Throttle counters must be shared by every server worker: Redis when REDIS_URL is set, the
# database otherwise. A per-process memory cache would multiply every limit by the worker count.

REDIS_URL = env.str("REDIS_URL", default="")
OVERWORLD_CACHE_PREFIX = env.str("OVERWORLD_CACHE_PREFIX", default="overworld")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": OVERWORLD_CACHE_PREFIX,
            # Passed to redis-py's connection pool.
            "OPTIONS": {
                "socket_connect_timeout": OVERWORLD_REDIS_CONNECT_TIMEOUT,
                "socket_timeout": OVERWORLD_REDIS_TIMEOUT,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "overworld_cache",
        }
    }

# --- Authentication -----------------------------------------------------------------------------

AUTH_USER_MODEL = "users.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

_token_ttl_hours = env.str("OVERWORLD_TOKEN_TTL_HOURS", default="10")
REST_KNOX = {
    # "0" or "none" means tokens never expire; knox's own default is 10 hours.
    "TOKEN_TTL": (
        None
        if _token_ttl_hours.lower() in {"0", "none"}
        else timedelta(hours=float(_token_ttl_hours))
    ),
    "AUTH_HEADER_PREFIX": "Token",
}
# Oldest tokens beyond this many live ones are revoked at login (see users.services.log_in).
OVERWORLD_TOKEN_LIMIT_PER_USER = env.int("OVERWORLD_TOKEN_LIMIT_PER_USER", default=10)
# Failed logins per username from all clients together, DRF rate syntax (users.throttling):
# stops a guesser that spreads over many addresses. "none" turns it off.
_login_failures = env.str("OVERWORLD_THROTTLE_LOGIN_FAILURES", default="20/hour")
OVERWORLD_THROTTLE_LOGIN_FAILURES = None if _login_failures.lower() == "none" else _login_failures

# --- Admin login throttle (users/admin_login.py) ------------------------------------------------
# Password checks on /admin/login/ per client address, DRF rate syntax; "none" turns it off. Failed
# logins per username share OVERWORLD_THROTTLE_LOGIN_FAILURES, and its count, with the API login.
_admin_login = env.str("OVERWORLD_THROTTLE_ADMIN_LOGIN", default="10/min")
OVERWORLD_THROTTLE_ADMIN_LOGIN = None if _admin_login.lower() == "none" else _admin_login

# --- Profile email privacy ----------------------------------------------------------------------
# Who sees a profile's `email` (users.profile_document): "public", every reader (the API
# document); "owner", only the profile's owner, everyone else (anonymous readers too) gets null.

OVERWORLD_PROFILE_EMAIL = env.str("OVERWORLD_PROFILE_EMAIL", default="public").lower()
if OVERWORLD_PROFILE_EMAIL not in {"public", "owner"}:
    raise ImproperlyConfigured(
        f"OVERWORLD_PROFILE_EMAIL must be 'public' or 'owner', not {OVERWORLD_PROFILE_EMAIL!r}."
    )

# --- Django REST framework ----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.TokenAuthentication"],
    # Closed by default: a view that says nothing needs a token; the public ones say AllowAny.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.JSONFallbackContentNegotiation",
    "DEFAULT_THROTTLE_RATES": {
        # Each login or registration costs ~0.2 s of CPU for the password hash, so this also
        # caps what one client can make the server burn.
        "auth": env.str("OVERWORLD_THROTTLE_AUTH", default="10/min"),
    },
    # How many reverse proxies append to X-Forwarded-For; 0 trusts only REMOTE_ADDR, so a
    # client cannot dodge the per-client throttle by forging that header.
    "NUM_PROXIES": env.int("OVERWORLD_NUM_PROXIES", default=0),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# API bodies are a few hundred bytes; larger ones are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- OpenAPI schema and docs (/api/schema/, /api/docs/; core/openapi.py) ---------------------

SPECTACULAR_SETTINGS = {
    "TITLE": "Overworld users API",
    "DESCRIPTION": (
        "Accounts, knox tokens, profiles and follows of Overworld, a Letterboxd for video games. "
        "Send a token as `Authorization: Token <token>`; register and login answer one. "
        'Every error body is JSON: `{"detail": ...}`, or `{"<field>": [...]}` for validation. '
        'A method a route does not list answers 405 `{"detail": ...}` with an `Allow` header. '
        "Trailing slashes are optional on every route."
    ),
    "VERSION": "1.0.0",
    # 3.1 schemas are JSON Schema: the conformance test validates responses with them as they are.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema is public and ignores any Authorization header (a stale token must not hide it).
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["core.openapi.drop_slash_after_username"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.openapi.close_response_objects",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"displayRequestDuration": True},
}

# --- HTTPS, HSTS and cookies --------------------------------------------------------------------
# TLS ends at a proxy in front of gunicorn. With debug off every default is the secure one except
# the redirect: it defaults off so that plain http on localhost (scripts/serve.sh, health checks,
# a proxy that already redirects) keeps answering; a deployment turns it on, and on
# DJANGO_SECURE_PROXY_SSL_HEADER behind a proxy, or every request looks like http and loops.
# HSTS is only ever sent on https responses. docs/security.md has the deployment checklist.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    # Only behind a proxy that sets this header itself: a client could forge it otherwise.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
# Only the admin uses cookies (the API uses tokens); over http they need these off.
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A CSRF failure outside the admin answers JSON like every other error (core.errors).
CSRF_FAILURE_VIEW = "core.errors.csrf_failure"

# --- CORS ---------------------------------------------------------------------------------------

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=["http://localhost:3000"])
CORS_URLS_REGEX = r"^/api/.*$"

# --- Internationalization -----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "static/"
# Where collectstatic puts the files whitenoise serves; a deployment may keep them elsewhere.
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Logging ------------------------------------------------------------------------------------

# Everything goes to stderr, one line per record, for the process manager to collect: the
# application's records and the access line (core.access, one per request, written by the app
# under any server; gunicorn's own access log is off unless GUNICORN_ACCESS_LOG=1). Each record
# written while serving a request carries its id (core.logs). OVERWORLD_LOG_FORMAT: `text`
# (default) or `json`, one JSON object per line.
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO").upper()
OVERWORLD_LOG_FORMAT = env.str("OVERWORLD_LOG_FORMAT", default="text").lower()
if OVERWORLD_LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(
        f"OVERWORLD_LOG_FORMAT must be 'text' or 'json', not {OVERWORLD_LOG_FORMAT!r}."
    )
# The access line, one per request at INFO, whatever DJANGO_LOG_LEVEL says; 0 turns it off.
OVERWORLD_ACCESS_LOG = env.bool("OVERWORLD_ACCESS_LOG", default=True)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "core.logs.RequestContextFilter"},
    },
    "formatters": {
        "text": {
            "()": "core.logs.TextFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": OVERWORLD_LOG_FORMAT,
            "filters": ["request"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Replaces Django's defaults (a debug-only console and mail_admins) so each record is
        # written once, by the root handler. django.request logs 5xx with their traceback
        # (ERROR) and 4xx as WARNING.
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        # Every SQL statement at DEBUG: far too loud even when debugging something else.
        "django.db.backends": {"handlers": [], "level": "INFO", "propagate": True},
        "core.access": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- Backups (core/backups.py, scripts/backup.sh; docs/operations.md, "Backups and restore") ----
# Where backup.sh writes; relative paths are taken from the project directory.
OVERWORLD_BACKUP_DIR = BASE_DIR / env.str("OVERWORLD_BACKUP_DIR", default="backups")
# Backups kept per database kind, newest first (0: no count limit).
OVERWORLD_BACKUP_KEEP = env.int("OVERWORLD_BACKUP_KEEP", default=14)
# Days a backup is kept at most (0: no age limit); the newest one is always kept.
OVERWORLD_BACKUP_KEEP_DAYS = env.int("OVERWORLD_BACKUP_KEEP_DAYS", default=0)

# --- Metrics and request ids (core.metrics, core.access; docs/operations.md, "Metrics") ---------
# GET /metrics answers only `Authorization: Bearer <this token>`; unset: off (404 to everyone,
# nothing counted). Several server workers add up their counts through PROMETHEUS_MULTIPROC_DIR
# (core.metrics_files; gunicorn.conf.py makes a private one when it is unset).
OVERWORLD_METRICS_TOKEN = env.str("OVERWORLD_METRICS_TOKEN", default="")
# A browser (the frontend) may read the id of a response, to quote it in an error report.
CORS_EXPOSE_HEADERS = ["X-Request-ID"]
