"""Fanout settings.

The default is the embedded mode: SQLite, the in-memory channel layer and the in-process
simulation runner, so one command starts everything with no other service. The scaled mode
(Redis channel layer, Celery runner, PostgreSQL) is chosen by environment variables.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("FANOUT_SECRET_KEY", "dev-only-insecure-key-change-me-in-production")
DEBUG = os.environ.get("FANOUT_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("FANOUT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

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
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("FANOUT_SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        # A viewer that cannot keep up loses frames (and asks for a snapshot when it sees the
        # gap in seq) instead of growing an unbounded queue: 10 fps x 5 s.
        "CONFIG": {"capacity": 50},
    }
}

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
