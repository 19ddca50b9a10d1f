"""Fanout settings.

The default is the embedded mode: SQLite, the in-memory channel layer and the in-process
simulation runner, so one command starts everything with no other service. The scaled mode
(Redis channel layer, Celery runner, PostgreSQL) is chosen by environment variables; every one
is listed in the README ("Embedded and scaled"). Nothing here imports Redis or Celery.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# DEBUG is off unless asked for (`make run` sets FANOUT_DEBUG=1). With DEBUG off, the server
# refuses to start on the development key (playground/asgi.py, and `check --deploy`): set
# FANOUT_SECRET_KEY. Commands such as `manage.py simulate` need no key and still run.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production"
SECRET_KEY = os.environ.get("FANOUT_SECRET_KEY") or DEV_SECRET_KEY
DEBUG = os.environ.get("FANOUT_DEBUG", "0") == "1"
ALLOWED_HOSTS = os.environ.get("FANOUT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
# Origins besides the page's own that may open a websocket or POST (scheme://host[:port]), e.g.
# when the proxy rewrites Host. The websocket check compares scheme, host and port.
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("FANOUT_TRUSTED_ORIGINS", "").split(",") if o]

# Behind a TLS-terminating proxy (README, "Deploying"), FANOUT_HTTPS=1 trusts the proxy's
# X-Forwarded-Proto (it must set it: Caddy does) and turns on the HTTPS redirect, secure cookies
# and HSTS; `manage.py check --deploy` is then clean.
FANOUT_HTTPS = os.environ.get("FANOUT_HTTPS", "0") == "1"
if FANOUT_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = FANOUT_HTTPS
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = FANOUT_HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("FANOUT_HSTS_SECONDS") or (31_536_000 if FANOUT_HTTPS else 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("FANOUT_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
SECURE_HSTS_PRELOAD = os.environ.get("FANOUT_HSTS_PRELOAD", "1") == "1"
# The health checks reach Daphne over plain HTTP on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^schema/topology\.json$"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "channels",
    "template_partials",
    "playground.topologies",
    "playground.live",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "playground.topologies.middleware.RequestLimitsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "playground.topologies.middleware.EditKeyCookieMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
            ],
        },
    }
]


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {
        "default": dj_database_url.parse(
            os.environ["DATABASE_URL"],
            # Daphne serves requests from a thread pool: persistent connections would be held
            # per thread; the default closes each at the end of its request.
            conn_max_age=_env_int("FANOUT_DB_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("FANOUT_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }

# -- live rooms -----------------------------------------------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
FANOUT_REDIS_URL = REDIS_URL
FANOUT_RUNNER = os.environ.get("FANOUT_RUNNER") or ("celery" if REDIS_URL else "embedded")
if FANOUT_RUNNER not in ("embedded", "celery"):
    raise ValueError(f"FANOUT_RUNNER must be 'embedded' or 'celery', not {FANOUT_RUNNER!r}")
if FANOUT_RUNNER == "celery" and not REDIS_URL:
    raise ValueError("FANOUT_RUNNER=celery needs REDIS_URL")
FANOUT_REDIS_PREFIX = os.environ.get("FANOUT_REDIS_PREFIX") or "fanout"
# redis-py's pool defaults to 100 connections, which 200 viewers joining at once exhaust
# (../shared/bench/BASELINES.md): every pool built here is given this cap instead.
FANOUT_REDIS_MAX_CONNECTIONS = _env_int("FANOUT_REDIS_MAX_CONNECTIONS", 1000)
FANOUT_TICK_SECONDS = _env_float("FANOUT_TICK_SECONDS", 0.1)
FANOUT_MAX_ROOMS = _env_int("FANOUT_MAX_ROOMS", 50)
FANOUT_ROOM_IDLE_SECONDS = _env_float("FANOUT_ROOM_IDLE_SECONDS", 120.0)
FANOUT_ROOM_CONTROL_RATE = _env_float("FANOUT_ROOM_CONTROL_RATE", 30.0)
FANOUT_ROOM_CONTROL_BURST = _env_int("FANOUT_ROOM_CONTROL_BURST", 30)
FANOUT_WORKER_MAX_ROOMS = _env_int("FANOUT_WORKER_MAX_ROOMS", 4)
FANOUT_LEASE_SECONDS = _env_float("FANOUT_LEASE_SECONDS", 3.0)
FANOUT_CHECKPOINT_SECONDS = _env_float("FANOUT_CHECKPOINT_SECONDS", 5.0)
FANOUT_CELERY_QUEUE = os.environ.get("FANOUT_CELERY_QUEUE") or "fanout-rooms"

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": FANOUT_REDIS_MAX_CONNECTIONS}],
                "prefix": f"{FANOUT_REDIS_PREFIX}:asgi",
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # A viewer that cannot keep up loses frames (and asks for a snapshot when it sees the
            # gap in seq) instead of growing an unbounded queue: 10 fps x 5 s.
            "CONFIG": {"capacity": 50},
        }
    }

# Celery (scaled mode; read by playground/celery.py through the CELERY_ namespace).
CELERY_BROKER_URL = os.environ.get("FANOUT_CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # a worker waits for Redis to come back, forever
CELERY_TASK_DEFAULT_QUEUE = FANOUT_CELERY_QUEUE
CELERY_TASK_IGNORE_RESULT = True
# One room is one long task holding one pool slot: a worker runs at most FANOUT_WORKER_MAX_ROOMS
# rooms, in threads (the engine yields between slices), and takes no task it cannot start now,
# so a queued room always goes to a worker with a free slot.
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = FANOUT_WORKER_MAX_ROOMS
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("FANOUT_STATIC_ROOT") or BASE_DIR / "staticfiles")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
