"""Settings from the environment: embedded by default with nothing imported, scaled on demand.

Each case imports the settings in a fresh interpreter, as a process starts with its environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import django
django.setup()
from django.conf import settings
from playground.live import rooms
factory = rooms.get_registry().runner_factory
import playground.asgi  # what Daphne loads
print(json.dumps({
    "runner": settings.FANOUT_RUNNER,
    "factory": factory.__name__,
    "layer": settings.CHANNEL_LAYERS["default"],
    "db": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "broker": settings.CELERY_BROKER_URL,
    "imported": sorted(m for m in ("redis", "celery", "channels_redis", "dj_database_url", "psycopg")
                       if m in sys.modules),
}))
"""


def probe(**env: str) -> dict:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FANOUT_", "REDIS_URL", "DATABASE_URL"))}
    base.update(DJANGO_SETTINGS_MODULE="playground.settings", PYTHONPATH=str(ROOT),
                FANOUT_SECRET_KEY="tests-only-" + "k" * 50, **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_default_is_embedded_and_imports_no_redis_celery_or_postgres_driver():
    result = probe()
    assert result["runner"] == "embedded" and result["factory"] == "ProcessRunner"
    assert result["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert result["db"] == "django.db.backends.sqlite3"
    assert result["imported"] == []


def test_redis_url_selects_the_celery_runner_and_the_pubsub_layer_with_a_large_pool():
    result = probe(REDIS_URL="redis://cache:6379/2", FANOUT_REDIS_PREFIX="demo")
    assert result["runner"] == "celery" and result["factory"] == "ScaledRunner"
    layer = result["layer"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    # redis-py's default pool of 100 breaks when 200 viewers join at once (BASELINES.md).
    assert layer["CONFIG"]["hosts"] == [{"address": "redis://cache:6379/2", "max_connections": 1000}]
    assert layer["CONFIG"]["prefix"] == "demo:asgi"
    assert result["broker"] == "redis://cache:6379/2"


def test_fanout_runner_can_keep_the_embedded_runner_beside_redis():
    result = probe(REDIS_URL="redis://cache:6379/0", FANOUT_RUNNER="embedded")
    assert result["factory"] == "ProcessRunner"


def test_database_url_selects_postgresql():
    result = probe(DATABASE_URL="postgres://fanout:secret@db:5432/fanout")
    assert result["db"] == "django.db.backends.postgresql" and result["db_name"] == "fanout"


def test_a_celery_runner_without_redis_is_refused_at_start():
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FANOUT_", "REDIS_URL"))}
    base.update(DJANGO_SETTINGS_MODULE="playground.settings", PYTHONPATH=str(ROOT), FANOUT_RUNNER="celery")
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=base, capture_output=True, text=True
    )
    assert done.returncode != 0 and "FANOUT_RUNNER=celery needs REDIS_URL" in done.stderr
