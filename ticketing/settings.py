"""Settings for the ticketing platform. Every value comes from the environment
with a safe local default; see the configuration table in README.md and
`.env.example`."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from ticketing.env import envbool, envfloat, envint, envlist, envstr
from ticketing.logging_setup import configure_structlog, log_format, tasks_from_requests_only

# Generic admin classes (ModelAdmin[Event]) at run time, as the type checker sees them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DEBUG", False)
# "production" (the default) turns on everything HTTPS needs: secure cookies,
# HSTS, the redirect to https. `make run`, `make test` and the benches run
# with "development" (scripts/devstack.py sets it), served over plain http.
ENVIRONMENT = envstr("ENVIRONMENT", "development" if DEBUG else "production")
if ENVIRONMENT not in ("development", "production"):
    raise ImproperlyConfigured(f"ENVIRONMENT must be 'development' or 'production', not {ENVIRONMENT!r}")
PRODUCTION = ENVIRONMENT == "production"
SECRET_KEY = envstr("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-local-debug-key"  # noqa: S105 - only ever used with DEBUG=1

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "axes",
    "django_prometheus",
    "django_structlog",
    "inventory",
    "queueroom",
    "payments",
]

MIDDLEWARE = [
    # First and last: django-prometheus times the whole stack (docs/operations.md,
    # "Metrics"); ticketing.obs_middleware runs its hooks and django-structlog's
    # on the event loop under Daphne (no thread hop per hook).
    "ticketing.obs_middleware.PrometheusBeforeMiddleware",
    # The request id (a trusted proxy's X-Request-ID, else a new one) on every
    # log line of the request and its Celery tasks, and on the response.
    "ticketing.requestid.RequestIdMiddleware",
    "ticketing.obs_middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Inside the language (pages speak the fan's), outside CSRF and the views
    # (every /api/ error leaves as JSON, whoever made it).
    "ticketing.errors.ClientErrorMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "inventory.identity.FanIdentityMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its answer.
    "axes.middleware.AxesMiddleware",
    "ticketing.obs_middleware.PrometheusAfterMiddleware",
]

# django-axes first: it refuses a locked-out login before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ticketing.urls"
ASGI_APPLICATION = "ticketing.asgi.application"
WSGI_APPLICATION = None

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
            ],
        },
    },
]

# --- PostgreSQL -------------------------------------------------------------
DATABASE_URL = envstr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ticketing")
DB_POOL = envbool("DB_POOL", True)
DB_POOL_MAX = envint("DB_POOL_MAX", 20, minimum=1)
# How long a request waits for a pooled connection before it answers 503:
# all of them busy, or PostgreSQL down (docs/failures.md).
DB_POOL_TIMEOUT = envfloat("DB_POOL_TIMEOUT", 10.0, minimum=0.1)
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0, conn_health_checks=False)
_db.setdefault("OPTIONS", {})
if DB_POOL:
    # psycopg's pool: under ASGI each request runs on a thread of the sync
    # executor, and a pooled connection saves a TCP+auth handshake per request.
    _db["OPTIONS"]["pool"] = {"min_size": 2, "max_size": DB_POOL_MAX, "timeout": DB_POOL_TIMEOUT}
_db["TEST"] = {"NAME": envstr("TEST_DATABASE_NAME", "") or None}
# Not django-prometheus' database wrapper: under our prepared statements and
# the psycopg pool it was suspected of "prepared statement already exists" in
# two test runs (issue 14 notes); PostgreSQL's own figures come from the
# sale collector and the database's statistics views instead.
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis ------------------------------------------------------------------
REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379/0")
# Separates test runs and parallel workers that share one Redis server.
REDIS_KEY_PREFIX = envstr("REDIS_KEY_PREFIX", "tk")
if envstr("PYTEST_XDIST_WORKER", ""):
    # Parallel test workers share the server; each gets its own key space.
    REDIS_KEY_PREFIX = f"{REDIS_KEY_PREFIX}-{envstr('PYTEST_XDIST_WORKER', '')}"

# Every Redis client (cache, rate limiter, channel layer, Celery, the queue)
# gives up after these many seconds: a Redis that hangs instead of refusing
# must cost a request a 503 (or, for the cache, a miss), never a hung thread.
REDIS_CONNECT_TIMEOUT = envfloat("REDIS_CONNECT_TIMEOUT", 1.0, minimum=0.05)
REDIS_SOCKET_TIMEOUT = envfloat("REDIS_SOCKET_TIMEOUT", 2.0, minimum=0.05)

# The waiting room's Redis (queueroom's keys and scripts, the join's rate
# limiters): REDIS_URL unless set. QUEUE_REDIS_CLUSTER=1 makes it a Redis
# Cluster (the URL names any node of it; the cache, the channel layer and
# Celery stay on REDIS_URL): docs/redis-cluster.md.
QUEUE_REDIS_URL = envstr("QUEUE_REDIS_URL", "")
QUEUE_REDIS_CLUSTER = envbool("QUEUE_REDIS_CLUSTER", False)

CACHES = {
    "default": {
        # django-redis with django-prometheus' hit, miss and failure counters.
        "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Its own namespace under the prefix, so clear() (ticketing.cacheclient)
        # can tell its keys from the waiting room's ("<prefix>:q:...").
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
        "OPTIONS": {
            # django-redis's client, but clear() deletes the cache's keys only
            # (its own is FLUSHDB, which would empty the waiting room too).
            "CLIENT_CLASS": "ticketing.cacheclient.PrefixScopedClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            # Everything cached here can be recomputed (availability, seat
            # maps) or skipped (the hold rate limit): with Redis out the store
            # reads PostgreSQL instead of failing. Not logged per request (a
            # traceback per page view in an outage); /readyz reports Redis.
            "IGNORE_EXCEPTIONS": True,
        },
    }
}
# With the cache out, django-ratelimit would otherwise limit everyone.
RATELIMIT_FAIL_OPEN = True
# Only promoters have sessions; in PostgreSQL they survive a Redis outage, and
# a logout can never be undone by a stale cached copy.
SESSION_ENGINE = "django.contrib.sessions.backends.db"

CHANNEL_LAYERS = {
    "default": {
        # Pub/sub layer: one PUBLISH reaches every server process; each
        # process fans out to its own connections (see docs/architecture.md).
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                    # Bounds PUBLISH and (UN)SUBSCRIBE. The subscription's reader
                    # polls with its own 0.1 s timeout, so an idle subscription is
                    # not cut by this (queueroom/tests/test_redis_outage.py).
                    "socket_timeout": REDIS_SOCKET_TIMEOUT,
                    # A PING every 30 s keeps an idle subscription alive through
                    # proxies and finds a dead one; keepalive finds a vanished host.
                    "health_check_interval": 30,
                    "socket_keepalive": True,
                }
            ],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
        },
    }
}

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# A task that acks late (all payment work) stays "unacknowledged" in Redis
# while it runs. If its worker dies (kill -9, out of memory, a lost host),
# nobody tells Redis: the next worker to start or sweep delivers it again
# once it has been out this long. Above the longest countdown a retried
# task waits in a worker (retry backoff stops at 600 s), or a task waiting
# for its time would be delivered twice (harmless, every task is
# idempotent, but wasted). Kombu's own default is an hour (docs/failures.md).
_VISIBILITY_TIMEOUT = envint("CELERY_VISIBILITY_TIMEOUT", 900, minimum=1)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    "visibility_timeout": _VISIBILITY_TIMEOUT,
    # Every worker looks for such tasks every 10 s (kombu's default looks
    # every 100 s: one look in ten), so one is taken back within 10 s of its
    # timeout even when no worker restarts. A look is one small ZRANGE.
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
    # Bounds publishes and other commands; the worker's BRPOP is read only once
    # its socket is readable (kombu checks that connection by itself).
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_keepalive": True,
}
CELERY_TIMEZONE = "UTC"
# Payment work waits for the PSP's leaky bucket: on its own queue (and
# worker, see scripts/devstack.py run), it never delays the sweeper; the
# tickets e-mail and reconciliation are payment work too.
CELERY_TASK_ROUTES = {"payments.*": {"queue": "payments"}}
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "inventory-sweep-expired-locks": {
        "task": "inventory.sweep_expired_locks",
        "schedule": float(envint("INVENTORY_SWEEP_SECONDS", 5, minimum=1)),
        "options": {"expires": 10},
    },
    # Missed webhooks: PENDING payments settled from the PSP's state (docs/payments.md).
    "payments-reconcile": {
        "task": "payments.reconcile",
        "schedule": float(envint("PAYMENTS_RECONCILE_SECONDS", 60, minimum=5)),
        "options": {"expires": 60},
    },
    # While the PSP's circuit breaker is open, one trial call after its reset time closes it again.
    "payments-probe-psp": {
        "task": "payments.probe_psp",
        "schedule": float(envint("PSP_PROBE_SECONDS", 5, minimum=1)),
        "options": {"expires": 10},
    },
    # The sale dashboard's last hour: one sample per event on sale (docs/dashboard.md).
    "inventory-sample-dashboards": {
        "task": "inventory.sample_dashboards",
        "schedule": float(envint("DASHBOARD_SAMPLE_SECONDS", 10, minimum=1)),
        "options": {"expires": 10},
    },
    # Proof that background work flows (beat → broker → a worker); /readyz reports its age.
    "ticketing-heartbeat": {
        "task": "ticketing.heartbeat",
        "schedule": float(envint("CELERY_HEARTBEAT_SECONDS", 10, minimum=1)),
        "options": {"expires": 10},
    },
}

# --- Auth, i18n, static -----------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "es"
LANGUAGES = [("ca", _("Catalan")), ("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("TIME_ZONE", "Europe/Madrid")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- HTTPS and the security headers (docs/security.md) ------------------------
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", True)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients).
_proxy_ssl_header = envstr("PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Pages load only their own scripts, styles and images; no inline script
# anywhere. The checkout page alone adds Stripe.js's origin (script, frames,
# API calls: payments/stripejs.py). Inline style *attributes* are allowed (the waiting page's progress
# bar width is rendered server-side for fans without JavaScript).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Logs (docs/operations.md, "Logs"): one JSON object per line in production,
# the plain lines of before in development (scripts/devstack.py sets
# ENVIRONMENT=development). Every line of a request, and of the Celery tasks
# it queues, carries its request_id (ticketing/requestid.py).
LOG_FORMAT = log_format()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'plain', not {LOG_FORMAT!r}")
configure_structlog()
_ROUTINE_LEVEL = envstr("CELERY_ROUTINE_LOG_LEVEL", "WARNING")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "ticketing.logging_setup.plain_formatter"},
        "json": {"()": "ticketing.logging_setup.json_formatter"},
    },
    "filters": {
        "expected_refusals": {"()": "ticketing.logfilters.ExpectedRefusals"},
        # django-structlog's per-task lines only for the tasks a request queued (not beat's sweeps).
        "tasks_from_requests": {"()": "django.utils.log.CallbackFilter", "callback": tasks_from_requests_only},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["tasks_from_requests"]}
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "queueroom": {"level": envstr("QUEUE_LOG_LEVEL", "INFO")},
        # 409 "taken", 429 "slow down" and their kind are answers, not warnings.
        "django.request": {"filters": ["expected_refusals"]},
        # Beat sends the lock sweeper every few seconds: one "due", "received"
        # and "succeeded" line each would drown the other processes' logs.
        # Failures are still logged (ERROR), and the sweeper logs what it frees.
        **{name: {"level": _ROUTINE_LEVEL} for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace")},
        # One request_finished line per request in JSON logs; none in the
        # plain development logs, which stay as they were.
        "django_structlog.middlewares": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
# django-structlog: the request id comes from ticketing.requestid (a trusted
# proxy's X-Request-ID or a new one), the client address from
# ticketing.clientip; its own header and address guesses are off.
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = False
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG
# Its user binding could read the session on the event loop; ticketing.requestid
# binds user_id when the view has loaded the user anyway.
DJANGO_STRUCTLOG_USER_ID_FIELD = ""
# Refusals (409 taken, 429 slow down) are answers on a sale day, not warnings.
DJANGO_STRUCTLOG_STATUS_4XX_LOG_LEVEL = logging.INFO
# In JSON mode Celery's processes log through LOGGING above (ticketing/celery.py);
# in plain mode Celery sets up its own logging, as before.

# --- Metrics (docs/operations.md, "Metrics") -----------------------------------
# /metrics answers only a bearer of this token; empty (the default): 404 always.
METRICS_TOKEN = envstr("METRICS_TOKEN", "")
# Counting goes to Redis with these timeouts; after a failure it stops for
# METRICS_BACKOFF_SECONDS (a lost count, never a slow sale).
METRICS_REDIS_TIMEOUT = envfloat("METRICS_REDIS_TIMEOUT", 0.25, minimum=0.01)
METRICS_BACKOFF_SECONDS = envfloat("METRICS_BACKOFF_SECONDS", 5.0, minimum=0.0)
# The PostgreSQL figures (places, orders, payments) are counted by one process
# and shared through the cache for this long (0: every scrape counts).
METRICS_DB_CACHE_SECONDS = envint("METRICS_DB_CACHE_SECONDS", 5, minimum=0)
# The sale dashboard (docs/dashboard.md): a sample of each event on sale kept
# every DASHBOARD_SAMPLE_SECONDS for an hour; its PostgreSQL counts shared by
# every open dashboard for DASHBOARD_DB_CACHE_SECONDS.
DASHBOARD_SAMPLE_SECONDS = envint("DASHBOARD_SAMPLE_SECONDS", 10, minimum=1)
DASHBOARD_DB_CACHE_SECONDS = envint("DASHBOARD_DB_CACHE_SECONDS", 2, minimum=0)

# --- Client input -----------------------------------------------------------
# The JSON API's requests are small: bigger bodies get 413 before anything reads them.
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# Anything else (pages, the promoters' catalog uploads in the admin).
MAX_REQUEST_BODY_BYTES = envint("MAX_REQUEST_BODY_BYTES", 20 * 1024 * 1024, minimum=64 * 1024)
CSRF_FAILURE_VIEW = "ticketing.errors.csrf_failure"

# --- Product ----------------------------------------------------------------
FAN_COOKIE_NAME = "fan_id"
FAN_COOKIE_MAX_AGE = 60 * 60 * 24 * 30
# /readyz: each check (PostgreSQL, Redis) gives up after READYZ_TIMEOUT
# seconds; a process runs them at most once per READYZ_CACHE_SECONDS and
# answers every other probe from the last result. A Celery heartbeat older
# than READYZ_CELERY_STALE_SECONDS is reported as a warning, never as "not ready".
READYZ_TIMEOUT = envfloat("READYZ_TIMEOUT", 1.0, minimum=0.1)
READYZ_CACHE_SECONDS = envfloat("READYZ_CACHE_SECONDS", 1.0, minimum=0.0)
READYZ_CELERY_STALE_SECONDS = envint("READYZ_CELERY_STALE_SECONDS", 60, minimum=5)
# Dotted path of the store's door check (inventory/access.py); the waiting
# room sets it to its pass check. Empty: the store is open.
# Section availability on event pages and the catalog API is the same for
# every fan: computed once per this many seconds per event (0 = always fresh).
AVAILABILITY_CACHE_SECONDS = envint("AVAILABILITY_CACHE_SECONDS", 2, minimum=0)
# Inventory row-lock wait before a request gives up with 503 + Retry-After.
INVENTORY_LOCK_TIMEOUT_MS = envint("INVENTORY_LOCK_TIMEOUT_MS", 2000, minimum=50)
# Seat-map availability is shared by every fan for this long (0: no cache).
INVENTORY_SEATS_CACHE_SECONDS = envint("INVENTORY_SEATS_CACHE_SECONDS", 2, minimum=0)
# The store reads an event's row once per this many seconds per process (0: every request).
INVENTORY_EVENT_CACHE_SECONDS = envint("INVENTORY_EVENT_CACHE_SECONDS", 2, minimum=0)
STORE_ACCESS_CHECK = envstr("STORE_ACCESS_CHECK", "queueroom.door.store_access_check")
# Hold attempts per fan ("N/s", "N/m", "N/h"; empty: unlimited), counted in
# Redis by django-ratelimit; over it the API answers 429 + Retry-After.
HOLD_RATE_LIMIT = envstr("HOLD_RATE_LIMIT", "60/m")
# Checkout and pay attempts per fan and order (the checkout page asks again
# every 2 s while a worker creates the payment: 30/min at most).
CHECKOUT_RATE_LIMIT = envstr("CHECKOUT_RATE_LIMIT", "40/m")
PAY_RATE_LIMIT = envstr("PAY_RATE_LIMIT", "10/m")

# --- Waiting room (queueroom; docs/waiting-room.md) -------------------------
# Keys that sign store passes and queue tokens. The first signs; all verify,
# so a new key is rotated in by putting it first and dropping the old one
# after the longest pass lifetime. Defaults to one derived from SECRET_KEY.
QUEUE_PASS_KEYS = envlist("QUEUE_PASS_KEYS", []) or [f"derived:{SECRET_KEY}"]
QUEUE_OFFER_TTL_SECONDS = envint("QUEUE_OFFER_TTL_SECONDS", 120, minimum=10)
QUEUE_LEASE_IDLE_SECONDS = envint("QUEUE_LEASE_IDLE_SECONDS", 600, minimum=30)
QUEUE_LEASE_MAX_SECONDS = envint("QUEUE_LEASE_MAX_SECONDS", 1800, minimum=60)
QUEUE_GRACE_SECONDS = envint("QUEUE_GRACE_SECONDS", 300, minimum=30)
# WebSockets (docs/waiting-room.md, "Limits"), counted per server process:
# open sockets per queue token (a fan's tabs) and per client address (0: no
# cap; behind a proxy the server must see the real address), then a bucket of
# client messages per socket (a burst, then one per N seconds; a flood closes it).
QUEUE_WS_PER_TOKEN = envint("QUEUE_WS_PER_TOKEN", 8, minimum=1)
QUEUE_WS_PER_ADDRESS = envint("QUEUE_WS_PER_ADDRESS", 200, minimum=0)
QUEUE_WS_MESSAGE_BURST = envint("QUEUE_WS_MESSAGE_BURST", 3, minimum=1)
QUEUE_WS_MESSAGE_EVERY_SECONDS = float(envstr("QUEUE_WS_MESSAGE_EVERY_SECONDS", "2.0"))
if not QUEUE_WS_MESSAGE_EVERY_SECONDS > 0:
    raise ImproperlyConfigured("QUEUE_WS_MESSAGE_EVERY_SECONDS must be > 0")
QUEUE_WS_MAX_MESSAGE_BYTES = envint("QUEUE_WS_MAX_MESSAGE_BYTES", 1024, minimum=16)
# A socket whose unsent bytes exceed this skips the shared tick frames (the
# next frame supersedes them) and is closed after QUEUE_WS_MAX_SKIPPED_FRAMES
# in a row: a client that stopped reading cannot grow the server's memory.
QUEUE_WS_MAX_BACKLOG_BYTES = envint("QUEUE_WS_MAX_BACKLOG_BYTES", 65536, minimum=1024)
QUEUE_WS_MAX_SKIPPED_FRAMES = envint("QUEUE_WS_MAX_SKIPPED_FRAMES", 30, minimum=1)

# --- Payments (payments; docs/payments.md) ------------------------------------
# localstripe (the emulator make run and the tests start) by default; a real
# Stripe test account by setting the base to https://api.stripe.com and the keys.
STRIPE_API_BASE = envstr("STRIPE_API_BASE", "http://127.0.0.1:8420")
STRIPE_SECRET_KEY = envstr("STRIPE_SECRET_KEY", "sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = envstr("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
# The Stripe.js the checkout page loads. Empty: https://js.stripe.com/v3/ with
# real Stripe, else the test Stripe.js localstripe serves at
# <STRIPE_API_BASE>/js.stripe.com/v3/ (payments/stripejs.py). That page alone
# adds its origin to the CSP below.
STRIPE_JS_URL = envstr("STRIPE_JS_URL", "")
# Every PSP call gives up after this many seconds; the SDK retries at most this often.
STRIPE_TIMEOUT_SECONDS = envfloat("STRIPE_TIMEOUT_SECONDS", 5.0)
STRIPE_MAX_RETRIES = envint("STRIPE_MAX_RETRIES", 1, minimum=0)
# A webhook signed longer ago than this is refused (Stripe's own default).
STRIPE_WEBHOOK_TOLERANCE_SECONDS = envint("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300, minimum=1)
# Reconciliation (payments.reconcile) reads back from the PSP the payments
# still PENDING this long after their checkout began (a webhook normally
# settles them within seconds).
PAYMENTS_RECONCILE_AFTER_SECONDS = envint("PAYMENTS_RECONCILE_AFTER_SECONDS", 300, minimum=0)
# At most this many of them per run (one PSP call each), the longest unchecked first.
PAYMENTS_RECONCILE_BATCH = envint("PAYMENTS_RECONCILE_BATCH", 100, minimum=1)

# Protecting the PSP (docs/payments.md, "Protecting the PSP").
# The leaky bucket: every PSP request of every process leaves at this constant
# rate (Stripe allows ~25 requests/s per endpoint by default).
PSP_BUCKET_PER_MINUTE = envint("PSP_BUCKET_PER_MINUTE", 500, minimum=1)
# The longest a web request waits for its turn; past it the work goes to the
# `payments` Celery queue and the fan sees "processing your payment".
PSP_BUCKET_WEB_MAX_WAIT_SECONDS = envfloat("PSP_BUCKET_WEB_MAX_WAIT_SECONDS", 2.0, minimum=0.0)
# How far ahead a payment task reserves its turn (it reserves again later if the line is longer).
PSP_BUCKET_TASK_MAX_WAIT_SECONDS = envfloat("PSP_BUCKET_TASK_MAX_WAIT_SECONDS", 30.0, minimum=1.0)
# The circuit breaker, shared by all processes through Redis: open after this
# many consecutive PSP failures (timeouts, 5xx, 429), half-open after the reset time.
PSP_BREAKER_FAIL_MAX = envint("PSP_BREAKER_FAIL_MAX", 5, minimum=1)
PSP_BREAKER_RESET_SECONDS = envint("PSP_BREAKER_RESET_SECONDS", 30, minimum=1)
# While the breaker is open, beat asks the PSP this often whether it is back.
PSP_PROBE_SECONDS = envint("PSP_PROBE_SECONDS", 5, minimum=1)
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Every SMTP call gives up after this many seconds (the e-mail task retries).
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "tickets@localhost")

# --- Client addresses and abuse limits (docs/security.md, "Limits") -----------
# Reverse proxies whose X-Forwarded-For is believed (CIDR networks), and how
# many of them stand in a row in front of us. Empty: the peer's address is the
# client's and X-Forwarded-For is ignored (ticketing.clientip).
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES", [])
TRUSTED_PROXY_HOPS = envint("TRUSTED_PROXY_HOPS", 1, minimum=0)
# Token buckets ("burst/per-minute"): queue joins per client address and per
# network (IPv4 /24, IPv6 /64), and the joins that make a new fan identity
# (no fan cookie yet) on top. Generous per address: a mobile carrier's NAT or
# a venue's Wi-Fi puts many real fans behind one address. Empty: no limit.
JOIN_LIMIT_PER_ADDRESS = envstr("JOIN_LIMIT_PER_ADDRESS", "30/60")
JOIN_LIMIT_PER_NETWORK = envstr("JOIN_LIMIT_PER_NETWORK", "300/600")
NEW_FAN_LIMIT_PER_ADDRESS = envstr("NEW_FAN_LIMIT_PER_ADDRESS", "10/20")
NEW_FAN_LIMIT_PER_NETWORK = envstr("NEW_FAN_LIMIT_PER_NETWORK", "100/200")

# Admin login attempts (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one address, that pair is locked out for AXES_COOLOFF_MINUTES
# (429 and a page saying so); a success resets the count. Attempts and
# lockouts are listed in the admin; `manage.py axes_reset` lifts them all.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "ticketing.clientip.for_axes"
AXES_LOCKOUT_CALLABLE = "ticketing.adminlock.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# --- Bots (docs/security.md, "Bots") ----------------------------------------------
# The proof of work (ALTCHA) a browser does before it gets a queue place: the
# difficulty new events start with (about this many SHA-256 hashes at most;
# 0: no check), promoter-editable per event (QueueConfig). Measured in
# docs/security.md: 20,000 is ~0.2 s in Chromium here, a few hundred ms on a phone.
QUEUE_CHALLENGE_MAX_NUMBER = envint("QUEUE_CHALLENGE_MAX_NUMBER", 20_000, minimum=0)
# A challenge must be solved and used within this many seconds; each is accepted once.
QUEUE_CHALLENGE_TTL_SECONDS = envint("QUEUE_CHALLENGE_TTL_SECONDS", 300, minimum=10)
# The HMAC key challenges are signed with. Default: derived from SECRET_KEY.
QUEUE_CHALLENGE_HMAC_KEY = envstr("QUEUE_CHALLENGE_HMAC_KEY", "") or f"altcha-challenge:{SECRET_KEY}"
# A client address is flagged (its new places go where the event says:
# QueueConfig.flagged_fans) for this long after it made more than
# BOT_ABUSE_LIMIT ("count/seconds") joins that the limits refused, ran out of
# new fan identities, or sent a forged, replayed or wrong solution.
BOT_FLAG_SECONDS = envint("BOT_FLAG_SECONDS", 3600, minimum=1)
BOT_ABUSE_LIMIT = envstr("BOT_ABUSE_LIMIT", "20/60")
